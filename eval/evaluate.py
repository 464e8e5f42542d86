"""Score label-id predictions against Cityscapes ground truth (``gtFine/val``).

Same matching and the same numbers as cityscapesscripts' evalPixelLevelSemanticLabeling
(class IoU per class and averaged), plus pixel and class accuracy, computed from the sum of the
frames' confusion matrices, which worker threads compute image by image with one 2-D histogram each.

    python -m eval.evaluate --predictions DIR --ground-truth gtFine/val --out scores.json [--workers N]

The command also writes each frame's confusion matrix beside the scores (``scores.frames.npz``),
which ``eval.bootstrap`` resamples for Table 2's confidence intervals.

A ground-truth frame ``{city}_{seq}_{frame}_gtFine_labelIds.png`` is matched by the one
prediction PNG, anywhere under DIR, whose name starts with ``{city}_{seq}_{frame}`` (as
cityscapesscripts' ``{city}_{seq}_{frame}*.png``). Predictions hold Cityscapes label ids, as
grey or palette PNGs of the ground truth's size; ``--encoding trainid`` reads train ids (0..18,
255 = unlabeled) instead. Predictions that look like the other encoding are refused, naming the
flag: scored as label ids, train-id predictions would give about 0 IoU.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from eval.ground_truth import GT_SUFFIX, open_ground_truth, read_label_ids
from eval.metrics import fold_label_histogram, label_id_histogram, out_of_range_ids, scores
from sggan.cli import run
from sggan.data.io import DataError, atomic_write, atomic_write_text
from sggan.data.labels import IGNORE, LABEL_TO_TRAIN, MAX_LABEL_ID, NUM_CLASSES, TRAIN_CLASSES, TRAIN_TO_LABEL
from sggan.progress import tqdm

_LISTED = 10  # names shown in an error before "... and N more"
ENCODINGS = ("labelid", "trainid")
# Label ids that a label-id prediction of the 19 evaluated classes never holds (void classes,
# parking, rail track, guard rail, bridge, tunnel, polegroup), though they are train ids of
# common classes (sidewalk, building, ..., sky): a prediction of only values 0..18 with one of
# them is train ids.
_NOT_PREDICTED_LABEL_IDS = [i for i in range(1, NUM_CLASSES) if LABEL_TO_TRAIN[i] == IGNORE]


def frame_key(path: Path) -> str | None:
    """``{city}_{seq}_{frame}`` of a Cityscapes-style file name, None if the name has fewer parts."""
    parts = path.name[: -len(".png")].split("_")
    return "_".join(parts[:3]) if len(parts) >= 3 else None


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_LISTED])
    return shown + (f" ... and {len(items) - _LISTED} more" if len(items) > _LISTED else "")


def match_predictions(pred_dir: Path, frames: list[str]) -> tuple[dict[str, Path], int]:
    """Exactly one prediction per frame, or a DataError naming every missing and duplicated frame.

    Returns the matches and how many prediction files matched no frame (not an error: a
    prediction folder may cover more than the evaluated split).
    """
    if not pred_dir.is_dir():
        raise DataError(f"prediction folder {pred_dir} does not exist")
    wanted = set(frames)
    found: dict[str, list[Path]] = {}
    unused = 0
    for path in sorted(pred_dir.rglob("*.png")):
        key = frame_key(path)
        if key in wanted:
            found.setdefault(key, []).append(path)
        else:
            unused += 1
    missing = [key for key in frames if key not in found]
    duplicated = [f"{key} ({', '.join(str(p) for p in paths)})" for key, paths in found.items() if len(paths) > 1]
    problems = []
    if missing:
        problems.append(
            f"{len(missing)} of {len(frames)} ground-truth frames have no prediction "
            f"{{frame}}*.png under {pred_dir}: {_listing(missing)}"
        )
    if duplicated:
        problems.append(
            f"{len(duplicated)} frames have several predictions (keep one per frame): {_listing(sorted(duplicated))}"
        )
    if problems:
        raise DataError("; ".join(problems))
    return {key: paths[0] for key, paths in found.items()}, unused


def encoding_problem(pred_counts: np.ndarray, encoding: str, pred_path: str) -> str | None:
    """Why a prediction's values (counts per uint8 value) are not in ``encoding``, or None."""
    present = np.flatnonzero(pred_counts)
    if encoding == "trainid":
        bad = [int(v) for v in present if NUM_CLASSES <= v < IGNORE]
        if bad:
            return (
                f"prediction {pred_path} holds values {bad[:8]} that are not train ids (0..18, 255 = unlabeled): "
                "it looks like label ids; leave out --encoding trainid (the default is labelid)"
            )
        return None
    is_train_id = (present < NUM_CLASSES) | (present == IGNORE)
    telltale = [int(v) for v in present if v in _NOT_PREDICTED_LABEL_IDS]
    if is_train_id.all() and telltale:
        return (
            f"prediction {pred_path} looks like train ids, not label ids: all its values are 0..18 or 255, "
            f"with {telltale[:5]}, which no label-id prediction holds; pass --encoding trainid "
            "(or write label ids)"
        )
    return None


