import os
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


@pytest.fixture
def shared_fixtures() -> Path:
    """The real sample files (GTA-V and Cityscapes formats) beside the checkout."""
    path = REPO.parent / "shared" / "fixtures"
    if not path.is_dir():
        pytest.skip(f"{path} is not present")
    return path
