"""Both trainers, through sggan.runs: a run killed after its last checkpoint and started again
equals an uninterrupted one (weights, optimisers, history pools, the log), for every GAN
translator's own state (SG-GAN's and CycleGAN's pools and schedules, DualGAN's critic schedule,
SimGAN's phases and history, BiGAN's prior draws) and every segmentation stage."""

import csv
import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from conftest import GAN_TINY, segmentation_args, write_frames, write_segmentation_frames

from segmentation import dump
from segmentation.train import main as train_segmentation
from sggan import runs
from sggan.translators import build_translator

CPU = torch.device("cpu")
SEGMENTATION_STAGES = ("frontend", "context", "joint")


@dataclasses.dataclass
class Trainer:
    """One trainer as this test drives it."""

    train: Callable[[Path], None]  # train into a run folder, resuming from its checkpoint
    log: str  # the CSV log in the run folder
    counter: str  # the log's counter column
    same: tuple[str, ...]  # log columns that must repeat exactly (not the timings)
    rows: int  # rows of a whole run
    killed_at: int  # the kill interrupts the writing of this row
    checkpointed: int  # the counter of the last checkpoint before the kill
    progress: Callable[[dict], int]  # the counter a checkpoint holds
    finished: str  # the file written last
    results: Callable[[Path], dict]  # what must equal: weights, optimisers, pools


def gan_trainer(model: str, tmp_path: Path) -> Trainer:
    source, target = write_frames(tmp_path / "v", 4, True, 0), write_frames(tmp_path / "r", 5, False, 1)
    translator = build_translator(model, GAN_TINY[model])
    # 3 steps an epoch, checkpoints after steps 2, 3 (epoch's end) and 4: killed in step 6, resumed from 4
    return Trainer(
        train=lambda run: build_translator(model, GAN_TINY[model]).train(source, target, run, CPU, seed=3),
        log="loss_log.csv",
        counter="step",
        same=("epoch", "iteration", "step", *translator.log_fields),
        rows=6,
        killed_at=6,
        checkpointed=4,
        progress=lambda checkpoint: checkpoint["progress"]["step"],
        finished="generator.pt",
        results=lambda run: {
            "state": runs.load_checkpoint(run / "checkpoint.pt")["state"],
            "generator": torch.load(run / "generator.pt", weights_only=True)["state_dict"],
        },
    )


def segmentation_trainer(stage: str, tmp_path: Path) -> Trainer:
    frames = write_segmentation_frames(tmp_path)
    extra = {}
    if stage != "frontend":
        train_segmentation(segmentation_args(frames, tmp_path / "frontend", iterations=2))
        frontend = tmp_path / "frontend" / "model.pt"
        extra = {"--arch": "dilation10", "--init-from": frontend, "--lr": 1e-4}
    if stage == "context":
        dump.main(
            ["--model", str(frontend), "--frames", str(frames), "--out", str(tmp_path / "scores"), "--device", "cpu"]
        )
        extra.update({"--frames": None, "--scores": tmp_path / "scores", "--batch-size": 3, "--lr": 1e-2})
    # 4 iterations, a row each, checkpoints after 2 and 4: killed in iteration 4, resumed from 2
    return Trainer(
        train=lambda run: train_segmentation(segmentation_args(frames, run, **extra)),
        log="train_log.csv",
        counter="iteration",
        same=("iteration", "loss"),
        rows=4,
        killed_at=4,
        checkpointed=2,
        progress=lambda checkpoint: checkpoint["iteration"],
        finished="model.pt",
        results=lambda run: {
            "model": torch.load(run / "model.pt")["model"],
            "optimizer": runs.load_checkpoint(run / "checkpoint.pt")["optimizer"],
        },
    )


@pytest.fixture(params=[*GAN_TINY, *(f"segmentation-{stage}" for stage in SEGMENTATION_STAGES)])
def trainer(request, tmp_path) -> Trainer:
    if request.param.startswith("segmentation-"):
        return segmentation_trainer(request.param.removeprefix("segmentation-"), tmp_path)
    return gan_trainer(request.param, tmp_path)


def read_log(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


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


def test_a_resumed_run_equals_an_uninterrupted_one(trainer, tmp_path, monkeypatch):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    trainer.train(straight)

    write, rows = runs.ResumableLog.write, []

    def killed(log, row):
        rows.append(row)
        if len(rows) == trainer.killed_at:
            raise KeyboardInterrupt("killed")
        write(log, row)

    monkeypatch.setattr(runs.ResumableLog, "write", killed)
    with pytest.raises(KeyboardInterrupt):
        trainer.train(resumed)
    monkeypatch.setattr(runs.ResumableLog, "write", write)
    assert not (resumed / trainer.finished).exists()
    assert trainer.progress(runs.load_checkpoint(resumed / "checkpoint.pt")) == trainer.checkpointed
    logged = [int(row[trainer.counter]) for row in read_log(resumed / trainer.log)]
    assert logged == list(range(1, trainer.killed_at))  # rows past the checkpoint, to be dropped
    torch.manual_seed(12345)  # the resumed run must not depend on the global RNG it starts with
    trainer.train(resumed)

    assert_same_state(trainer.results(straight), trainer.results(resumed))
    log_a, log_b = read_log(straight / trainer.log), read_log(resumed / trainer.log)
    assert [int(row[trainer.counter]) for row in log_b] == list(range(1, trainer.rows + 1))
    assert [[row[k] for k in trainer.same] for row in log_a] == [[row[k] for k in trainer.same] for row in log_b]
