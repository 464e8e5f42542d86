"""CycleGAN baseline: ResNet generator, loss terms, learning-rate schedule, one step, training, resume."""

import csv

import numpy as np
import pytest
import torch
from conftest import write_frames

import sggan.translators.cyclegan as cyclegan_module
from sggan.adaptation import AdaptOptions
from sggan.cli import UserError
from sggan.data.io import image_size, read_image
from sggan.models import CycleGANPatchDiscriminator, PatchDiscriminator
from sggan.models.resnet import ResnetGenerator
from sggan.runs import load_checkpoint
from sggan.training import UnpairedBatch
from sggan.translators import available, build_translator, get_translator
from sggan.translators.cyclegan import Config, generator_objective, networks

TINY = {
    "epochs": 2,
    "max_iterations_per_epoch": 3,
    "ngf": 4,
    "ndf": 4,
    "blocks": 2,
    "load_size": [28, 52],
    "crop_size": [24, 48],
    "pool_size": 2,
    "checkpoint_every": 2,
    "sample_every": 2,
    "workers": 0,
}


@pytest.fixture
def frames(tmp_path):
    return write_frames(tmp_path / "v", 4, True, 0), write_frames(tmp_path / "r", 5, False, 1)


def read_log(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_resnet_generator_keeps_the_size_and_refuses_sides_it_cannot_restore():
    net = ResnetGenerator(ngf=4, blocks=2)
    x = torch.rand(2, 3, 16, 36) * 2 - 1
    y = net(x)
    assert y.shape == x.shape and y.abs().max() <= 1
    assert sum(isinstance(m, torch.nn.ReflectionPad2d) for m in net.modules()) == 2 + 2 * 2  # 7x7 ends, 2 per block
    with pytest.raises(ValueError, match="multiples of 4"):
        net(torch.zeros(1, 3, 18, 36))


def test_learning_rate_is_constant_then_decays_linearly_over_the_second_half():
    assert [Config(epochs=6).lr_factor(e) for e in range(6)] == [1, 1, 1, 0.75, 0.5, 0.25]
    paper = Config()  # 100 + 100 epochs
    assert paper.lr_factor(99) == 1 and paper.lr_factor(100) == pytest.approx(100 / 101)
    assert paper.lr_factor(199) == pytest.approx(1 / 101)
    assert all(Config(epochs=4, decay_epochs=0).lr_factor(e) == 1 for e in range(4))
    with pytest.raises(ValueError, match="decay_epochs"):
        Config(epochs=4, decay_epochs=5)


def test_defaults_are_the_reference_codes():
    config = Config()
    assert (config.load_size, config.crop_size, config.flip) == ((286, 572), (256, 512), True)
    assert (config.lambda_cycle, config.lambda_identity, config.pool_size) == (10.0, 0.5, 50)
    assert isinstance(networks(Config(ngf=4, ndf=4, blocks=1)).d_r, CycleGANPatchDiscriminator)
    sggan_d = networks(Config(ngf=4, ndf=4, blocks=1, discriminator="sggan")).d_v
    assert isinstance(sggan_d, PatchDiscriminator) and not sggan_d.semantic
    with pytest.raises(ValueError, match="discriminator must be one of"):
        Config(discriminator="basic")


def test_generator_loss_terms_equal_a_hand_computation():
    torch.manual_seed(0)
    config = Config(ngf=4, ndf=4, blocks=1, lambda_identity=0.5)
    m = networks(config)
    v, r = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    losses, images = generator_objective(m, UnpairedBatch(v, None, None, r, None, None), config)
    with torch.no_grad():
        n = lambda t: t.numpy().astype(np.float64)  # noqa: E731
        G, F, D_R, D_V = m.g_vr, m.g_rv, m.d_r, m.d_v
        expected = {
            "g_adv_r": ((n(D_R(G(v))) - 1) ** 2).mean(),
            "g_adv_v": ((n(D_V(F(r))) - 1) ** 2).mean(),
            "cycle_v": np.abs(n(F(G(v))) - n(v)).mean(),
            "cycle_r": np.abs(n(G(F(r))) - n(r)).mean(),
            "idt_r": np.abs(n(G(r)) - n(r)).mean(),
            "idt_v": np.abs(n(F(v)) - n(v)).mean(),
        }
    for key, value in expected.items():
        assert losses[key].item() == pytest.approx(value, rel=1e-5), key
    total = (
        expected["g_adv_r"]
        + expected["g_adv_v"]
        + 10 * (expected["cycle_v"] + expected["cycle_r"])
        + 10 * 0.5 * (expected["idt_r"] + expected["idt_v"])
    )
    assert losses["g_total"].item() == pytest.approx(total, rel=1e-5)
    assert torch.equal(images["fake_r"], G(v).detach())
    # without the identity term its losses are neither computed nor counted
    plain, _ = generator_objective(
        m, UnpairedBatch(v, None, None, r, None, None), Config(ngf=4, ndf=4, blocks=1, lambda_identity=0.0)
    )
    assert "idt_r" not in plain
    assert plain["g_total"].item() == pytest.approx(total - 5 * (expected["idt_r"] + expected["idt_v"]), rel=1e-5)


def test_one_generator_step_lowers_the_generator_objective_on_a_fixed_batch(built_translator):
    translator = built_translator("cyclegan", {"ngf": 4, "ndf": 4, "blocks": 1, "lr": 1e-4}, seed=1)
    m, config = translator.nets, translator.config
    v, r = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    batch = UnpairedBatch(v, None, None, r, None, None)
    with torch.no_grad():
        before = generator_objective(m, batch, config)[0]["g_total"].item()
    d_weights = [p.clone() for p in m.d_r.parameters()]
    translator.generator_step(batch)
    with torch.no_grad():
        after = generator_objective(m, batch, config)[0]["g_total"].item()
    assert after < before
    assert all(torch.equal(a, b) for a, b in zip(d_weights, m.d_r.parameters()))  # D is not touched
    assert all(p.requires_grad for p in m.d_r.parameters())  # and trainable again for its own step


def test_registry_finds_the_baselines_and_names_the_choices_for_an_unknown_one():
    assert {"cyclegan", "dualgan", "simgan", "bigan", "external"} <= set(available())
    assert get_translator("cyclegan") is cyclegan_module.CycleGAN
    with pytest.raises(UserError, match="unknown translator model 'cycle-gan'; available: .*cyclegan"):
        get_translator("cycle-gan")
    with pytest.raises(ValueError, match="unknown parameter"):
        build_translator("cyclegan", {"n_blocks": 9})
    with pytest.raises(ValueError, match="multiple of 4"):
        build_translator("cyclegan", {**TINY, "crop_size": [18, 32]})


def test_training_writes_generator_samples_and_log_and_adapts_at_label_size(frames, tmp_path):
    source, target = frames
    run = tmp_path / "run"
    translator = build_translator("cyclegan", TINY)
    translator.train(source, target, run, torch.device("cpu"), seed=0)

    checkpoint = load_checkpoint(run / "checkpoint.pt")
    progress = checkpoint["progress"]
    assert (progress["epoch"], progress["iteration"], progress["step"]) == (2, 0, 6)
    assert len(checkpoint["state"]["pool_r"]["entries"]) == 2
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == [f"step000000{s}.png" for s in (2, 4, 6)]
    assert read_image(run / "samples" / "step0000006.png").shape == (2 * 24, 3 * 48, 3)
    rows = read_log(run / "loss_log.csv")
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [float(r["lr"]) for r in rows] == [2e-4] * 3 + [1e-4] * 3  # second half: decayed
    assert all(float(r["g_total"]) > 0 and float(r["d_r"]) > 0 and float(r["idt_r"]) > 0 for r in rows)

    options = AdaptOptions(working_size=(16, 32))
    translator.adapt(source, tmp_path / "adapted", run, options)
    for frame in source:
        assert image_size(tmp_path / "adapted" / f"{frame.id}.png") == image_size(frame.label)
    assert not translator.generator(run, torch.device("cpu")).training
    before = (run / "generator.pt").stat().st_mtime_ns
    translator.train(source, target, run, torch.device("cpu"), seed=0)  # finished: nothing to do
    assert (run / "generator.pt").stat().st_mtime_ns == before


def test_resume_refuses_a_changed_architecture(frames, tmp_path):
    source, target = frames
    run = tmp_path / "run"
    build_translator("cyclegan", {**TINY, "epochs": 1}).train(source, target, run, torch.device("cpu"), seed=0)
    (run / "generator.pt").unlink()
    with pytest.raises(ValueError, match="blocks: 2 -> 3"):
        build_translator("cyclegan", {**TINY, "blocks": 3}).train(source, target, run, torch.device("cpu"), seed=0)
