"""SimGAN baseline: refiner and local discriminator, self-regularisation, phases, one step, training."""

import math

import numpy as np
import pytest
import torch
from conftest import write_frames

from sggan.adaptation import AdaptOptions
from sggan.data.io import image_size
from sggan.losses import gan_discriminator_loss, gan_generator_loss, self_regularization_loss
from sggan.models.simgan import LocalDiscriminator, Refiner
from sggan.training import UnpairedBatch
from sggan.translators import build_translator
from sggan.translators.simgan import Config, SimGANNetworks, refiner_objective

TINY = {
    "epochs": 2,
    "max_iterations_per_epoch": 3,
    "refiner_width": 4,
    "refiner_blocks": 1,
    "d_widths": [4, 4, 4, 4],
    "pretrain_refiner_steps": 2,
    "pretrain_discriminator_steps": 1,
    "load_size": [20, 36],
    "crop_size": [16, 32],
    "pool_size": 2,
    "checkpoint_every": 2,
    "sample_every": 2,
    "workers": 0,
}


def tiny(**changes):
    return Config(**{**{k: tuple(v) if isinstance(v, list) else v for k, v in TINY.items()}, **changes})


def test_refiner_keeps_any_size_and_the_discriminator_scores_local_patches():
    x = torch.rand(2, 3, 17, 23) * 2 - 1
    assert Refiner(width=4, blocks=2)(x).shape == x.shape  # no striding: odd sizes too
    scores = LocalDiscriminator((4, 4, 4, 4))(x)
    assert scores.shape == (2, 1, math.ceil(17 / 4), math.ceil(23 / 4))


def test_self_regularisation_on_channel_means_equals_a_hand_computation():
    synthetic = torch.tensor([[[[0.0, 1.0]], [[0.5, -1.0]], [[1.0, 0.0]]]])  # (1, 3, 1, 2)
    refined = torch.tensor([[[[1.0, 1.0]], [[0.5, -1.0]], [[-0.5, 0.6]]]])
    # per pixel: mean over R, G, B; pixel 0: 0.5 vs 1/3, pixel 1: 0 vs 0.2
    expected = (abs(0.5 - 1 / 3) + abs(0.0 - 0.2)) / 2
    assert self_regularization_loss(refined, synthetic).item() == pytest.approx(expected)
    assert self_regularization_loss(refined, synthetic, "identity").item() == pytest.approx(
        np.abs(refined.numpy() - synthetic.numpy()).mean()
    )
    # a colour change that keeps each pixel's mean costs nothing on channel means
    swapped = synthetic[:, [2, 0, 1]]
    assert self_regularization_loss(swapped, synthetic).item() == 0
    with pytest.raises(ValueError, match="channel_mean"):
        self_regularization_loss(refined, synthetic, "gradients")


def test_local_adversarial_losses_equal_a_hand_computation():
    real, fake = torch.tensor([[[[2.0, -1.0]]]]), torch.tensor([[[[0.5, 3.0]]]])
    sigmoid = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    assert gan_generator_loss(fake).item() == pytest.approx(-(math.log(sigmoid(0.5)) + math.log(sigmoid(3))) / 2)
    expected_d = (
        -(math.log(sigmoid(2)) + math.log(sigmoid(-1))) / 2
        - (math.log(1 - sigmoid(0.5)) + math.log(1 - sigmoid(3))) / 2
    )
    assert gan_discriminator_loss(real, fake).item() == pytest.approx(expected_d, rel=1e-6)