def train_ids_as_label_ids(histogram: np.ndarray) -> np.ndarray:
    """A (gt label id, predicted train id) histogram as (gt label id, predicted label id); 255 -> 0."""
    as_label_ids = np.zeros_like(histogram)
    for train_id in range(NUM_CLASSES):
        as_label_ids[:, TRAIN_TO_LABEL[train_id]] += histogram[:, train_id]
    as_label_ids[:, 0] += histogram[:, IGNORE]
    return as_label_ids


def image_confusion(pred_path: str, ground_truth, key: str, encoding: str) -> np.ndarray:
    """Train-id confusion matrix of one prediction against frame ``key`` of the ground truth
    (:func:`eval.ground_truth.open_ground_truth`); runs in a worker."""
    pred, gt = read_label_ids(Path(pred_path)), ground_truth.read(key)
    if pred.shape != gt.shape:
        raise DataError(
            f"prediction {pred_path} is {pred.shape[1]}x{pred.shape[0]} but ground truth "
            f"{ground_truth.name(key)} is {gt.shape[1]}x{gt.shape[0]}; predictions must be written at "
            "the ground truth's size"
        )
    histogram = label_id_histogram(gt, pred)
    problem = encoding_problem(histogram.sum(axis=0), encoding, pred_path)
    if problem:
        raise DataError(problem)
    if encoding == "trainid":
        histogram = train_ids_as_label_ids(histogram)
    gt_bad, pred_bad = out_of_range_ids(histogram)
    if gt_bad:
        raise DataError(
            f"ground truth {ground_truth.name(key)} holds ids {gt_bad} above {MAX_LABEL_ID}; "
            f"it is not a *{GT_SUFFIX} file"
        )
    if pred_bad:
        raise DataError(
            f"prediction {pred_path} holds ids {pred_bad} above {MAX_LABEL_ID}; predictions "
            "must be Cityscapes label ids (map train ids back, and 255 to 0 'unlabeled')"
        )
    return fold_label_histogram(histogram)


def default_workers() -> int:
    return min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def frame_confusions(
    predictions: list[str], ground_truth, encoding: str, workers: int, progress: bool = True
) -> np.ndarray:
    """(frames, 19, 20) int64: the train-id confusion matrix of each prediction against the
    ground truth's frame of the same position (``ground_truth.frames``).

    Kept per frame (not only summed) so that a bootstrap can resample validation frames.
    """
    conf = np.zeros((len(predictions), NUM_CLASSES, NUM_CLASSES + 1), dtype=np.int64)
    bar = tqdm(total=len(predictions), desc="evaluate", unit="image", disable=not progress, file=sys.stderr)

    def confusion(i: int) -> np.ndarray:
        return image_confusion(predictions[i], ground_truth, ground_truth.frames[i], encoding)

    if workers <= 1:
        for i in range(len(predictions)):
            conf[i] = confusion(i)
            bar.update()
    else:
        # threads, not processes: OpenCV's decoding and histogram release the GIL, and threads
        # cost no process start-up or pickling (which made 2 processes slower than 1 on 2 cores)
        with ThreadPoolExecutor(workers) as pool:
            for i, image_conf in enumerate(pool.map(confusion, range(len(predictions)))):
                conf[i] = image_conf
                bar.update()
    bar.close()
    return conf


def _json_number(value: float) -> float | None:
    return None if math.isnan(value) else value  # JSON has no NaN; null marks "class not present"


def evaluate_frames(
    predictions: str | os.PathLike,
    ground_truth: str | os.PathLike,
    workers: int | None = None,
    progress: bool = True,
    encoding: str = "labelid",
) -> tuple[dict, list[str], np.ndarray]:
    """Scores of a prediction folder against a gtFine split folder (or its decoded file, see
    :mod:`eval.ground_truth`), as written to the JSON file, with the frames' keys (sorted) and
    their confusion matrices (frames, 19, 20)."""
    pred_dir = Path(predictions)
    gt = open_ground_truth(ground_truth)
    matches, unused = match_predictions(pred_dir, gt.frames)
    if unused:
        print(
            f"evaluate: {unused} PNG files under {pred_dir} match no ground-truth frame and were not used",
            file=sys.stderr,
        )
    per_frame = frame_confusions(
        [str(matches[key]) for key in gt.frames], gt, encoding, workers or default_workers(), progress
    )
    result = {
        **score_record(per_frame.sum(axis=0)),
        "num_images": len(gt.frames),
        "predictions": str(pred_dir),
        "ground_truth": gt.source,
        "encoding": encoding,
    }
    return result, gt.frames, per_frame


