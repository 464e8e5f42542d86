import csv

import numpy as np
import pytest
import torch

import segmentation.train as train_module
from sggan.data.io import Frame, image_size, read_label, write_frame_list, write_image, write_label_ids
from sggan.data.labels import TRAIN_TO_LABEL
from segmentation import predict
from segmentation.train import main as train_main

IDS = np.array([7, 8, 26, 23, 21, 0], dtype=np.uint8)  # road, sidewalk, car, sky, vegetation, unlabeled


@pytest.fixture
def frame_list(tmp_path):
    frames = []
    for k, (height, width) in enumerate([(24, 40), (16, 32), (20, 28)]):
        rng = np.random.default_rng(k)
        label = IDS[rng.integers(0, len(IDS), (height, width))]
        write_image(tmp_path / f"{k}.png", rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        write_label_ids(tmp_path / f"{k}_label.png", label, palette=True)
        frames.append(Frame(f"city_000000_00000{k}", tmp_path / f"{k}.png", tmp_path / f"{k}_label.png"))
    write_frame_list(tmp_path / "frames.tsv", frames)
    return tmp_path / "frames.tsv"


def args(frame_list, out, iterations=4, **extra):
    options = {"--frames": frame_list, "--out": out, "--iterations": iterations, "--batch-size": 2,
               "--crop": 8, "--lr": 1e-3, "--width": 1 / 32, "--seed": 3, "--device": "cpu",
               "--checkpoint-every": 2, "--log-every": 1, **extra}
    return [str(x) for item in options.items() for x in item]


def log_iterations(out):
    with (out / "train_log.csv").open() as f:
        return [int(row["iteration"]) for row in csv.DictReader(f)]


def test_resume_after_a_kill_equals_an_uninterrupted_run(frame_list, tmp_path, monkeypatch):
    train_main(args(frame_list, tmp_path / "straight"))
    straight = torch.load(tmp_path / "straight" / "model.pt")

    real_step, calls = train_module.train_step, []

    def dies_at_iteration_4(*a, **k):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt  # killed after iteration 3 was logged, past the checkpoint of 2
        return real_step(*a, **k)

    monkeypatch.setattr(train_module, "train_step", dies_at_iteration_4)
    with pytest.raises(KeyboardInterrupt):
        train_main(args(frame_list, tmp_path / "resumed"))
    assert not (tmp_path / "resumed" / "model.pt").exists()
    assert torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=False)["iteration"] == 2
    assert log_iterations(tmp_path / "resumed") == [1, 2, 3]
    monkeypatch.setattr(train_module, "train_step", real_step)
    train_main(args(frame_list, tmp_path / "resumed"))

    resumed = torch.load(tmp_path / "resumed" / "model.pt")
    for name, tensor in straight["model"].items():
        assert torch.equal(tensor, resumed["model"][name]), name
    assert resumed["model_config"] == {"num_classes": 19, "width": 1 / 32}
    assert log_iterations(tmp_path / "resumed") == [1, 2, 3, 4]


def test_resume_refuses_other_settings(frame_list, tmp_path):
    train_main(args(frame_list, tmp_path / "run", iterations=2))
    with pytest.raises(ValueError, match="lr: 0.001 -> 0.01"):
        train_main(args(frame_list, tmp_path / "run", iterations=2, **{"--lr": 1e-2}))


def test_predict_writes_label_id_pngs_of_the_frame_size(frame_list, tmp_path, capsys):
    train_main(args(frame_list, tmp_path / "run", iterations=1, **{"--optimizer": "adam"}))
    out = tmp_path / "pred"
    cli = ["--model", str(tmp_path / "run" / "model.pt"), "--frames", str(frame_list), "--out", str(out),
           "--device", "cpu"]
    predict.main(cli)
    valid_ids = set(TRAIN_TO_LABEL[:19].tolist())
    for k in range(3):
        path = out / f"city_000000_00000{k}_labelIds.png"
        assert image_size(path) == image_size(tmp_path / f"{k}_label.png")
        assert set(np.unique(read_label(path)).tolist()) <= valid_ids
    assert "predicted 3 frames" in capsys.readouterr().err
    predict.main(cli)  # a rerun skips what is there
    assert "predicted 0 frames" in capsys.readouterr().err
