"""The code version that results and run folders record."""

from __future__ import annotations

import os
import subprocess
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "sggan-benchmark"
REPO_ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def code_version() -> str:
    """``git describe --always --dirty`` of this checkout; else $SGGAN_CODE_VERSION, which a copy
    without git (a container image, a copied tree) can be given at build time; else the installed
    package's version."""
    toplevel = _git("rev-parse", "--show-toplevel")
    # only our own checkout counts: an installed copy may sit inside some unrelated repository
    if toplevel and Path(toplevel).resolve() == REPO_ROOT:
        described = _git("describe", "--always", "--dirty")
        if described:
            return described
    if os.environ.get("SGGAN_CODE_VERSION"):
        return os.environ["SGGAN_CODE_VERSION"]
    try:
        return f"{DISTRIBUTION} {metadata.version(DISTRIBUTION)}"
    except metadata.PackageNotFoundError:
        return f"{DISTRIBUTION} (unknown version)"
