"""`python -m sggan.adapt --images DIR`: a user's own frames, without labels, translated by every
translator of the registry (each trained GAN from a tiny run folder made by its real training
path), each written as {stem}.png at its own size, equal to what the frame-list mode writes."""

import json
import shlex
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import GAN_TINY, REPO, write_frames

from sggan.adapt import main as adapt_main
from sggan.cli import UserError
from sggan.data.io import Frame, image_size, read_image, write_frame_list, write_image, write_label_ids
from sggan.translators import available, build_translator

CPU = torch.device("cpu")
# one training step is enough: the test is about the adaptation path, not what the networks learned
ONE_STEP = {"epochs": 1, "max_iterations_per_epoch": 1}
# sizes of a user's frames: none equal, none a multiple of a generator's size multiple; one a JPEG
USER_IMAGES = {"a.png": (30, 50), "b.jpg": (21, 37), "c.png": (40, 24)}

# An external program: inverts each image, resized to its frame's label size.
INVERT_SCRIPT = """
import csv, sys
from pathlib import Path
from PIL import Image, ImageOps
with open(sys.argv[1], newline="") as f:
    for row in csv.DictReader(f, delimiter="\\t"):
        image = ImageOps.invert(Image.open(row["image"]).convert("RGB"))
        image.resize(Image.open(row["label"]).size).save(Path(sys.argv[2], row["id"] + ".png"))
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, tuple[dict, Path | None]]:
    """model -> (params, run folder) for every translator in the registry."""
    root = tmp_path_factory.mktemp("trained")
    source, target = write_frames(root / "v", 2, True, 0), write_frames(root / "r", 2, False, 1)
    script = root / "invert.py"
    script.write_text(INVERT_SCRIPT)
    translators = {
        "identity": ({}, None),
        "external": ({"adapt_command": f"{shlex.quote(sys.executable)} {script} {{frames}} {{out}}"}, None),
    }
    for model, params in GAN_TINY.items():
        params = {**params, **ONE_STEP}
        build_translator(model, params).train(source, target, root / model, CPU, seed=0)
        translators[model] = (params, root / model)
    return translators


@pytest.fixture
def user_images(tmp_path) -> Path:
    folder = tmp_path / "mine"
    rng = np.random.default_rng(0)
    for name, size in USER_IMAGES.items():
        rgb = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        if name.endswith(".jpg"):
            folder.mkdir(exist_ok=True)
            cv2.imwrite(str(folder / name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        else:
            write_image(folder / name, rgb)
    (folder / "notes.txt").write_text("not an image: left alone")
    return folder


def adapt_args(model, params, run_dir, *rest):
    args = ["--model", model, "--params", json.dumps(params), "--device", "cpu", *map(str, rest)]
    return args + (["--run-dir", str(run_dir)] if run_dir is not None else [])


def test_every_translator_in_the_registry_is_covered(trained):
    assert sorted(trained) == available()


@pytest.mark.parametrize("model", available())
def test_a_folder_is_translated_at_each_images_size_as_the_frame_list_mode_does(model, trained, user_images, tmp_path):
    params, run_dir = trained[model]
    adapt_main(adapt_args(model, params, run_dir, "--images", user_images, "--out", tmp_path / "out"))

    outputs = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert outputs == ["a.png", "b.png", "c.png"]
    for name, size in USER_IMAGES.items():
        assert image_size(tmp_path / "out" / f"{Path(name).stem}.png") == size

    # the same images as a frame list, each with a label of its size, at the folder mode's working size
    frames = []
    for name, size in USER_IMAGES.items():
        label = tmp_path / "labels" / f"{Path(name).stem}.png"
        write_label_ids(label, np.full(size, 7, np.uint8))
        frames.append(Frame(Path(name).stem, user_images / name, label))
    write_frame_list(tmp_path / "frames.tsv", frames)
    translator = build_translator(model, params)
    working = translator.default_working_size() or (16, 16)  # identity and the program take none
    adapt_main(
        adapt_args(model, params, run_dir, "--frames", tmp_path / "frames.tsv", "--out", tmp_path / "listed")
        + ["--working-size", str(working[0]), str(working[1]), "--done", str(tmp_path / "done.tsv")]
    )
    for frame in frames:
        folder_mode, list_mode = (
            read_image(tmp_path / "out" / f"{frame.id}.png"),
            read_image(tmp_path / "listed" / f"{frame.id}.png"),
        )
        np.testing.assert_array_equal(folder_mode, list_mode)
    if model == "identity":  # a PNG is passed on as it is, a JPEG decoded into a PNG
        np.testing.assert_array_equal(read_image(tmp_path / "out/a.png"), read_image(user_images / "a.png"))
        np.testing.assert_array_equal(read_image(tmp_path / "out/b.png"), read_image(user_images / "b.jpg"))
    if model == "external":
        np.testing.assert_array_equal(read_image(tmp_path / "out/c.png"), 255 - read_image(user_images / "c.png"))


def test_the_default_working_size_is_the_training_load_size_at_the_generators_multiple():
    # SG-GAN tiny: load 20x36, a depth-3 U-Net takes multiples of 8: 20/8 = 2.5 -> 2 (half to even), 36/8 = 4.5 -> 4
    assert build_translator("sggan", GAN_TINY["sggan"]).default_working_size() == (16, 32)
    assert build_translator("sggan", {}).default_working_size() == (256, 512)  # the paper's training size
    assert build_translator("identity", {}).default_working_size() is None


def test_a_rerun_translates_only_the_missing_outputs(trained, user_images, tmp_path):
    params, run_dir = trained["sggan"]
    args = adapt_args("sggan", params, run_dir, "--images", user_images, "--out", tmp_path / "out")
    adapt_main(args)
    kept = tmp_path / "out/a.png"
    write_image(kept, np.zeros((30, 50, 3), np.uint8))  # marks a finished output
    (tmp_path / "out/c.png").unlink()
    adapt_main(args)
    assert read_image(kept).max() == 0  # not redone
    assert image_size(tmp_path / "out/c.png") == USER_IMAGES["c.png"]


def test_an_unreadable_image_is_refused_before_any_work(trained, user_images, tmp_path):
    (user_images / "broken.png").write_bytes(b"not a png")
    params, run_dir = trained["sggan"]
    with pytest.raises(UserError, match="broken.png cannot be read"):
        adapt_main(adapt_args("sggan", params, run_dir, "--images", user_images, "--out", tmp_path / "out"))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "case, match",
    [
        ("empty folder", "holds no images"),
        ("same stem twice", "would both be written as a.png"),
        ("out is the input folder", "outputs would replace the inputs"),
        ("no trained generator", "generator.pt does not exist"),
        ("no run folder", "needs --run-dir"),
        ("other params", "was trained with other settings"),
        ("frame list without --done", "--done is required with --frames"),
    ],
)
def test_user_errors(case, match, trained, user_images, tmp_path):
    params, run_dir = trained["sggan"]
    images, out = user_images, tmp_path / "out"
    if case == "empty folder":
        images = tmp_path / "empty"
        images.mkdir()
    elif case == "same stem twice":
        write_image(images / "a.jpg", np.zeros((4, 4, 3), np.uint8))
    elif case == "out is the input folder":
        out = images
    elif case == "no trained generator":
        run_dir = tmp_path / "untrained"
        run_dir.mkdir()
    elif case == "no run folder":
        run_dir = None
    elif case == "other params":
        params = {**params, "ngf": 8}
    args = adapt_args("sggan", params, run_dir, "--images", images, "--out", out)
    if case == "frame list without --done":
        args = adapt_args(
            "sggan", params, run_dir, "--frames", tmp_path / "f.tsv", "--out", out, "--working-size", 8, 8
        )
    with pytest.raises(UserError, match=match):
        adapt_main(args)


def test_the_command_line_says_one_error_line(trained, tmp_path):
    params, _ = trained["cyclegan"]
    (tmp_path / "empty").mkdir()
    completed = subprocess.run(
        [sys.executable, "-m", "sggan.adapt", *adapt_args("cyclegan", params, tmp_path, "--images", tmp_path / "empty")]
        + ["--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines() == [
        f"error: --images {tmp_path / 'empty'} holds no images (.png, .jpg, .jpeg, .bmp, .tif, .tiff, .webp)"
    ]
