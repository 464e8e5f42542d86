import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]

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
        return (self.root / "cityscapes" / "gtFine" / "train" / self.city
                / f"{self.cityscapes_id}_gtFine_labelIds.png")


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
