import csv
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from sggan.data.io import Frame, write_frame_list, write_image, write_label_ids
from sggan.data.labels import LABEL_ID

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "workflow" / "configs" / "paper.yaml"
# paper.yaml's KID/FID network needs the published weights file, checked when the workflow is read;
# paper runs on fake data have none here and take random weights (tests/test_kid.py tests that mode)
WITHOUT_STANDARD_INCEPTION = "quality:\n  kid_weights: random\n"

# Two CPU cores in CI: one torch thread per test process keeps timings predictable.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")


def skip_reason(report) -> str:
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    return reason.removeprefix("Skipped: ")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true, a skipped ``required_in_ci`` test is a failure: CI must not lose it silently."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and in_ci() and item.get_closest_marker("required_in_ci") is not None:
        report.outcome = "failed"
        report.longrepr = f"required in CI (CI={os.environ['CI']}) but skipped: {skip_reason(report)}"


def pytest_terminal_summary(terminalreporter):
    """Every skipped test and why, under its own heading at the very end of the run."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    terminalreporter.section(f"{len(skipped)} tests skipped", sep="!", yellow=True, bold=True)
    for report in skipped:
        terminalreporter.line(f"SKIPPED {report.nodeid}: {skip_reason(report)}")


@dataclass(frozen=True)
class SampleFiles:
    """One GTA-V frame and one Cityscapes train frame, full size, in the datasets' on-disk formats."""

    root: Path  # holds gta/ and cityscapes/
    gta_id: str
    city: str
    cityscapes_id: str

    @property
    def gta_image(self) -> Path:
        return self.root / "gta" / "images" / f"{self.gta_id}.png"

    @property
    def gta_label(self) -> Path:
        return self.root / "gta" / "labels" / f"{self.gta_id}.png"

    @property
    def cityscapes_image(self) -> Path:
        return self.root / "cityscapes" / "leftImg8bit" / "train" / self.city / f"{self.cityscapes_id}_leftImg8bit.png"

    @property
    def cityscapes_label(self) -> Path:
        return self.root / "cityscapes" / "gtFine" / "train" / self.city / f"{self.cityscapes_id}_gtFine_labelIds.png"


# the real sample files beside the checkout (../shared/fixtures/README.md)
SHARED_SAMPLES = SampleFiles(REPO.parent / "shared" / "fixtures", "00005", "aachen", "aachen_000000_000019")


@pytest.fixture
def shared_fixtures() -> Path:
    """The real sample files alone (skipped when absent), for their own measured values; tests of
    formats and paths take ``sample_files``, which also runs on the toy world."""
    if not SHARED_SAMPLES.root.is_dir():
        pytest.skip(f"{SHARED_SAMPLES.root} is not present")
    return SHARED_SAMPLES.root


@pytest.fixture(scope="session")
def toy_samples(tmp_path_factory) -> SampleFiles:
    """The toy world's stand-ins for the real sample files: scale 1 (1914x1052 and 2048x1024), the
    same formats and folder layout; made once per session (about 10 s)."""
    from sggan.data.toyworld import cityscapes_name, generate_toy_world

    root = tmp_path_factory.mktemp("toy_full_size")
    generate_toy_world(root, seed=0, scale=1, gta_frames=1, cityscapes_train=1, cityscapes_val=0)
    city, stem = cityscapes_name("train", 0)
    return SampleFiles(root, "00001", city, stem)


@pytest.fixture(params=["shared", "toy"])
def sample_files(request) -> SampleFiles:
    """Each test runs on the real sample files (skipped when ../shared is absent, as in a user's
    clone) and on their toy-world twins (never skipped)."""
    if request.param == "toy":
        return request.getfixturevalue("toy_samples")
    if not SHARED_SAMPLES.root.is_dir():
        pytest.skip(f"{SHARED_SAMPLES.root} is not present (the toy-world twin of this test runs)")
    return SHARED_SAMPLES


@pytest.fixture
def built_translator():
    """A factory: ``(model, params, seed)`` -> the registry's translator with its networks,
    optimisers and pools built on the CPU, after seeding torch with ``seed``."""
    from sggan.translators import build_translator

    def build(model: str, params: dict, seed: int = 0):
        torch.manual_seed(seed)
        translator = build_translator(model, params)
        translator.build(torch.device("cpu"), seed=0)
        return translator

    return build


# Helpers that several test modules share.

# SG-GAN's tiny settings: a few iterations of networks a few channels wide.
SGGAN_TINY = {
    "epochs": 2,
    "max_iterations_per_epoch": 3,
    "generator_depth": 3,
    "ngf": 4,
    "ndf": 4,
    "load_size": [20, 36],
    "crop_size": [16, 32],
    "pool_size": 2,
    "alpha_beta_switch_epoch": 1,
    "checkpoint_every": 2,
    "sample_every": 2,
    "workers": 0,
}


TINY_COMMON = {
    "epochs": 2,
    "max_iterations_per_epoch": 3,
    "load_size": [20, 36],
    "crop_size": [16, 32],
    "checkpoint_every": 2,
    "sample_every": 2,
    "workers": 0,
}
# every GAN translator's tiny settings
GAN_TINY = {
    "sggan": SGGAN_TINY,
    # the reference 70x70 PatchGAN needs 24 pixels or more per side
    "cyclegan": {
        **TINY_COMMON,
        "load_size": [28, 52],
        "crop_size": [24, 48],
        "ngf": 4,
        "ndf": 4,
        "blocks": 2,
        "pool_size": 2,
    },
    "dualgan": {**TINY_COMMON, "ngf": 4, "ndf": 4, "generator_depth": 3, "lr": 1e-3},
    "simgan": {
        **TINY_COMMON,
        "refiner_width": 4,
        "refiner_blocks": 1,
        "d_widths": [4, 4, 4, 4],
        "pool_size": 2,
        "pretrain_refiner_steps": 1,
        "pretrain_discriminator_steps": 1,
    },
    "bigan": {**TINY_COMMON, "ngf": 4, "ndf": 4, "depth": 2, "code_channels": 3},
}


