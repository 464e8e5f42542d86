"""Gather adapted frames into one frame list, after checking that every source frame is there.

    python -m sggan.gather --frames results/data/gta.tsv --images results/adapted/M/images \
        --out results/adapted/M/frames.tsv

Each source frame ``id`` must have ``IMAGES/{id}.png`` of exactly its label's size; the list
written pairs those images with the source labels, ready for segmentation training.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sggan.adapted import output_path, verify_adapted
from sggan.cli import run
from sggan.data.io import DataError, Frame, read_frame_list, write_frame_list


def gather(frames: list[Frame], images: Path) -> list[Frame]:
    problems = verify_adapted(frames, images)
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise DataError(
            f"{len(problems)} of {len(frames)} adapted frames in {images} are missing or "
            f"mis-sized:\n  {shown}{more}\nRerun the adaptation jobs; finished frames are kept."
        )
    return [Frame(f.id, output_path(images, f), f.label) for f in frames]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=Path, required=True, help="the source frame list that was adapted")
    parser.add_argument("--images", type=Path, required=True, help="folder of adapted {id}.png")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    write_frame_list(args.out, gather(read_frame_list(args.frames), args.images))


if __name__ == "__main__":
    run(main)
