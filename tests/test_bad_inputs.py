"""Bad inputs through the real command lines: each is refused with one error line, or handled.

Every case runs as a user would run it (``python -m ...`` in a subprocess, ``snakemake -n`` for
the workflow's config) and must either exit 2 with exactly one line starting ``error:`` (or
argparse's ``PROG: error:``; Snakemake: a non-zero exit and one ``error:`` line) and no traceback,
or, for a case marked handled, exit 0 with the outcome its check asserts. The cases and what the user sees are the table in
docs/bad_inputs.md; a case added or a message changed makes this test fail until the table is
rewritten with ``SGGAN_WRITE_BAD_INPUTS=1 pytest tests/test_bad_inputs.py``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from eval.ab.kit import Pair, build_kit
from eval.evaluate import evaluate, write_scores
from eval.provenance import provenance
from sggan.data.io import Frame, write_frame_list, write_image, write_label_ids
from sggan.data.labels import LABEL_TO_TRAIN, PALETTE

REPO = Path(__file__).resolve().parents[1]
TABLE = REPO / "docs" / "bad_inputs.md"
H, W = 16, 32


@dataclass
class Case:
    area: str
    mistake: str
    argv: list[str]  # after ``python -m``; or ``snakemake ...``
    expect: str  # a piece of the error line; "" for a handled case
    handled: Callable[[Path], None] | None = None  # for a handled case: asserts the outcome
    config: dict | None = None  # snakemake cases: changes to config.yaml


# ------------------------------------------------------------------------------------------ inputs
def _sky_over_road() -> np.ndarray:
    label = np.full((H, W), 7, np.uint8)
    label[: H // 2] = 23
    return label


def _noise(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def _gta(root: Path, n: int, label=None) -> Path:
    """A GTA-V tree of ``n`` frames; ``label(path, i)`` writes frame i's label (default: a good one)."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        write_image(root / "images" / f"{i:05d}.png", _noise(i))
        path = root / "labels" / f"{i:05d}.png"
        (label or (lambda p, i: write_label_ids(p, _sky_over_road(), palette=True)))(path, i)
    return root


def _requantised(path: Path, i: int) -> None:
    if i:
        return write_label_ids(path, _sky_over_road(), palette=True)
    image = Image.fromarray((_sky_over_road() == 23).astype(np.uint8), "P")  # indices 0, 1
    image.putpalette([*PALETTE[7], *PALETTE[23]])
    image.save(path, format="PNG")


def _jpeg(path: Path, i: int) -> None:
    if i:
        return write_label_ids(path, _sky_over_road(), palette=True)
    Image.fromarray(_sky_over_road()).save(path, format="JPEG")


def _cityscapes(root: Path, split: str, n: int, label_ids: np.ndarray) -> Path:
    for i in range(n):
        key = f"aachen_{i:06d}_000019"
        write_image(root / "leftImg8bit" / split / "aachen" / f"{key}_leftImg8bit.png", _noise(i))
        write_label_ids(root / "gtFine" / split / "aachen" / f"{key}_gtFine_labelIds.png", label_ids)
    return root