def street(rng, height, width, virtual):
    """A tiny street: sky over building over road, a car; flat colours in the virtual style."""
    label = np.full((height, width), LABEL_ID["road"], np.uint8)
    horizon = height // 3 + int(rng.integers(-2, 3))
    label[:horizon] = LABEL_ID["sky"]
    label[horizon : horizon + height // 4] = LABEL_ID["building"]
    left = int(rng.integers(0, width - 8))
    label[-height // 4 :, left : left + 8] = LABEL_ID["car"]
    colours = {
        LABEL_ID["sky"]: (90, 160, 250),
        LABEL_ID["building"]: (180, 120, 90),
        LABEL_ID["road"]: (140, 140, 140),
        LABEL_ID["car"]: (220, 30, 30),
    }
    image = np.zeros((height, width, 3), np.uint8)
    for label_id, colour in colours.items():
        image[label == label_id] = colour if virtual else tuple(int(c * 0.7) for c in colour)
    if not virtual:
        image = np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)
    return image, label


def write_frames(folder, count, virtual, seed):
    """``count`` tiny street frames in the virtual (GTA-like, palette labels) or real style."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(count):
        height, width = (22, 40) if virtual else (24, 48)
        image, label = street(rng, height, width, virtual)
        if virtual and i == 0:  # a GTA-like quirk: image and label sizes differ
            image = np.ascontiguousarray(image[:-2, :-3])
        frame = Frame(f"{i:03d}", folder / "images" / f"{i:03d}.png", folder / "labels" / f"{i:03d}.png")
        write_image(frame.image, image)
        write_label_ids(frame.label, label, palette=virtual)
        frames.append(frame)
    return frames


def read_log(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


IDS = np.array([7, 8, 26, 23, 21, 0], dtype=np.uint8)  # road, sidewalk, car, sky, vegetation, unlabeled
SIZES = [(24, 40), (16, 32), (20, 28)]


def write_segmentation_frames(folder, sizes=SIZES):
    """Three random frames of a few classes, of different sizes, and their frame list."""
    frames = []
    for k, (height, width) in enumerate(sizes):
        rng = np.random.default_rng(k)
        label = IDS[rng.integers(0, len(IDS), (height, width))]
        write_image(folder / f"{k}.png", rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        write_label_ids(folder / f"{k}_label.png", label, palette=True)
        frames.append(Frame(f"city_000000_00000{k}", folder / f"{k}.png", folder / f"{k}_label.png"))
    write_frame_list(folder / "frames.tsv", frames)
    return folder / "frames.tsv"


def segmentation_args(frame_list, out, iterations=4, **extra):
    """`python -m segmentation.train` arguments of a tiny front-end run; ``extra`` adds or, with
    None, removes flags."""
    options = {
        "--frames": frame_list,
        "--run-dir": out,
        "--arch": "frontend",
        "--iterations": iterations,
        "--batch-size": 2,
        "--crop": 8,
        "--lr": 1e-3,
        "--width": 1 / 32,
        "--seed": 3,
        "--device": "cpu",
        "--init": "scratch",
        "--checkpoint-every": 2,
        "--log-every": 1,
        **extra,
    }
    return [
        str(x)
        for key, value in options.items()
        if value is not None
        for x in ([key] if value is True else [key, value])
    ]


def fake_real_data(root: Path, samples) -> tuple[Path, Path]:
    """GTA-V and Cityscapes roots in their real layouts, built from sample files (conftest.SampleFiles):
    the wiring tests take the toy world's, which are always there."""
    gta, cityscapes = root / "gta", root / "cityscapes"
    shutil.copytree(samples.root / "gta", gta)
    shutil.copytree(samples.root / "cityscapes", cityscapes)
    return gta, cityscapes


def cityscapes_reference(pred_dir: Path, gt_dir: Path) -> dict:
    """cityscapesscripts' own evaluator on the same files, with its own prediction matching."""
    from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling as cs

    args = cs.CArgs()
    vars(args).update(vars(cs.args))  # a private copy: the module's args is a global
    args.evalInstLevelScore = False  # needs *_instanceIds.png, and nIoU is not ours
    args.JSONOutput, args.quiet = False, True
    args.predictionPath, args.predictionWalk = str(pred_dir), None
    gt_list = sorted(str(p) for p in gt_dir.rglob("*_gtFine_labelIds.png"))
    pred_list = [cs.getPrediction(args, gt) for gt in gt_list]
    return cs.evaluateImgLists(pred_list, gt_list, args)


def make_frame(root: Path, frame_id: str, image_hw, label_hw, seed=0) -> Frame:
    """A random GTA-like frame (palette label) whose image and label sizes may differ."""
    rng = np.random.default_rng(seed)
    image = root / "images" / f"{frame_id}.png"
    label = root / "labels" / f"{frame_id}.png"
    write_image(image, rng.integers(0, 256, (*image_hw, 3), dtype=np.uint8))
    write_label_ids(label, rng.integers(0, 34, label_hw, dtype=np.uint8), palette=True)
    return Frame(frame_id, image, label)


def dry_run(workdir: Path, *args: str, target: tuple[str, ...] = ("all",)) -> subprocess.CompletedProcess:
    """`snakemake -n -p` of the workflow in ``workdir`` (its config.yaml), stdout and stderr together."""
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "-n",
        "-p",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "8",
        *target,
        *args,
    ]
    return subprocess.run(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
