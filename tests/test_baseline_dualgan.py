"""DualGAN baseline: Wasserstein terms, weight clipping, n_critic schedule, one step, training."""

import numpy as np
import pytest
import torch
from conftest import write_frames

from sggan.adaptation import AdaptOptions
from sggan.data.io import image_size
from sggan.losses import wasserstein_critic_loss, wasserstein_generator_loss
from sggan.models import UNetGenerator
from sggan.runs import load_checkpoint
from sggan.training import UnpairedBatch
from sggan.translators import build_translator
from sggan.translators.dualgan import DualGAN, critic_objective, generator_objective

TINY = {
    "epochs": 2,
    "max_iterations_per_epoch": 3,
    "ngf": 4,
    "ndf": 4,
    "generator_depth": 3,
    "load_size": [20, 36],
    "crop_size": [16, 32],
    "checkpoint_every": 2,
    "sample_every": 2,
    "workers": 0,
}


def batch_of(v, r):
    return UnpairedBatch(v, None, None, r, None, None)


def test_wasserstein_terms_equal_a_hand_computation():
    d_real = torch.tensor([[0.5, -1.0], [2.0, 0.25]])
    d_fake = torch.tensor([[0.0, 1.5, -0.5]])
    expected = (0 + 1.5 - 0.5) / 3 - (0.5 - 1 + 2 + 0.25) / 4  # mean D(fake) - mean D(real)
    assert wasserstein_critic_loss(d_real, d_fake).item() == pytest.approx(expected)
    assert wasserstein_generator_loss(d_fake).item() == pytest.approx(-(1.5 - 0.5) / 3)


def test_generator_and_critic_losses_equal_a_hand_computation(built_translator):
    translator = built_translator("dualgan", {**TINY, "lambda_v": 300.0, "lambda_r": 700.0})
    m = translator.nets.eval()  # no dropout: the networks are plain functions here
    v, r = torch.rand(1, 3, 16, 32) * 2 - 1, torch.rand(1, 3, 16, 32) * 2 - 1
    losses, _ = generator_objective(m, batch_of(v, r), translator.config)
    with torch.no_grad():
        n = lambda t: t.numpy().astype(np.float64)  # noqa: E731
        G_A, G_B = m.g_vr, m.g_rv
        adv_r, adv_v = -n(m.d_r(G_A(v))).mean(), -n(m.d_v(G_B(r))).mean()
        recon_v, recon_r = np.abs(n(G_B(G_A(v))) - n(v)).mean(), np.abs(n(G_A(G_B(r))) - n(r)).mean()
        critic = critic_objective(m, batch_of(v, r), G_A(v), G_B(r))
        d_r = n(m.d_r(G_A(v))).mean() - n(m.d_r(r)).mean()
    assert losses["g_adv_r"].item() == pytest.approx(adv_r, rel=1e-5)
    assert losses["g_adv_v"].item() == pytest.approx(adv_v, rel=1e-5)
    assert losses["recon_v"].item() == pytest.approx(recon_v, rel=1e-5)
    assert losses["recon_r"].item() == pytest.approx(recon_r, rel=1e-5)
    assert losses["g_total"].item() == pytest.approx(adv_r + adv_v + 300 * recon_v + 700 * recon_r, rel=1e-5)
    assert critic["d_r"].item() == pytest.approx(d_r, rel=1e-4, abs=1e-7)


def test_critics_stay_clipped_and_take_n_critic_steps_per_generator_step(built_translator):
    translator = built_translator("dualgan", {**TINY, "n_critic": 2, "clip": 0.01, "lr": 1e-3})
    m = translator.nets
    v, r = torch.rand(1, 3, 16, 32) * 2 - 1, torch.rand(1, 3, 16, 32) * 2 - 1
    generator_before = [p.clone() for p in m.g_vr.parameters()]
    taken = []
    for step in range(4):
        losses, _ = translator.train_step(batch_of(v, r), step)
        taken.append("g_total" in losses)
        assert all(p.abs().max() <= 0.01 for p in [*m.d_r.parameters(), *m.d_v.parameters()])
        if step == 0:  # a critic step alone leaves the generators as they were
            assert all(torch.equal(a, b) for a, b in zip(generator_before, m.g_vr.parameters()))
    assert taken == [False, True, False, True]
    assert isinstance(translator.opt_g, torch.optim.RMSprop) and isinstance(translator.opt_d, torch.optim.RMSprop)


def test_one_generator_step_lowers_the_generator_objective_on_a_fixed_batch(built_translator):
    translator = built_translator("dualgan", {**TINY, "lr": 1e-5}, seed=2)
    v, r = torch.rand(1, 3, 16, 32) * 2 - 1, torch.rand(1, 3, 16, 32) * 2 - 1

    def objective():
        torch.manual_seed(7)  # the same dropout masks each time
        with torch.no_grad():
            return generator_objective(translator.nets, batch_of(v, r), translator.config)[0]["g_total"].item()

    before = objective()
    torch.manual_seed(7)
    translator.generator_step(batch_of(v, r))
    assert objective() < before


def test_config_and_registry():
    assert isinstance(build_translator("dualgan", TINY), DualGAN)
    assert build_translator("dualgan", TINY).size_multiple() == 8
    with pytest.raises(ValueError, match="multiple of 256"):
        build_translator("dualgan", {"crop_size": [128, 256], "load_size": [128, 256]})
    with pytest.raises(ValueError, match="n_critic"):
        build_translator("dualgan", {**TINY, "n_critic": 0})


def test_training_writes_generator_and_log_and_adapts_at_label_size(tmp_path):
    source, target = write_frames(tmp_path / "v", 4, True, 0), write_frames(tmp_path / "r", 5, False, 1)
    run = tmp_path / "run"
    translator = build_translator("dualgan", TINY)
    translator.train(source, target, run, torch.device("cpu"), seed=0)
    checkpoint = load_checkpoint(run / "checkpoint.pt")
    assert checkpoint["progress"]["step"] == 6
    assert all(t.abs().max() <= 0.01 for k, t in checkpoint["state"]["nets"].items() if k.startswith("d_"))
    rows = (run / "loss_log.csv").read_text().splitlines()
    assert rows[0].split(",")[:4] == ["epoch", "iteration", "step", "d_r"] and len(rows) == 7
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == [f"step000000{s}.png" for s in (2, 4, 6)]
    net = translator.generator(run, torch.device("cpu"))
    assert isinstance(net, UNetGenerator) and not net.training
    translator.adapt(source, tmp_path / "adapted", run, AdaptOptions(working_size=(16, 32)))
    for frame in source:
        assert image_size(tmp_path / "adapted" / f"{frame.id}.png") == image_size(frame.label)
    with pytest.raises(ValueError, match="generator_depth: 3 -> 4"):
        build_translator("dualgan", {**TINY, "generator_depth": 4}).generator(run, torch.device("cpu"))
