import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]

# Two CPU cores in CI: one torch thread per test process keeps timings predictable.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def shared_fixtures() -> Path:
    """The real sample files (GTA-V and Cityscapes formats) beside the checkout."""
    path = REPO.parent / "shared" / "fixtures"
    if not path.is_dir():
        pytest.skip(f"{path} is not present")
    return path
