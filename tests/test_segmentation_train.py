import csv
import json

import numpy as np
import pytest
import torch
from conftest import SIZES, write_segmentation_frames
from conftest import segmentation_args as args

import segmentation.train as train_module
from segmentation import class_stats, dump, predict
from segmentation.context import ContextModule
from segmentation.data import read_index, score_path
from segmentation.train import main as train_main
from sggan import version
from sggan.data.io import image_size, read_frame_list, read_label
from sggan.data.labels import TRAIN_TO_LABEL, to_train_ids


@pytest.fixture
def frame_list(tmp_path):
    return write_segmentation_frames(tmp_path)


def log_rows(out):
    with (out / "train_log.csv").open() as f:
        return list(csv.DictReader(f))


@pytest.fixture
def stages(frame_list, tmp_path):
    """A trained front-end, its dumped scores, and the argument lists of the later stages."""
    train_main(args(frame_list, tmp_path / "frontend", iterations=2))
    frontend = tmp_path / "frontend" / "model.pt"
    dump.main(
        ["--model", str(frontend), "--frames", str(frame_list), "--out", str(tmp_path / "scores"), "--device", "cpu"]
    )
    context = {
        "--frames": None,
        "--scores": tmp_path / "scores",
        "--arch": "dilation10",
        "--init-from": frontend,
        "--batch-size": 3,
        "--lr": 1e-2,
    }
    joint = {"--arch": "dilation10", "--init-from": frontend, "--lr": 1e-4}
    return {"frontend": {}, "context": context, "joint": joint}


def test_context_stage_trains_only_the_context_module(stages, frame_list, tmp_path):
    train_main(args(frame_list, tmp_path / "context", iterations=3, **stages["context"]))
    before = torch.load(stages["context"]["--init-from"])["model"]
    after = torch.load(tmp_path / "context" / "model.pt")["model"]
    frontend_keys = [key for key in after if key.startswith("frontend.")]
    assert frontend_keys and all(torch.equal(after[key], before[key]) for key in frontend_keys)
    identity = ContextModule().state_dict()
    assert not torch.equal(after["context.layers.ctx_fc1.weight"], identity["layers.ctx_fc1.weight"])
    rows = log_rows(tmp_path / "context")
    assert [int(r["iteration"]) for r in rows] == [1, 2, 3]
    assert all(float(r["loss"]) > 0 and float(r["tflops"]) > 0 and r["mfu"] == "" for r in rows)


def test_accumulated_micro_batches_make_the_same_update(stages, frame_list, tmp_path):
    # the context stage has no dropout: 3 frames in one batch or in 3 micro-batches, the same step
    context = stages["context"]
    train_main(args(frame_list, tmp_path / "whole", iterations=2, **context))
    train_main(args(frame_list, tmp_path / "split", iterations=2, **{**context, "--accumulate": 3}))
    whole, split = (torch.load(tmp_path / run / "model.pt")["model"] for run in ("whole", "split"))
    for name in whole:
        assert torch.allclose(whole[name], split[name], atol=1e-6), name
    with pytest.raises(SystemExit):  # 3 frames do not split into 2 micro-batches
        train_main(args(frame_list, tmp_path / "bad", **{**context, "--accumulate": 2}))


