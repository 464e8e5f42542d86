"""Speed of eval.evaluate against cityscapesscripts' evaluator on the same synthetic frames.

    python benchmarks/bench_evaluate.py [--frames 50] [--height 1024] [--width 2048] [--workers N] [--repeats 3]

Writes a gtFine/val tree (with Pillow, as the dataset's PNGs are written) and predictions (with
the writer of segmentation.predict) of piecewise-constant label maps, compressing like real label
PNGs unlike per-pixel noise, to a temporary folder. Times, best of a few interleaved runs:
cityscapesscripts from the folders; ours from the folders; decoding the ground truth once
(python -m eval.ground_truth, as the workflow does for all of Table 2's evaluations) and ours per
evaluation from that file. Checks that all agree and appends a row to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from benchmarks.results_log import append_row, card, commit, machine, now  # noqa: E402
from eval.evaluate import default_workers, evaluate  # noqa: E402
from eval.ground_truth import decode  # noqa: E402
from sggan.data.io import write_label_ids  # noqa: E402

SECTION = "## Cityscapes evaluation (`benchmarks/bench_evaluate.py`)"
TABLE_HEADER = (
    "| date | machine | card | commit | frames | frame size | workers | ground truth decoded once (s) "
    "| ours per evaluation (s) | ours from the folders (s) | cityscapesscripts (s) | speed-up per evaluation |"
)
CITIES = ("frankfurt", "lindau", "munster")


def blocky_labels(rng: np.random.Generator, height: int, width: int, cells: tuple[int, int]) -> np.ndarray:
    small = rng.integers(0, 34, size=cells, dtype=np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)


def make_frames(root: Path, frames: int, height: int, width: int, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    gt_dir, pred_dir = root / "gtFine" / "val", root / "pred"
    for n in range(frames):
        city = CITIES[n % len(CITIES)]
        key = f"{city}_{n:06d}_000019"
        gt = blocky_labels(rng, height, width, (32, 64))
        wrong = blocky_labels(rng, height, width, (48, 96)) > 22  # about a third of the pixels
        pred = np.where(wrong, blocky_labels(rng, height, width, (24, 48)), gt)
        (gt_dir / city).mkdir(parents=True, exist_ok=True)
        Image.fromarray(gt).save(gt_dir / city / f"{key}_gtFine_labelIds.png")
        write_label_ids(pred_dir / f"{key}_leftImg8bit.png", pred)
    return pred_dir, gt_dir


def run_cityscapesscripts(pred_dir: Path, gt_dir: Path) -> dict:
    from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling as cs

    args = cs.CArgs()
    vars(args).update(vars(cs.args))
    args.evalInstLevelScore, args.JSONOutput, args.quiet = False, False, True
    args.predictionPath, args.predictionWalk = str(pred_dir), None
    gt_list = sorted(str(p) for p in gt_dir.rglob("*_gtFine_labelIds.png"))
    pred_list = [cs.getPrediction(args, gt) for gt in gt_list]
    return cs.evaluateImgLists(pred_list, gt_list, args)


def cityscapes_compiled() -> bool:
    from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling as cs

    return bool(cs.CSUPPORT)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--height", type=int, default=1024)
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--workers", type=int, default=None, help="default: min(8, CPUs)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each evaluator; the best counts")
    parser.add_argument("--no-log", action="store_true", help="print only, do not append to RESULTS.md")
    args = parser.parse_args(argv)
    workers = args.workers or default_workers()
    with tempfile.TemporaryDirectory(prefix="bench_evaluate_") as tmp:
        pred_dir, gt_dir = make_frames(Path(tmp), args.frames, args.height, args.width)
        decoded = Path(tmp) / "val_labels.npz"
        # interleaved repeats, best of each: other jobs on a shared machine only ever add time
        t_theirs = t_folders = t_decode = t_ours = math.inf
        for _ in range(args.repeats):
            theirs, seconds = timed(run_cityscapesscripts, pred_dir, gt_dir)
            t_theirs = min(t_theirs, seconds)
            from_folders, seconds = timed(evaluate, pred_dir, gt_dir, workers, progress=False)
            t_folders = min(t_folders, seconds)
            t_decode = min(t_decode, timed(decode, gt_dir, decoded, workers)[1])
            ours, seconds = timed(evaluate, pred_dir, decoded, workers, progress=False)
            t_ours = min(t_ours, seconds)
    for name, result in (("from the folders", from_folders), ("per evaluation", ours)):
        if not math.isclose(result["class_iou"] / 100, theirs["averageScoreClasses"], abs_tol=1e-6):
            raise SystemExit(
                f"evaluators disagree: ours {name} {result['class_iou'] / 100}, "
                f"cityscapesscripts {theirs['averageScoreClasses']}"
            )
    row = [
        now(),
        machine(),
        card(),
        commit(),
        str(args.frames),
        f"{args.height}x{args.width}",
        str(workers),
        f"{t_decode:.2f}",
        f"{t_ours:.2f}",
        f"{t_folders:.2f}",
        f"{t_theirs:.2f}" + (" (Cython)" if cityscapes_compiled() else ""),
        f"{t_theirs / t_ours:.1f}x",
    ]
    print(" | ".join(row))
    if not args.no_log:
        append_row(row, TABLE_HEADER, SECTION)
    return 0


if __name__ == "__main__":
    sys.exit(main())
