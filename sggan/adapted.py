"""Where a translator writes each adapted frame, and the check that a folder holds them all.

Kept apart from :mod:`sggan.adaptation` (which needs torch) so that the jobs that only gather
adapted folders start without importing torch, about 2 CPU s each.
"""

from __future__ import annotations

from pathlib import Path

from sggan.data.io import Frame, image_size


def output_path(out_dir: Path, frame: Frame) -> Path:
    return Path(out_dir) / f"{frame.id}.png"


def verify_adapted(frames: list[Frame], out_dir: Path) -> list[str]:
    """Problems with the adapted frames: missing outputs, or sizes that differ from the label's."""
    problems = []
    for frame in frames:
        path = output_path(out_dir, frame)
        if not path.exists():
            problems.append(f"{frame.id}: missing {path}")
            continue
        got, want = image_size(path), image_size(frame.label)
        if got != want:
            problems.append(f"{frame.id}: {path} is {got[1]}x{got[0]}, its label {frame.label} is {want[1]}x{want[0]}")
    return problems