def _predictions(root: Path, gt: np.ndarray, transform=lambda a: a, fmt="PNG", size=None) -> Path:
    """Predictions of both frames of the ``cs`` val tree."""
    root.mkdir(parents=True)
    array = np.zeros(size, np.uint8) if size else transform(gt)
    for i in range(2):
        Image.fromarray(array).save(root / f"aachen_{i:06d}_000019_leftImg8bit.png", format=fmt)
    return root


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("bad inputs")
    _gta(d / "gta", 3)
    _gta(d / "gta_requantised", 2, _requantised)
    _gta(d / "gta_jpeg", 2, _jpeg)
    _gta(d / "gta_corrupt", 2, lambda p, i: p.write_bytes(b"not a png"))
    (d / "gta_empty" / "images").mkdir(parents=True)
    (d / "gta_empty" / "labels").mkdir()
    (d / "gta_nolabels" / "images").mkdir(parents=True)
    train_ids = LABEL_TO_TRAIN[_sky_over_road()]
    train_ids[0, 0] = 255
    _cityscapes(d / "cs_trainids", "train", 2, train_ids)
    gt = _sky_over_road()
    _cityscapes(d / "cs", "val", 2, gt)
    frames = [
        Frame(f"{i:05d}", d / "gta" / "images" / f"{i:05d}.png", d / "gta" / "labels" / f"{i:05d}.png")
        for i in range(3)
    ]
    write_frame_list(d / "frames.tsv", frames)
    write_frame_list(d / "empty.tsv", [])
    (d / "badheader.tsv").write_text("name\tpicture\n1\ta.png\n")
    _predictions(d / "pred", gt)
    _predictions(d / "pred_trainids", gt, lambda a: LABEL_TO_TRAIN[a])
    _predictions(d / "pred_jpeg", gt, fmt="JPEG")
    _predictions(d / "pred_small", gt, size=(H // 2, W // 2))
    (d / "pred_missing").mkdir()
    write_label_ids(d / "pred_missing" / "aachen_000000_000019_leftImg8bit.png", gt)
    write_scores(d / "scores.json", evaluate(d / "pred", d / "cs" / "gtFine" / "val", workers=1, progress=False))
    (d / "broken.json").write_text('{"pixel_acc": ')
    (d / "provenance.json").write_text(json.dumps(provenance({"seed": 0}, [0], [])))
    (d / "garbage.pt").write_bytes(b"not a torch file")
    (d / "empty_run").mkdir()
    (d / "no_images").mkdir()
    (d / "my_frames").mkdir()
    (d / "my_frames" / "broken.png").write_bytes(b"not a png")
    write_image(d / "one_frame" / "a.png", np.zeros((H, W, 3), np.uint8))
    (d / "corrupt_run").mkdir()
    (d / "corrupt_run" / "generator.pt").write_bytes(b"half a file")
    (d / "garbage.sqlite").write_bytes(b"not a database, but long enough to be read as one" * 40)
    for method, grey in (("a", 40), ("b", 200)):
        for frame in frames:
            write_image(d / "adapted" / method / f"{frame.id}.png", np.full((H, W, 3), grey, np.uint8))
    build_kit(d / "frames.tsv", {m: d / "adapted" / m for m in "ab"}, [Pair("a", "b", None)], 2, (H, W), 0, d / "kit")
    return d


# ------------------------------------------------------------------------------------------ the cases
def _report(name: str, reason: str):
    def check(d: Path) -> None:
        report = json.loads((d / name).read_text())
        assert report["excluded_by_reason"] == {reason: 1} and report["kept"] == 1, report

    return check


def cases(d: Path, busy_port: int) -> list[Case]:
    check = ["sggan.data.check", "--workers", "1"]
    out = ["--report", str(d / "out" / "report.json"), "--frames-out", str(d / "out" / "frames.tsv")]
    splits = [
        "sggan.data.splits",
        "--seed",
        "0",
        "--heldout-source",
        "1",
        "--heldout-target",
        "1",
        "--out",
        str(d / "out" / "splits"),
    ]
    train = [
        "sggan.train",
        "--source",
        str(d / "frames.tsv"),
        "--target",
        str(d / "frames.tsv"),
        "--run-dir",
        str(d / "out" / "run"),
        "--device",
        "cpu",
    ]
    adapt = [
        "sggan.adapt",
        "--frames",
        str(d / "frames.tsv"),
        "--out",
        str(d / "out" / "adapted"),
        "--done",
        str(d / "out" / "done.tsv"),
        "--device",
        "cpu",
    ]
    predict = [
        "segmentation.predict",
        "--frames",
        str(d / "frames.tsv"),
        "--out",
        str(d / "out" / "pred"),
        "--device",
        "cpu",
    ]
    gt = str(d / "cs" / "gtFine" / "val")
    evaluate_ = ["eval.evaluate", "--out", str(d / "out" / "scores.json"), "--no-progress", "--workers", "1"]
    table2 = ["eval.table2", "--out-csv", str(d / "out" / "t2.csv"), "--out-md", str(d / "out" / "t2.md")]
    quality = ["eval.quality", "--out-csv", str(d / "out" / "q.csv"), "--out-md", str(d / "out" / "q.md")]
    table1 = ["eval.table1", "--out-csv", str(d / "out" / "t1.csv"), "--out-md", str(d / "out" / "t1.md")]
    serve = ["eval.ab", "serve", "--db", str(d / "out" / "answers.sqlite")]
    sggan = {"model": "sggan", "regime": "2k"}
    return [
        # data check
        Case(
            "data check",
            "data root does not exist",
            [*check, "--dataset", "gta", "--root", str(d / "nowhere"), *out],
            "is not a folder",
        ),
        Case(
            "data check",
            "GTA-V root without labels/",
            [*check, "--dataset", "gta", "--root", str(d / "gta_nolabels"), *out],
            "labels is not a folder",
        ),
        Case(
            "data check",
            "empty images/ and labels/ folders",
            [*check, "--dataset", "gta", "--root", str(d / "gta_empty"), *out],
            "no frame has both an image and a label",
        ),
        Case(
            "data check",
            "every label undecodable",
            [*check, "--dataset", "gta", "--root", str(d / "gta_corrupt"), *out],
            "2 of 2 frames excluded",
        ),
        Case(
            "data check",
            "a label whose palette an editor re-quantised (tolerated share)",
            [
                *check,
                "--dataset",
                "gta",
                "--root",
                str(d / "gta_requantised"),
                "--report",
                str(d / "out" / "rq.json"),
                "--frames-out",
                str(d / "out" / "rq.tsv"),
                "--max-excluded-fraction",
                "0.5",
            ],
            "",
            _report("out/rq.json", "label_encoding"),
        ),
        Case(
            "data check",
            "a JPEG label saved as .png (tolerated share)",
            [
                *check,
                "--dataset",
                "gta",
                "--root",
                str(d / "gta_jpeg"),
                "--report",
                str(d / "out" / "jp.json"),
                "--frames-out",
                str(d / "out" / "jp.tsv"),
                "--max-excluded-fraction",
                "0.5",
            ],
            "",
            _report("out/jp.json", "label_encoding"),
        ),
        Case(
            "data check",
            "a label whose palette an editor re-quantised (over the limit)",
            [*check, "--dataset", "gta", "--root", str(d / "gta_requantised"), *out],
            "label_encoding: 1",
        ),
        Case(
            "data check",
            "Cityscapes labels holding trainIds",
            [*check, "--dataset", "cityscapes", "--split", "train", "--root", str(d / "cs_trainids"), *out],
            "trainIds (0..18, 255 = ignore) where labelIds belong",
        ),
        Case(
            "data check",
            "Cityscapes split folder absent",
            [*check, "--dataset", "cityscapes", "--split", "test", "--root", str(d / "cs"), *out],
            "no split folder",
        ),
        Case(
            "data check",
            "Cityscapes without --split",
            [*check, "--dataset", "cityscapes", "--root", str(d / "cs"), *out],
            "--split is required",
        ),
        Case(
            "data check",
            "--max-excluded-fraction not a number",
            [*check, "--dataset", "gta", "--root", str(d / "gta"), *out, "--max-excluded-fraction", "1%"],
            "invalid float value",
        ),
        # splits
        Case(
            "splits",
            "source frame list missing",
            [
                *splits,
                "--source",
                str(d / "none.tsv"),
                "--target",
                str(d / "frames.tsv"),
                "--translator-target",
                "1",
                "--regime",
                "2k=1",
            ],
            "none.tsv does not exist",
        ),
        Case(
            "splits",
            "more frames asked than the list has",
            [
                *splits,
                "--source",
                str(d / "frames.tsv"),
                "--target",
                str(d / "frames.tsv"),
                "--translator-target",
                "50",
                "--regime",
                "2k=1",
            ],
            "needs 50 frames",
        ),
        Case(
            "splits",
            "a negative count",
            [
                *splits,
                "--source",
                str(d / "frames.tsv"),
                "--target",
                str(d / "frames.tsv"),
                "--translator-target",
                "1",
                "--regime",
                "2k=-1",
            ],
            "must not be negative",
        ),
        Case(
            "splits",
            "regime without a count",
            [
                *splits,
                "--source",
                str(d / "frames.tsv"),
                "--target",
                str(d / "frames.tsv"),
                "--translator-target",
                "1",
                "--regime",
                "2k",
            ],
            "expected NAME=COUNT",
        ),
        Case(
            "splits",
            "regime count not a number",
            [
                *splits,
                "--source",
                str(d / "frames.tsv"),
                "--target",
                str(d / "frames.tsv"),
                "--translator-target",
                "1",
                "--regime",
                "2k=many",
            ],
            "expected NAME=COUNT",
        ),
        Case(
            "splits",
            "a frame list with the wrong header",
            [
                *splits,
                "--source",
                str(d / "badheader.tsv"),
                "--target",
                str(d / "frames.tsv"),
                "--translator-target",
                "1",
                "--regime",
                "2k=1",
            ],
            "expected a TSV header",
        ),
        # translator training
        Case("train", "unknown model", [*train, "--model", "sg-gan"], "unknown translator model 'sg-gan'"),
        Case(
            "train",
            "--params not JSON",
            [*train, "--model", "sggan", "--params", "{epochs: 3}"],
            "--params: not valid JSON",
        ),
        Case(
            "train",
            "--params not an object",
            [*train, "--model", "sggan", "--params", "[3]"],
            "params must be a mapping",
        ),
        Case(
            "train",
            "a boolean given as a string",
            [*train, "--model", "sggan", "--params", '{"use_gradient_loss": "false"}'],
            "use_gradient_loss must be true or false, got 'false'",
        ),
        Case(
            "train",
            "an integer given as a string",
            [*train, "--model", "sggan", "--params", '{"epochs": "6"}'],
            "epochs must be a whole number, got '6'",
        ),
        Case(
            "train",
            "an integer given as a fraction",
            [*train, "--model", "cyclegan", "--params", '{"epochs": 2.5}'],
            "epochs must be a whole number, got 2.5",
        ),
        Case(
            "train",
            "a size of the wrong length",
            [*train, "--model", "sggan", "--params", '{"crop_size": [256]}'],
            "crop_size must be a list of 2",
        ),
        Case(
            "train",
            "a negative learning rate",
            [*train, "--model", "cyclegan", "--params", '{"lr": -0.1}'],
            "lr must not be negative",
        ),
        Case(
            "train",
            "crop larger than the load size",
            [*train, "--model", "cyclegan", "--params", '{"load_size": [64, 64], "crop_size": [128, 128]}'],
            "exceeds load_size",
        ),
        Case(
            "train",
            "crop not a multiple of what the generator needs",
            [*train, "--model", "sggan", "--params", '{"load_size": [300, 300], "crop_size": [300, 300]}'],
            "must be a multiple of 256",
        ),
        Case(
            "train",
            "unknown parameter",
            [*train, "--model", "sggan", "--params", '{"epoch": 3}'],
            "unknown parameter(s) ['epoch']",
        ),
        Case(
            "train",
            "source frame list missing",
            [*train[:2], str(d / "none.tsv"), *train[3:], "--model", "identity"],
            "none.tsv does not exist",
        ),
        # adaptation
        Case(
            "adapt",
            "unknown model",
            [*adapt, "--model", "nope", "--working-size", "16", "32"],
            "unknown translator model",
        ),
        Case(
            "adapt",
            "frame list missing",
            [*adapt[:2], str(d / "none.tsv"), *adapt[3:], "--model", "identity", "--working-size", "16", "32"],
            "none.tsv does not exist",
        ),
        Case(
            "adapt",
            "a shard outside the shard count",
            [*adapt, "--model", "identity", "--working-size", "16", "32", "--shard", "3", "--num-shards", "2"],
            "--shard 3 is out of range",
        ),
        Case(
            "adapt",
            "a working size the generator cannot take",
            [*adapt, "--model", "sggan", "--working-size", "100", "200", "--run-dir", str(d / "out" / "run")],
            "multiple of 256",
        ),
        Case(
            "adapt",
            "a run folder without a trained generator",
            [*adapt, "--model", "sggan", "--working-size", "256", "512", "--run-dir", str(d / "empty_run")],
            "generator.pt",
        ),
        Case(
            "adapt",
            "a corrupt generator.pt",
            [*adapt, "--model", "sggan", "--working-size", "256", "512", "--run-dir", str(d / "corrupt_run")],
            "generator.pt is corrupt or incomplete",
        ),
        Case(
            "adapt",
            "--images: a folder without images",
            ["sggan.adapt", "--model", "identity", "--images", str(d / "no_images"), "--out", str(d / "out" / "mine")],
            "holds no images",
        ),
        Case(
            "adapt",
            "--images: an unreadable image",
            ["sggan.adapt", "--model", "identity", "--images", str(d / "my_frames"), "--out", str(d / "out" / "mine")],
            "broken.png cannot be read",
        ),
        Case(
            "adapt",
            "--images: a run folder without a trained generator",
            [
                "sggan.adapt",
                "--model",
                "sggan",
                "--images",
                str(d / "one_frame"),
                "--run-dir",
                str(d / "empty_run"),
                "--out",
                str(d / "out" / "mine"),
            ],
            "generator.pt does not exist",
        ),
        Case(
            "adapt",
            "--frames without --done",
            [*adapt[:5], "--model", "identity", "--working-size", "16", "32"],
            "--done is required with --frames",
        ),
        Case(
            "adapt",
            "--params not JSON",
            [*adapt, "--model", "identity", "--params", "{", "--working-size", "16", "32"],
            "--params: not valid JSON",
        ),
        # prediction
        Case("predict", "model file missing", [*predict, "--model", str(d / "none.pt")], "none.pt does not exist"),
        Case(
            "predict",
            "model file not a model",
            [*predict, "--model", str(d / "garbage.pt")],
            "garbage.pt is corrupt or incomplete",
        ),
        Case(
            "predict",
            "tile not a multiple of 8",
            [*predict, "--model", str(d / "none.pt"), "--tile", "12"],
            "12 must be a positive multiple of 8",
        ),
        # evaluation
        Case(
            "evaluate",
            "train-id predictions scored as label ids",
            [*evaluate_, "--predictions", str(d / "pred_trainids"), "--ground-truth", gt],
            "looks like train ids, not label ids",
        ),
        Case(
            "evaluate",
            "train-id predictions with --encoding trainid",
            [*evaluate_, "--predictions", str(d / "pred_trainids"), "--ground-truth", gt, "--encoding", "trainid"],
            "",
            lambda d: _same_scores(d / "out" / "scores.json", d / "scores.json"),
        ),
        Case(
            "evaluate",
            "label-id predictions with --encoding trainid",
            [*evaluate_, "--predictions", str(d / "pred"), "--ground-truth", gt, "--encoding", "trainid"],
            "leave out --encoding trainid",
        ),
        Case(
            "evaluate",
            "an unknown --encoding",
            [*evaluate_, "--predictions", str(d / "pred"), "--ground-truth", gt, "--encoding", "color"],
            "invalid choice",
        ),
        Case(
            "evaluate",
            "predictions folder missing",
            [*evaluate_, "--predictions", str(d / "nowhere"), "--ground-truth", gt],
            "prediction folder",
        ),
        Case(
            "evaluate",
            "ground-truth folder missing",
            [*evaluate_, "--predictions", str(d / "pred"), "--ground-truth", str(d / "nowhere")],
            "ground-truth folder",
        ),
        Case(
            "evaluate",
            "a frame without prediction",
            [*evaluate_, "--predictions", str(d / "pred_missing"), "--ground-truth", gt],
            "have no prediction",
        ),
        Case(
            "evaluate",
            "predictions smaller than the ground truth",
            [*evaluate_, "--predictions", str(d / "pred_small"), "--ground-truth", gt],
            "ground truth's size",
        ),
        Case(
            "evaluate",
            "JPEG predictions named .png",
            [*evaluate_, "--predictions", str(d / "pred_jpeg"), "--ground-truth", gt],
            "is a JPEG file, not a PNG",
        ),
        # tables
        Case(
            "tables",
            "Table 2 score file missing",
            [*table2, "--score", f"x={d / 'none.json'}", "--provenance", str(d / "provenance.json")],
            "none.json does not exist; it is written by python -m eval.evaluate",
        ),
        Case(
            "tables",
            "Table 2 score file not JSON",
            [*table2, "--score", f"x={d / 'broken.json'}", "--provenance", str(d / "provenance.json")],
            "is not valid JSON",
        ),
        Case(
            "tables",
            "Table 2 --score without a method name",
            [*table2, "--score", str(d / "scores.json"), "--provenance", str(d / "provenance.json")],
            "expected METHOD",
        ),
        Case(
            "tables",
            "Table 2 scores of a seed the run did not train",
            [*table2, "--score", f"x@5={d / 'scores.json'}", "--provenance", str(d / "provenance.json")],
            "seed",
        ),
        Case(
            "tables",
            "Table 2 provenance missing",
            [*table2, "--score", f"x={d / 'scores.json'}", "--provenance", str(d / "none.json")],
            "none.json does not exist",
        ),
        Case(
            "tables",
            "a scores file given as a KID file",
            [*quality, "--kid", f"x={d / 'scores.json'}", "--provenance", str(d / "provenance.json")],
            "lacks kid/kid_std",
        ),
        Case(
            "tables",
            "Table 1 kit missing",
            [*table1, "--kit", str(d / "nokit"), "--db", str(d / "out" / "a.sqlite")],
            "study.json does not exist",
        ),
        # the A/B app
        Case("A/B app", "port out of range", [*serve, "--kit", str(d / "kit"), "--port", "99999"], "is not a TCP port"),
        Case(
            "A/B app",
            "port already in use",
            [*serve, "--kit", str(d / "kit"), "--port", str(busy_port)],
            "cannot listen on 127.0.0.1",
        ),
        Case("A/B app", "kit missing", [*serve, "--kit", str(d / "nokit")], "does not exist"),
        Case(
            "A/B app",
            "answers database not SQLite",
            ["eval.ab", "serve", "--kit", str(d / "kit"), "--db", str(d / "garbage.sqlite"), "--port", "0"],
            "cannot be opened",
        ),
        Case(
            "A/B app",
            "crowd results file missing",
            [
                "eval.ab",
                "import",
                "--kit",
                str(d / "kit"),
                "--db",
                str(d / "out" / "i.sqlite"),
                "--results",
                str(d / "none.csv"),
            ],
            "none.csv do not exist",
        ),
        Case(
            "A/B app",
            "a pair without a second method",
            [
                "eval.ab",
                "kit",
                "--frames",
                str(d / "frames.tsv"),
                "--adapted",
                f"a={d / 'adapted' / 'a'}",
                "--pair",
                "a",
                "--num",
                "1",
                "--size",
                "16",
                "32",
                "--seed",
                "0",
                "--out",
                str(d / "out" / "kit"),
            ],
            "expected A:B",
        ),
        # the workflow's config, read by snakemake -n
        Case(
            "config",
            "a boolean given as a string",
            ["snakemake"],
            "use_gradient_loss must be true or false",
            config={"translators": {"x": {**sggan, "params": {"use_gradient_loss": "false"}}}},
        ),
        Case(
            "config",
            "an integer given as a string",
            ["snakemake"],
            "epochs must be a whole number, got '6'",
            config={"translators": {"x": {**sggan, "params": {"epochs": "6"}}}},
        ),
        Case(
            "config",
            "unknown translator model",
            ["snakemake"],
            "unknown translator model 'sg-gan'",
            config={"translators": {"x": {"model": "sg-gan", "regime": "2k"}}},
        ),
        Case(
            "config",
            "crop not a multiple of what the generator needs",
            ["snakemake"],
            "must be a multiple of 256",
            config={"translators": {"x": {**sggan, "params": {"load_size": [300, 300], "crop_size": [300, 300]}}}},
        ),
        Case(
            "config",
            "an A/B pair naming no configured translator",
            ["snakemake"],
            "ab_study.pairs[0]",
            config={"ab_study": {"pairs": [{"a": "sggan-2k", "b": "nope"}]}},
        ),
        Case(
            "config",
            "a working size the generator cannot take",
            ["snakemake"],
            "working_size",
            config={"adaptation": {"working_size": [100, 200]}},
        ),
        Case(
            "config",
            "a real data root that does not exist",
            ["snakemake"],
            "nowhere",
            config={
                "toy_world": {"enabled": False},
                "data": {"gta_root": str(d / "nowhere"), "cityscapes_root": str(d / "nowhere")},
            },
        ),
    ]


def _same_scores(written: Path, expected: Path) -> None:
    ours, reference = json.loads(written.read_text()), json.loads(expected.read_text())
    assert ours["class_iou"] == reference["class_iou"] and ours["pixel_acc"] == reference["pixel_acc"]


# ------------------------------------------------------------------------------------------ running
def _merged(base: dict, changes: dict) -> dict:
    merged = dict(base)
    for key, value in changes.items():
        merged[key] = _merged(base.get(key, {}), value) if isinstance(value, dict) and key != "translators" else value
    if "translators" in changes:
        merged["translators"] = {**base["translators"], **changes["translators"]}
    return merged


def run_case(case: Case, d: Path, index: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    if case.argv[0] == "snakemake":
        workdir = d / "workflows" / str(index)
        workdir.mkdir(parents=True)
        config = _merged(yaml.safe_load((REPO / "config.yaml").read_text()), case.config)
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
        command = [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(workdir),
            "--cores",
            "1",
            "all",
        ]
    else:
        command = [sys.executable, "-m", *case.argv]
    return subprocess.run(command, capture_output=True, text=True, cwd=d, env=env, timeout=600)


ERROR_LINE = re.compile(r"^(error: |[\w. -]+: error: )")


def what_the_user_sees(case: Case, done: subprocess.CompletedProcess, d: Path, port: int) -> str:
    """The error line (or, for the workflow, Snakemake's message line), paths shortened."""
    lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    if case.expect:
        shown = next((line for line in lines if case.expect in line), lines[-1] if lines else "")
    else:
        shown = f"exit 0: {lines[-1] if lines else ''}"
    shown = shown.replace(str(d) + "/", "").replace(str(d), ".").replace(str(REPO) + "/", "")
    shown = shown.replace(f":{port}", ":PORT")
    return shown.replace("|", "\\|")


def check_case(case: Case, done: subprocess.CompletedProcess, d: Path) -> list[str]:
    output = done.stderr + done.stdout
    problems = []
    if "Traceback (most recent call last)" in output:
        problems.append("a traceback")
    if not case.expect:
        if done.returncode != 0:
            problems.append(f"exit {done.returncode}, expected 0")
        else:
            try:
                case.handled(d)
            except AssertionError as err:
                problems.append(f"wrong outcome: {err}")
    elif case.argv[0] == "snakemake":
        error_lines = [line for line in output.splitlines() if line.startswith("error: ")]
        if done.returncode == 0:
            problems.append("snakemake -n accepted it")
        if len(error_lines) != 1:
            problems.append(f"{len(error_lines)} error lines")
        elif case.expect not in error_lines[0]:
            problems.append(f"no {case.expect!r} in the error line")
    else:
        error_lines = [line for line in done.stderr.splitlines() if ERROR_LINE.match(line)]
        if done.returncode != 2:
            problems.append(f"exit {done.returncode}, expected 2")
        if len(error_lines) != 1:
            problems.append(f"{len(error_lines)} error lines")
        elif case.expect not in error_lines[0]:
            problems.append(f"no {case.expect!r} in the error line")
    return [f"{case.area}: {case.mistake}: {p}\n    {output.strip()[-1500:]}" for p in problems]


def render_table(rows: list[tuple[Case, str]]) -> str:
    lines = [
        "# Bad inputs and what the user sees",
        "",
        "Generated by `tests/test_bad_inputs.py`, which runs each case through the real command line "
        "(`python -m ...`, or `snakemake -n` for the workflow's config) and checks it: a user mistake "
        "exits with code 2 and one `error:` line and no traceback (Snakemake: refused when it reads "
        "the workflow, before any job), or is handled correctly (exit 0, checked outcome). "
        "Rewrite it with `SGGAN_WRITE_BAD_INPUTS=1 pytest tests/test_bad_inputs.py`.",
        "",
        "| area | mistake | what the user sees |",
        "|---|---|---|",
    ]
    lines += [
        f"| {case.area} | {case.mistake} | `{shown}` |"
        if case.expect
        else f"| {case.area} | {case.mistake} | handled: {shown} |"
        for case, shown in rows
    ]
    return "\n".join(lines) + "\n"


@pytest.mark.slow
def test_bad_inputs_are_refused_with_one_line_or_handled(inputs):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        all_cases = cases(inputs, busy.getsockname()[1])
        assert len(all_cases) >= 50
        (inputs / "out").mkdir(exist_ok=True)
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda ic: run_case(ic[1], inputs, ic[0]), enumerate(all_cases)))
        port = busy.getsockname()[1]
    problems = [p for case, done in zip(all_cases, results) for p in check_case(case, done, inputs)]
    assert not problems, "\n".join(problems)
    table = render_table(
        [(case, what_the_user_sees(case, done, inputs, port)) for case, done in zip(all_cases, results)]
    )
    if os.environ.get("SGGAN_WRITE_BAD_INPUTS"):
        TABLE.write_text(table)
    assert TABLE.exists() and TABLE.read_text() == table, (
        f"{TABLE} is out of date; rewrite it with SGGAN_WRITE_BAD_INPUTS=1 pytest {Path(__file__).name}"
    )
