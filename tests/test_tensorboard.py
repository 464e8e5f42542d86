"""Optional TensorBoard logs of both trainers (through sggan.runs.ResumableLog): the CSV log's
scalars and the GAN's sample grids when the setting is on, nothing when off, each step once after
a resume, and one error line when the package is missing."""

import json
import sys

import pytest
import torch
from conftest import GAN_TINY, read_log, segmentation_args, write_frames, write_segmentation_frames

from segmentation.train import main as train_segmentation
from sggan import runs
from sggan.cli import UserError
from sggan.translators import build_translator

# skipped only where tensorboard is not installed; CI installs it (the test extra), so there a skip fails
pytestmark = pytest.mark.required_in_ci
CPU = torch.device("cpu")
SGGAN = {**GAN_TINY["sggan"], "tensorboard": True}  # 2 epochs of 3 steps, samples every 2, checkpoints after 2, 3, 4


def events(folder):
    """tag -> [(step, value)] of the scalars, and tag -> [steps] of the images, in ``folder``."""
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    tags = accumulator.Tags()
    scalars = {tag: [(e.step, e.value) for e in accumulator.Scalars(tag)] for tag in tags["scalars"]}
    return scalars, {tag: [e.step for e in accumulator.Images(tag)] for tag in tags["images"]}


def train_gan(run, params=SGGAN):
    frames = run.parent / "frames"
    source, target = write_frames(frames / "v", 4, True, 0), write_frames(frames / "r", 5, False, 1)
    build_translator("sggan", params).train(source, target, run, CPU, seed=3)


def train_frontend(run, *flags):
    frames = write_segmentation_frames(run.parent)
    train_segmentation(segmentation_args(frames, run, iterations=4) + list(flags))


def kill_at_row(monkeypatch, row_number):
    """The next training is killed while it writes its log's ``row_number``-th row."""
    write, rows = runs.ResumableLog.write, []

    def killed(log, row):
        rows.append(row)
        if len(rows) == row_number:
            raise KeyboardInterrupt("killed")
        write(log, row)

    monkeypatch.setattr(runs.ResumableLog, "write", killed)
    return lambda: monkeypatch.setattr(runs.ResumableLog, "write", write)


def csv_column(path, counter, column):
    return [(int(row[counter]), pytest.approx(float(row[column]), rel=1e-4)) for row in read_log(path)]


def test_gan_training_logs_every_loss_and_the_sample_grids(tmp_path):
    pytest.importorskip("tensorboard")
    train_gan(tmp_path / "run")
    scalars, images = events(tmp_path / "run" / "tensorboard")
    log_fields = build_translator("sggan", SGGAN).log_fields
    assert sorted(scalars) == sorted(log_fields)  # alpha, beta and every loss
    for tag in log_fields:
        assert scalars[tag] == csv_column(tmp_path / "run" / "loss_log.csv", "step", tag)
    assert images == {"samples": [2, 4, 6]}  # as the PNGs in samples/
    assert sorted(p.name for p in (tmp_path / "run" / "samples").iterdir()) == [
        "step0000002.png",
        "step0000004.png",
        "step0000006.png",
    ]


def test_segmentation_training_logs_loss_and_images_per_second(tmp_path):
    pytest.importorskip("tensorboard")
    train_frontend(tmp_path / "run", "--tensorboard")
    scalars, images = events(tmp_path / "run" / "tensorboard")
    assert {"loss", "images_per_s", "tflops"} <= set(scalars) and "mfu" not in scalars  # no --peak-tflops: empty
    assert scalars["loss"] == csv_column(tmp_path / "run" / "train_log.csv", "iteration", "loss")
    assert [step for step, _ in scalars["images_per_s"]] == [1, 2, 3, 4]
    assert images == {}


def test_off_by_default_writes_no_events(tmp_path):
    train_gan(tmp_path / "gan", GAN_TINY["sggan"])
    train_frontend(tmp_path / "seg")
    assert not (tmp_path / "gan" / "tensorboard").exists() and not (tmp_path / "seg" / "tensorboard").exists()


# trainer -> (train into tmp_path/run, its CSV log, counter, a scalar, rows, the row the kill interrupts)
RESUMED = {
    # killed in step 6, resumed from the checkpoint of step 4
    "gan": (lambda run: train_gan(run), "loss_log.csv", "step", "g_total", 6, 6),
    # killed in iteration 4, resumed from the checkpoint of iteration 2
    "segmentation": (lambda run: train_frontend(run, "--tensorboard"), "train_log.csv", "iteration", "loss", 4, 4),
}


@pytest.mark.parametrize("trainer", RESUMED)
def test_a_resumed_run_logs_each_step_once(trainer, tmp_path, monkeypatch):
    pytest.importorskip("tensorboard")
    train, csv, counter, tag, rows, killed_at = RESUMED[trainer]
    run = tmp_path / "run"
    restore = kill_at_row(monkeypatch, killed_at)
    with pytest.raises(KeyboardInterrupt):
        train(run)
    restore()
    assert [step for step, _ in events(run / "tensorboard")[0][tag]] == list(range(1, killed_at))
    train(run)
    scalars, images = events(run / "tensorboard")
    assert len(list((run / "tensorboard").iterdir())) == 2  # the resumed run appends a file of its own
    assert [step for step, _ in scalars[tag]] == list(range(1, rows + 1))
    assert scalars[tag] == csv_column(run / csv, counter, tag)  # the resumed run's values, not the killed one's
    if trainer == "gan":
        assert images == {"samples": [2, 4, 6]}


@pytest.mark.parametrize("trainer", ["gan", "segmentation"])
def test_on_without_the_package_is_one_error_before_training(trainer, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if tensorboard were not installed
    with pytest.raises(
        UserError, match=r"tensorboard package is not installed: pip install 'sggan-benchmark\[tensorboard\]'"
    ):
        if trainer == "gan":
            train_gan(tmp_path / "run")
        else:
            train_frontend(tmp_path / "run", "--params", json.dumps({"tensorboard": True}))
    assert not (tmp_path / "run" / ("loss_log.csv" if trainer == "gan" else "train_log.csv")).exists()
