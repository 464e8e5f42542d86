"""Deterministic, seeded splits of the checked frame lists.

Target (real) train frames: the first ``heldout_target`` of a seeded permutation are held out for
visual comparison, the next ``translator_target`` train the translators. Source (virtual) frames:
likewise ``heldout_source`` held out, then each regime takes the next N frames, or ``all`` of
them (SG-GAN-25K trains on every GTA-V frame). The paper's 2K regime: 2,000 + 2,000 train,
500 + 500 held out. Frames are sorted by id before the permutation, so the split depends on
the seed and the set of ids only, never on directory listing order.

    python -m sggan.data.splits --source gta.tsv --target cityscapes_train.tsv --seed 0 \
        --translator-target 2000 --heldout-source 500 --heldout-target 500 \
        --regime 2k=2000 --regime 25k=all --out results/splits
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sggan.cli import run
from sggan.data.io import DataError, Frame, read_frame_list, write_frame_list


def seeded_order(frames: list[Frame], seed: int) -> list[Frame]:
    ordered = sorted(frames, key=lambda f: f.id)
    permutation = np.random.default_rng(seed).permutation(len(ordered))
    return [ordered[i] for i in permutation]


def take(frames: list[Frame], start: int, count: int, what: str, source: str) -> list[Frame]:
    if count < 0:
        raise DataError(f"{what}: a count must not be negative, got {count}")
    if start + count > len(frames):
        raise DataError(
            f"{what} needs {count} frames after {start} held out, but {source} has only "
            f"{len(frames)}; lower the count in the config's 'splits' section"
        )
    return frames[start : start + count]


def make_splits(
    source: list[Frame],
    target: list[Frame],
    seed: int,
    translator_target: int,
    heldout_source: int,
    heldout_target: int,
    regimes: dict[str, int | None],
) -> dict[str, list[Frame]]:
    """Named frame lists; a regime's count ``None`` means all source frames."""
    source_order = seeded_order(source, seed)
    target_order = seeded_order(target, seed + 1)  # an independent draw for the other domain
    splits = {
        "heldout_source": take(source_order, 0, heldout_source, "heldout_source", "the source list"),
        "heldout_target": take(target_order, 0, heldout_target, "heldout_target", "the target list"),
        "translator_target": take(
            target_order, heldout_target, translator_target, "translator_target", "the target list"
        ),
    }
    for name, count in regimes.items():
        splits[f"{name}/translator_source"] = (
            sorted(source, key=lambda f: f.id)
            if count is None
            else take(source_order, heldout_source, count, f"regime {name}", "the source list")
        )
    return splits


def parse_regime(text: str) -> tuple[str, int | None]:
    name, sep, count = text.partition("=")
    if not sep or not name or not (count == "all" or count.lstrip("-").isdigit()):
        raise argparse.ArgumentTypeError(f"regime {text!r}: expected NAME=COUNT or NAME=all")
    return name, None if count == "all" else int(count)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, required=True, help="checked source frame list")
    parser.add_argument("--target", type=Path, required=True, help="checked target train frame list")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--translator-target", type=int, required=True)
    parser.add_argument("--heldout-source", type=int, required=True)
    parser.add_argument("--heldout-target", type=int, required=True)
    parser.add_argument("--regime", type=parse_regime, action="append", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    splits = make_splits(
        read_frame_list(args.source),
        read_frame_list(args.target),
        args.seed,
        args.translator_target,
        args.heldout_source,
        args.heldout_target,
        dict(args.regime),
    )
    for name, frames in splits.items():
        write_frame_list(args.out / f"{name}.tsv", frames)


if __name__ == "__main__":
    run(main)