def test_refiner_objective_is_adversarial_plus_weighted_self_regularisation():
    torch.manual_seed(0)
    config = tiny(lambda_reg=0.3)
    m = SimGANNetworks(config)
    v = torch.rand(1, 3, 16, 32) * 2 - 1
    losses, refined = refiner_objective(m, v, config, adversarial=True)
    with torch.no_grad():
        logits = m.d(m.refiner(v)).numpy().astype(np.float64)
        adv = np.mean(np.log1p(np.exp(-logits)))  # -log sigmoid
        reg = np.abs(m.refiner(v).mean(1).numpy() - v.mean(1).numpy()).mean()
    assert losses["r_adv"].item() == pytest.approx(adv, rel=1e-5)
    assert losses["r_reg"].item() == pytest.approx(reg, rel=1e-5)
    assert losses["r_total"].item() == pytest.approx(adv + 0.3 * reg, rel=1e-5)
    pretraining, _ = refiner_objective(m, v, config, adversarial=False)
    assert "r_adv" not in pretraining and pretraining["r_total"].item() == pytest.approx(0.3 * reg, rel=1e-5)


def test_phases_pretrain_the_refiner_then_the_discriminator_then_alternate_two_to_one(built_translator):
    translator = built_translator(
        "simgan",
        {**TINY, "pretrain_refiner_steps": 2, "pretrain_discriminator_steps": 2, "refiner_steps_per_d_step": 2},
        seed=1,
    )
    v, r = torch.rand(1, 3, 16, 32) * 2 - 1, torch.rand(1, 3, 16, 32) * 2 - 1
    seen = []
    for step in range(8):
        losses, images = translator.train_step(UnpairedBatch(v, None, None, r, None, None), step)
        seen.append((losses["phase"], sorted(k for k in losses if k != "phase")))
        assert images["refined"].shape == v.shape
    refiner_only, d_only = ["r_reg", "r_total"], ["d"]
    adversarial_r, adversarial_rd = ["r_adv", "r_reg", "r_total"], ["d", "r_adv", "r_reg", "r_total"]
    assert (
        seen
        == [("refiner-pretraining", refiner_only)] * 2
        + [("discriminator-pretraining", d_only)] * 2
        + [("adversarial", adversarial_r), ("adversarial", adversarial_rd)] * 2
    )


def test_one_refiner_step_lowers_the_refiner_objective_on_a_fixed_batch(built_translator):
    translator = built_translator("simgan", {**TINY, "lr": 1e-3}, seed=2)
    m, config = translator.nets, translator.config
    v = torch.rand(1, 3, 16, 32) * 2 - 1
    with torch.no_grad():
        before = refiner_objective(m, v, config, adversarial=True)[0]["r_total"].item()
    d_weights = [p.clone() for p in m.d.parameters()]
    translator.refiner_step(v, adversarial=True)
    with torch.no_grad():
        after = refiner_objective(m, v, config, adversarial=True)[0]["r_total"].item()
    assert after < before
    assert all(torch.equal(a, b) for a, b in zip(d_weights, m.d.parameters()))
    assert isinstance(translator.opt_r, torch.optim.SGD)  # the paper's optimiser by default


def test_config_refuses_unknown_choices():
    with pytest.raises(ValueError, match="self_regularization"):
        build_translator("simgan", {"self_regularization": "mean"})
    with pytest.raises(ValueError, match="optimizer"):
        build_translator("simgan", {"optimizer": "rmsprop"})


def test_training_logs_phases_and_adapts_at_label_size(tmp_path):
    source, target = write_frames(tmp_path / "v", 4, True, 0), write_frames(tmp_path / "r", 5, False, 1)
    run = tmp_path / "run"
    translator = build_translator("simgan", {**TINY, "optimizer": "adam", "lr": 2e-4})
    translator.train(source, target, run, torch.device("cpu"), seed=0)
    rows = [line.split(",") for line in (run / "loss_log.csv").read_text().splitlines()]
    assert rows[0] == ["epoch", "iteration", "step", "phase", "r_adv", "r_reg", "r_total", "d", "seconds"]
    assert [row[3] for row in rows[1:]] == ["refiner-pretraining"] * 2 + ["discriminator-pretraining"] + [
        "adversarial"
    ] * 3
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == [f"step000000{s}.png" for s in (2, 4, 6)]
    translator.adapt(source, tmp_path / "adapted", run, AdaptOptions(working_size=(20, 36)))
    for frame in source:
        assert image_size(tmp_path / "adapted" / f"{frame.id}.png") == image_size(frame.label)