def test_dump_holds_whole_frame_scores_and_stride_8_labels(stages, frame_list, tmp_path):
    index = read_index(tmp_path / "scores")
    assert index["frames"] == [f"city_000000_00000{k}" for k in range(3)]
    for k, (height, width) in enumerate(SIZES):
        saved = torch.load(score_path(tmp_path / "scores", f"city_000000_00000{k}"))
        rows, cols = -(-height // 8), -(-width // 8)
        assert saved["scores"].shape == (19, rows, cols) and saved["scores"].dtype == torch.float16
        assert saved["labels"].shape == (rows, cols) and saved["labels"].dtype == torch.uint8
        train_ids = to_train_ids(read_label(tmp_path / f"{k}_label.png"))
        assert saved["labels"][1, 2] == train_ids[12, 20]  # the pixel at block (1, 2)'s centre
    # a rerun has nothing to do
    computed = dump.dump(
        stages["context"]["--init-from"],
        predict.read_frame_list(frame_list),
        tmp_path / "scores",
        torch.device("cpu"),
        progress=False,
    )
    assert computed == 0


def test_the_stage_follows_from_the_arguments(frame_list, tmp_path):
    with pytest.raises(SystemExit):  # --scores without the front-end that made them
        train_main(args(frame_list, tmp_path / "x", **{"--frames": None, "--scores": tmp_path, "--arch": "dilation10"}))
    with pytest.raises(SystemExit):  # class balance without the statistics
        train_main(args(frame_list, tmp_path / "x", **{"--class-balanced": True}))
    config, _ = train_module.parse_args(args(frame_list, tmp_path / "x", **{"--arch": "dilation10"}))
    assert config.stage == "joint" and config.crop == (8, 8)


def test_class_balanced_training_runs_from_the_statistics(frame_list, tmp_path):
    stats_path = tmp_path / "class_stats.json"
    class_stats.main(["--frames", str(frame_list), "--out", str(stats_path)])
    stats = json.loads(stats_path.read_text())
    assert stats["frames"] == 3 and sum(stats["pixels"]) + stats["ignored_pixels"] == sum(h * w for h, w in SIZES)
    frames = read_frame_list(frame_list)
    by_hand = [np.bincount(to_train_ids(read_label(f.label)).ravel(), minlength=256)[:19].tolist() for f in frames]
    assert stats["per_frame"] == by_hand  # in frame-list order
    assert class_stats.compute(frames, workers=3) == stats  # threads keep the order
    train_main(
        args(frame_list, tmp_path / "run", iterations=2, **{"--class-balanced": True, "--class-stats": stats_path})
    )
    assert (tmp_path / "run" / "model.pt").exists()


def test_resume_refuses_other_settings(frame_list, tmp_path):
    train_main(args(frame_list, tmp_path / "run", iterations=2))
    for name in ("model.pt", "checkpoint.pt"):  # the code version is recorded beside the settings, not compared
        assert torch.load(tmp_path / "run" / name, weights_only=False)["code_version"] == version.code_version()
    with pytest.raises(ValueError, match="lr: 0.001 -> 0.01"):
        train_main(args(frame_list, tmp_path / "run", iterations=2, **{"--lr": 1e-2}))


@pytest.mark.parametrize("arch", ["frontend", "dilation10"])
def test_predict_writes_label_id_pngs_of_the_frame_size(arch, frame_list, tmp_path, capsys):
    train_main(args(frame_list, tmp_path / "run", iterations=1, **{"--optimizer": "adam", "--arch": arch}))
    out = tmp_path / "pred"
    cli = [
        "--model",
        str(tmp_path / "run" / "model.pt"),
        "--frames",
        str(frame_list),
        "--out",
        str(out),
        "--device",
        "cpu",
    ]
    predict.main(cli)
    valid_ids = set(TRAIN_TO_LABEL[:19].tolist())
    for k in range(3):
        path = out / f"city_000000_00000{k}_labelIds.png"
        assert image_size(path) == image_size(tmp_path / f"{k}_label.png")
        assert set(np.unique(read_label(path)).tolist()) <= valid_ids
    assert "predicted 3 frames" in capsys.readouterr().err
    predict.main(cli)  # a rerun skips what is there
    assert "predicted 0 frames" in capsys.readouterr().err
    # tiles of 8 output pixels give the same labels as whole frames
    predict.main(cli[:5] + [str(tmp_path / "tiled"), "--device", "cpu", "--tile", "8"])
    for k in range(3):
        name = f"city_000000_00000{k}_labelIds.png"
        assert np.array_equal(read_label(out / name), read_label(tmp_path / "tiled" / name))
