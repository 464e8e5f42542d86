"""Per-class pixel statistics of a training frame list, computed once and saved as JSON.

    python -m segmentation.class_stats --frames LIST.tsv --out class_stats.json [--workers K]

Each label is decoded once (in K threads) and mapped to train ids. The JSON holds, for
the 19 classes in train-id order: the pixel counts and frequencies over all frames, the number of
frames showing each class, the ignored (255) pixel count, and the per-frame counts
(``per_frame``, in frame-list order, with the frame ids) that class-balanced sampling draws from
(``segmentation.train --class-balanced --class-stats FILE``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from sggan.cli import run
from sggan.data.io import Frame, atomic_write_text, read_frame_list, read_label
from sggan.data.labels import IGNORE, NUM_CLASSES, TRAIN_CLASSES, to_train_ids


def class_counts(train_ids: np.ndarray) -> np.ndarray:
    """Pixels per train id 0..18, then the ignored pixels: (20,) int64."""
    counts = np.bincount(train_ids.ravel(), minlength=IGNORE + 1)
    return np.append(counts[:NUM_CLASSES], counts[IGNORE]).astype(np.int64)


def frame_counts(frame: Frame) -> np.ndarray:
    return class_counts(to_train_ids(read_label(frame.label)))


def compute(frames: list[Frame], workers: int = 0) -> dict:
    # threads: PIL decodes without the GIL, and the job need not import torch (seconds of CPU)
    with ThreadPoolExecutor(max(workers, 1)) as pool:
        counts = list(pool.map(frame_counts, frames))
    per_frame = np.stack(counts) if frames else np.zeros((0, NUM_CLASSES + 1), dtype=np.int64)
    pixels = per_frame[:, :NUM_CLASSES].sum(axis=0)
    return {
        "classes": TRAIN_CLASSES,
        "frames": len(frames),
        "pixels": pixels.tolist(),
        "frequency": (pixels / max(pixels.sum(), 1)).round(8).tolist(),
        "frames_with_class": (per_frame[:, :NUM_CLASSES] > 0).sum(axis=0).tolist(),
        "ignored_pixels": int(per_frame[:, NUM_CLASSES].sum()),
        "frame_ids": [f.id for f in frames],
        "per_frame": per_frame[:, :NUM_CLASSES].tolist(),
    }


def load_balance(path: str | Path, frames: list[Frame]) -> np.ndarray:
    """The (frames, classes) pixel counts of ``path``, checked against the frame list trained on."""
    stats = json.loads(Path(path).read_text())
    if stats["frame_ids"] != [f.id for f in frames]:
        raise ValueError(
            f"{path} was computed for another frame list; recompute it with `python -m segmentation.class_stats`"
        )
    return np.asarray(stats["per_frame"], dtype=np.int64).reshape(len(frames), NUM_CLASSES)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=Path, required=True, help="frame list (TSV: id, image, label)")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--workers", type=int, default=0, help="threads decoding labels (0: one)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    stats = compute(read_frame_list(args.frames), args.workers)
    atomic_write_text(args.out, json.dumps(stats) + "\n")
    rare = sorted(zip(stats["frequency"], stats["classes"]))[:3]
    print(
        f"class statistics of {stats['frames']} frames -> {args.out} in {time.perf_counter() - start:.1f} s; "
        f"rarest: {', '.join(f'{name} {freq:.2e}' for freq, name in rare)}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    run(main)
