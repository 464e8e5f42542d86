"""The shared training loop: a run killed and resumed equals an uninterrupted one, for every GAN
translator's own state (SG-GAN's and CycleGAN's pools and schedules, DualGAN's critic schedule,
SimGAN's phases and history, BiGAN's prior draws)."""
import importlib

import pytest
import torch

from sggan.training import load_checkpoint
from sggan.translators import build_translator
from test_sggan_train import TINY as SGGAN_TINY, read_log, write_frames

COMMON = {"epochs": 2, "max_iterations_per_epoch": 3, "load_size": [20, 36], "crop_size": [16, 32],
          "checkpoint_every": 2, "sample_every": 2, "workers": 0}
TINY = {
    "sggan": SGGAN_TINY,
    "cyclegan": {**COMMON, "ngf": 4, "ndf": 4, "blocks": 2, "pool_size": 2},
    "dualgan": {**COMMON, "ngf": 4, "ndf": 4, "generator_depth": 3, "lr": 1e-3},
    "simgan": {**COMMON, "refiner_width": 4, "refiner_blocks": 1, "d_widths": [4, 4, 4, 4], "pool_size": 2,
               "pretrain_refiner_steps": 1, "pretrain_discriminator_steps": 1},
    "bigan": {**COMMON, "ngf": 4, "ndf": 4, "depth": 2, "code_channels": 3},
}


def assert_same_state(a, b, where=""):
    """Tensors, numbers and nested dicts/lists (networks, optimisers, pools) equal exactly."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same_state(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for index, (x, y) in enumerate(zip(a, b)):
            assert_same_state(x, y, f"{where}[{index}]")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    else:
        assert a == b, where


@pytest.mark.parametrize("model", sorted(TINY))
def test_resume_after_a_kill_equals_an_uninterrupted_run(model, tmp_path, monkeypatch):
    source, target = write_frames(tmp_path / "v", 4, True, 0), write_frames(tmp_path / "r", 5, False, 1)
    module = importlib.import_module(f"sggan.translators.{model}")
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    build_translator(model, TINY[model]).train(source, target, straight, torch.device("cpu"), seed=3)

    real_iteration = module.train_iteration
    calls = []

    def killed_at_sixth(*args, **kwargs):
        calls.append(1)
        if len(calls) == 6:  # step 5 is done and logged; the last checkpoint holds step 4
            raise KeyboardInterrupt("killed")
        return real_iteration(*args, **kwargs)

    monkeypatch.setattr(module, "train_iteration", killed_at_sixth)
    with pytest.raises(KeyboardInterrupt):
        build_translator(model, TINY[model]).train(source, target, resumed, torch.device("cpu"), seed=3)
    assert not (resumed / "generator.pt").exists()
    assert load_checkpoint(resumed / "checkpoint.pt", torch.device("cpu"))["step"] == 4
    monkeypatch.setattr(module, "train_iteration", real_iteration)
    torch.manual_seed(12345)  # the resumed run must not depend on the global RNG it starts with
    build_translator(model, TINY[model]).train(source, target, resumed, torch.device("cpu"), seed=3)

    # networks, optimisers and history pools, all of it
    assert_same_state(load_checkpoint(straight / "checkpoint.pt", torch.device("cpu"))["state"],
                      load_checkpoint(resumed / "checkpoint.pt", torch.device("cpu"))["state"])
    g_a = torch.load(straight / "generator.pt", weights_only=True)["state_dict"]
    g_b = torch.load(resumed / "generator.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(g_a[k], g_b[k]) for k in g_a)
    # the log holds every step once, with the same losses
    log_a, log_b = read_log(straight / "loss_log.csv"), read_log(resumed / "loss_log.csv")
    assert [r["step"] for r in log_b] == [str(s) for s in range(1, 7)]
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(log_a) == strip(log_b)