def evaluate(
    predictions: str | os.PathLike,
    ground_truth: str | os.PathLike,
    workers: int | None = None,
    progress: bool = True,
    encoding: str = "labelid",
) -> dict:
    """Scores of a prediction folder against a gtFine split folder, as written to the JSON file."""
    return evaluate_frames(predictions, ground_truth, workers, progress, encoding)[0]


def score_record(conf: np.ndarray) -> dict:
    """The scores of a (19, 20) confusion matrix with its void column, as written to the JSON files."""
    result = scores(conf)
    return {
        "pixel_acc": _json_number(result["pixel_acc"]),
        "class_acc": _json_number(result["class_acc"]),
        "class_iou": _json_number(result["class_iou"]),
        "per_class_iou": {k: _json_number(v) for k, v in result["per_class_iou"].items()},
        "per_class_acc": {k: _json_number(v) for k, v in result["per_class_acc"].items()},
        "classes": TRAIN_CLASSES,
        "confusion_matrix": conf[:, :NUM_CLASSES].tolist(),
        # per ground-truth class, pixels predicted as a label that is not evaluated (void,
        # parking...): misses that no column of confusion_matrix shows
        "void_predictions": conf[:, NUM_CLASSES].tolist(),
        "num_pixels": int(conf.sum()),
    }


def _format(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def write_scores(path: str | os.PathLike, result: dict) -> None:
    atomic_write_text(path, json.dumps(result, indent=1) + "\n")


def frame_confusions_path(score_path: str | os.PathLike) -> Path:
    """Where the per-frame confusion matrices of a score file live: beside it, ``{stem}.frames.npz``."""
    path = Path(score_path)
    return path.with_name(path.name.removesuffix(".json") + ".frames.npz")


def write_frame_confusions(path: str | os.PathLike, frames: list[str], per_frame: np.ndarray) -> None:
    """``frames`` (the frame keys) and ``confusion`` (frames, 19, 20) int64, compressed: the
    matrices are mostly zeros (a few kB per frame before compression)."""

    def write(tmp):
        with open(tmp, "wb") as f:  # a file object: savez would append .npz to a name
            np.savez_compressed(f, frames=np.array(frames), confusion=per_frame.astype(np.int64))

    atomic_write(Path(path), write)


def read_frame_confusions(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    try:
        with np.load(path) as data:
            frames, conf = [str(f) for f in data["frames"]], data["confusion"]
    except FileNotFoundError:
        raise DataError(f"{path} does not exist; it is written by python -m eval.evaluate") from None
    except (OSError, ValueError, KeyError) as err:
        raise DataError(f"{path} is not a per-frame confusion file of python -m eval.evaluate ({err})") from err
    if conf.shape != (len(frames), NUM_CLASSES, NUM_CLASSES + 1) or conf.dtype != np.int64:
        raise DataError(
            f"{path} holds {conf.dtype} matrices of shape {conf.shape}; expected "
            f"({len(frames)}, {NUM_CLASSES}, {NUM_CLASSES + 1}) int64"
        )
    return frames, conf


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m eval.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--predictions", required=True, help="folder of label-id PNGs, searched recursively")
    parser.add_argument(
        "--ground-truth",
        required=True,
        help="Cityscapes gtFine/val (or any gtFine split folder), or its .npz of python -m eval.ground_truth",
    )
    parser.add_argument(
        "--out",
        required=True,
        help="JSON file of scores to write; the per-frame confusion "
        "matrices (for the bootstrap of eval.table2) go beside it, as {stem}.frames.npz",
    )
    parser.add_argument("--workers", type=int, default=None, help="decoding threads (default: min(8, CPUs))")
    parser.add_argument(
        "--encoding",
        choices=ENCODINGS,
        default="labelid",
        help="what prediction pixels hold: Cityscapes label ids (default) or train ids (0..18, 255 = unlabeled)",
    )
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result, frames, per_frame = evaluate_frames(
        args.predictions, args.ground_truth, args.workers, progress=not args.no_progress, encoding=args.encoding
    )
    # the per-frame file first: the score file is the stage's sign that both are complete
    write_frame_confusions(frame_confusions_path(args.out), frames, per_frame)
    write_scores(args.out, result)
    summary = ", ".join(
        f"{name} {_format(result[key])}"
        for name, key in (("pixel acc", "pixel_acc"), ("class acc", "class_acc"), ("class IoU", "class_iou"))
    )
    print(f"evaluate: {result['num_images']} images: {summary} -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run(main)
