"""Semantic preservation of a translator: does the adapted frame still show its source labels?

    python -m eval.semantic --model results/segmentation/oracle/joint/model.pt \
        --heldout results/splits/heldout_source.tsv --adapted results/adapted/M/frames.tsv \
        --out results/quality/M/semantic.json [--device auto] [--tile N]

The ``oracle`` network, trained on real target frames only, segments each held-out source frame
as the translator adapted it, and its prediction is scored against the frame's *source* labels
(pixel accuracy, class accuracy, class IoU over the 19 Cityscapes classes). This is CycleGAN's
"FCN score" with the benchmark's own network: a translator that turns cars into road, or paints
sky over buildings, loses points however realistic its frames look. Held-out frames were never
seen by the translators, and the oracle never saw a source frame, so neither side is fitted to
the test. The untranslated source frames (``source-only``) give the domain gap as a reference.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from eval.evaluate import score_record
from eval.metrics import confusion_matrix
from segmentation.model import tile_size
from segmentation.predict import iter_predictions, load_model
from sggan.cli import run
from sggan.data.io import DataError, Frame, atomic_write_text, read_frame_list, read_label
from sggan.data.labels import NUM_CLASSES, to_train_ids
from sggan.device import resolve_device


def heldout_adapted(heldout: list[Frame], adapted: list[Frame], adapted_list: str | Path) -> list[Frame]:
    """The adapted frames of the held-out ids, in held-out order."""
    by_id = {f.id: f for f in adapted}
    missing = [f.id for f in heldout if f.id not in by_id]
    if missing:
        raise DataError(
            f"{adapted_list} lacks {len(missing)} held-out frames (first: {missing[0]}); "
            f"it must be the gathered list of every adapted source frame"
        )
    return [by_id[f.id] for f in heldout]


def semantic_confusion(
    model, frames: list[Frame], device, tile: int | None = None, progress: bool = True
) -> np.ndarray:
    """(19, 20) confusion of the model's predictions on the frames' images against their labels."""
    conf = np.zeros((NUM_CLASSES, NUM_CLASSES + 1), dtype=np.int64)
    for frame, train_ids in iter_predictions(
        model, frames, device, progress=progress, tile=tile, desc="semantic preservation"
    ):
        conf += confusion_matrix(to_train_ids(read_label(frame.label)), train_ids.cpu().numpy())
    return conf


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eval.semantic", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="the oracle's model.pt (trained on target frames)")
    parser.add_argument("--heldout", required=True, help="held-out source frame list (TSV)")
    parser.add_argument("--adapted", required=True, help="the translator's gathered adapted frame list (TSV)")
    parser.add_argument("--out", required=True, help="JSON file of scores to write")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--tile", type=tile_size, default=None, help="front-end tiles of N x N pixels (same labels)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    frames = heldout_adapted(read_frame_list(args.heldout), read_frame_list(args.adapted), args.adapted)
    device = resolve_device(args.device)
    model = load_model(Path(args.model), device)
    conf = semantic_confusion(model, frames, device, args.tile, progress=not args.no_progress)
    result = {**score_record(conf), "num_images": len(frames), "model": args.model, "adapted": args.adapted}
    atomic_write_text(args.out, json.dumps(result, indent=1) + "\n")
    print(
        f"semantic: {len(frames)} frames of {args.adapted}: class IoU {result['class_iou']} -> {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    run(main)
