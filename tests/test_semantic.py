import json

import numpy as np
import pytest
import torch
from torch import nn

from eval import semantic
from eval.metrics import confusion_matrix, scores
from segmentation import predict
from segmentation.model import DilatedNet
from sggan.data.io import DataError, Frame, read_label, write_frame_list, write_image, write_label_ids
from sggan.data.labels import to_train_ids


@pytest.fixture
def oracle(tmp_path):
    """A tiny Dilation10 whose predictions vary over the frame (a useful test of the scoring)."""
    torch.manual_seed(0)
    model = DilatedNet("dilation10", num_classes=19, width=1 / 32)
    nn.init.normal_(model.frontend.classifier.final.weight, std=1.0)
    path = tmp_path / "model.pt"
    torch.save({"model": model.state_dict(), "model_config": model.config()}, path)
    return path


@pytest.fixture
def frames(tmp_path):
    """Three held-out source frames (label ids 7 road, 11 building, 26 car, 0 unlabelled) and their
    adapted images, listed in a different order than the held-out list, with extra frames."""
    rng = np.random.default_rng(1)
    heldout, adapted = [], []
    for i in range(5):
        fid = f"{i:05d}"
        label = rng.choice(np.array([0, 7, 11, 26], dtype=np.uint8), size=(40, 72))
        write_label_ids(tmp_path / f"labels/{fid}.png", label, palette=True)
        write_image(tmp_path / f"images/{fid}.png", rng.integers(0, 256, (40, 72, 3), dtype=np.uint8))
        write_image(tmp_path / f"adapted/{fid}.png", rng.integers(0, 256, (40, 72, 3), dtype=np.uint8))
        source = Frame(fid, str(tmp_path / f"images/{fid}.png"), str(tmp_path / f"labels/{fid}.png"))
        if i < 3:
            heldout.append(source)
        adapted.append(Frame(fid, str(tmp_path / f"adapted/{fid}.png"), source.label))
    write_frame_list(tmp_path / "heldout.tsv", heldout)
    write_frame_list(tmp_path / "adapted.tsv", adapted[::-1])
    return tmp_path


def test_scores_the_oracle_on_adapted_heldout_frames_against_source_labels(oracle, frames, tmp_path):
    out = tmp_path / "semantic.json"
    assert (
        semantic.main(
            [
                "--model",
                str(oracle),
                "--heldout",
                str(frames / "heldout.tsv"),
                "--adapted",
                str(frames / "adapted.tsv"),
                "--out",
                str(out),
                "--device",
                "cpu",
                "--no-progress",
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())

    # independently: the label-id PNGs segmentation.predict writes for the adapted held-out
    # frames, read back and scored against the source labels
    held = [
        Frame(f"{i:05d}", str(frames / f"adapted/{i:05d}.png"), str(frames / f"labels/{i:05d}.png")) for i in range(3)
    ]
    write_frame_list(tmp_path / "held_adapted.tsv", held)
    predict.main(
        [
            "--model",
            str(oracle),
            "--frames",
            str(tmp_path / "held_adapted.tsv"),
            "--out",
            str(tmp_path / "pred"),
            "--device",
            "cpu",
        ]
    )
    conf = sum(
        confusion_matrix(
            to_train_ids(read_label(f.label)), to_train_ids(read_label(tmp_path / f"pred/{f.id}_labelIds.png"))
        )
        for f in held
    )
    expected = scores(conf)
    assert result["num_images"] == 3
    assert result["num_pixels"] == int(conf.sum()) > 0
    for key in ("pixel_acc", "class_acc", "class_iou"):
        assert result[key] == pytest.approx(expected[key])
    assert result["confusion_matrix"] == conf[:, :19].tolist()


def test_a_heldout_frame_missing_from_the_adapted_list_is_named(oracle, frames, tmp_path):
    write_frame_list(tmp_path / "partial.tsv", [Frame("00000", "a.png", "b.png")])
    with pytest.raises(DataError, match=r"partial\.tsv lacks 2 held-out frames \(first: 00001\)"):
        semantic.main(
            [
                "--model",
                str(oracle),
                "--heldout",
                str(frames / "heldout.tsv"),
                "--adapted",
                str(tmp_path / "partial.tsv"),
                "--out",
                str(tmp_path / "x.json"),
                "--device",
                "cpu",
            ]
        )
    assert not (tmp_path / "x.json").exists()
