"""Free-space checks before the stages that write hundreds of gigabytes.

Adaptation writes every source frame again: on paper.yaml, 24,966 GTA-V frames per translator,
each 2.8-4.7 MB at full resolution (1914x1052, PNG level 1), so 70-117 GB a translator. A job that
fills the disk midway fails late and leaves other jobs failing too; checking first costs a statfs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sggan.data.io import DataError

# the largest adapted frame measured (4.7 MB at 1914x1052), so estimates are upper bounds
ADAPTED_PNG_BYTES_PER_PIXEL = 4.7e6 / (1914 * 1052)


def adapted_bytes(frames: int, height: int, width: int) -> int:
    """Disk an adaptation of `frames` frames of height x width pixels takes at most."""
    return int(frames * height * width * ADAPTED_PNG_BYTES_PER_PIXEL)


def free_bytes(folder: str | os.PathLike) -> int:
    """Free bytes on the filesystem that holds `folder`, or would hold it once created."""
    path = Path(folder).absolute()
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free


def require_free_space(folder: str | os.PathLike, needed: int, what: str) -> None:
    """Refuse to start when `folder`'s filesystem has less than `needed` bytes free."""
    free = free_bytes(folder)
    if free < needed:
        raise DataError(
            f"{what} needs about {readable(needed)} in {folder}, but its disk has {readable(free)} "
            f"free: free some space there, or run on a larger volume (results/, or shared_dir "
            f"under Kubernetes; README, 'Disk')"
        )


def readable(size: int) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"
