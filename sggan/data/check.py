"""Data check: find and resolve the known defects of a dataset before anything trains on it.

POLICY (also written into every report as its "policy" field):

- EXCLUDED, listed in the report by id and reason:
  ``no_label`` / ``no_image`` (the partner file is missing), ``corrupt`` (the image or label
  cannot be decoded), ``blank`` (the image is constant or all black: every channel's standard
  deviation is below 1 grey level), ``label_out_of_range`` (label values above the largest
  Cityscapes label id, 33; the values found are listed), ``label_encoding`` (the label does not
  hold label ids the way its format promises: a GTA-V label must be a palette PNG whose palette
  gives each used index that label id's Cityscapes colour, or an RGB PNG of Cityscapes colours
  only; a JPEG saved as ``.png`` is refused for either dataset), ``train_ids`` (a Cityscapes
  label holding trainIds, 0..18 and 255, where labelIds belong).
- KEPT: image and label of different sizes. The label is the ground-truth geometry, so the
  image is resized to the label's size when it is loaded; such frames are listed under
  "resized". (The real GTA-V set has a few.)
- If more than ``max_excluded_fraction`` (default 1%) of the candidate frames is excluded,
  the check fails with an error naming the report: that many defects means a broken download
  or extraction, not the dataset's known quirks.

Decoding dominates the cost (24,966 full-size GTA-V frames), so frames are checked in a
process pool with a progress bar.
"""

from __future__ import annotations

import argparse
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from sggan.cli import run
from sggan.data.io import (
    DataError,
    Frame,
    LabelEncodingError,
    atomic_write_text,
    decode_label,
    read_image,
    write_frame_list,
)
from sggan.data.labels import LABEL_TO_TRAIN, MAX_LABEL_ID, NUM_LABEL_IDS, PALETTE
from sggan.data.readers import CityscapesRoot, GTA5Root
from sggan.progress import tqdm

BLANK_STD = 1.0
DEFAULT_MAX_EXCLUDED_FRACTION = 0.01
# The "Playing for Data" palette colours label id 4 (static) (20, 20, 20) where cityscapesscripts
# has black (seen in the real label fixtures/gta/labels/00005.png); both are accepted for it.
GTA_PALETTE_VARIANTS = {4: (20, 20, 20)}
# Cityscapes trainIds: 0..18 and 255 (ignore); a labelIds map almost always holds ids 19..33 too.
TRAIN_ID_VALUES = np.zeros(NUM_LABEL_IDS, bool)
TRAIN_ID_VALUES[np.unique(LABEL_TO_TRAIN)] = True
POLICY = (
    "Excluded (listed by id and reason): missing partner file (no_label, no_image), undecodable image "
    "or label (corrupt), constant or all-black image, every channel's std < 1 (blank), label values "
    f"above {MAX_LABEL_ID} (label_out_of_range), a label whose file format, palette or colours do not "
    "encode Cityscapes label ids (label_encoding: GTA-V labels are palette PNGs with the Cityscapes colour "
    "of each used id, or RGB PNGs of Cityscapes colours only), a Cityscapes label of trainIds (train_ids). "
    "Kept: image and label sizes differ; the image is "
    "resized to the label's size at load time (the label is the ground-truth geometry), listed under "
    "'resized'. The check fails if more than max_excluded_fraction of the candidate frames is excluded."
)


def inspect_frame(frame: Frame, max_label_id: int = MAX_LABEL_ID, dataset: str = "cityscapes") -> dict:
    """Decode one frame and describe it: problems that exclude it, sizes, label histogram.

    ``dataset`` says how its label encodes label ids: ``gta`` (palette or colour PNG) or
    ``cityscapes`` (grey labelIds PNG)."""
    result = {"id": frame.id, "problems": [], "image_size": None, "label_size": None, "label_counts": None}
    image = label = None
    try:
        image = read_image(frame.image)
        result["image_size"] = list(image.shape[:2])
    except DataError as err:
        result["problems"].append({"reason": "corrupt", "detail": str(err)})
    try:
        label, mode, palette = decode_label(frame.label)
        result["label_size"] = list(label.shape)
    except LabelEncodingError as err:
        result["problems"].append({"reason": "label_encoding", "detail": str(err)})
    except DataError as err:
        result["problems"].append({"reason": "corrupt", "detail": str(err)})
    if image is not None:
        _, std = cv2.meanStdDev(image)
        if float(std.max()) < BLANK_STD:
            result["problems"].append(
                {
                    "reason": "blank",
                    "detail": f"image {frame.image} is constant "
                    f"(largest channel std {float(std.max()):.2f} < {BLANK_STD})",
                }
            )
    if label is not None:
        counts = np.bincount(label.ravel(), minlength=NUM_LABEL_IDS)
        result["label_counts"] = counts
        bad = [int(v) for v in np.flatnonzero(counts[max_label_id + 1 :]) + max_label_id + 1]
        if bad:
            result["problems"].append(
                {
                    "reason": "label_out_of_range",
                    "values": bad,
                    "detail": f"label {frame.label} has values {bad} above the largest label id {max_label_id}",
                }
            )
        if dataset == "gta":
            problem = gta_encoding_problem(frame.label, mode, palette, counts)
            if problem:
                result["problems"].append({"reason": "label_encoding", "detail": problem})
        elif counts[255] and TRAIN_ID_VALUES[np.flatnonzero(counts)].all():
            result["problems"].append(
                {
                    "reason": "train_ids",
                    "detail": (
                        f"label {frame.label} holds Cityscapes trainIds (values 0..18 and 255), not labelIds; this "
                        "folder must hold the *_gtFine_labelIds.png files of gtFine_trainvaltest.zip"
                    ),
                }
            )
    return result


def gta_encoding_problem(path, mode: str, palette: np.ndarray | None, counts: np.ndarray) -> str | None:
    """Why a GTA-V label does not encode Cityscapes label ids, or None when it does.

    A palette PNG's indices are the ids only if its palette gives each used index that id's
    Cityscapes colour: an image editor that re-quantises the palette keeps a valid-looking PNG
    whose indices mean other classes. An RGB label was already mapped by exact colour.
    """
    if mode in ("RGB", "RGBA"):
        return None
    if mode != "P":
        return (
            f"label {path} is a grey PNG: GTA-V labels are palette PNGs whose palette gives each id its "
            "Cityscapes colour, so a grey label cannot be verified; use the dataset's original label"
        )
    wrong = []
    for index in np.flatnonzero(counts[: MAX_LABEL_ID + 1]):
        colour = tuple(int(c) for c in palette[index]) if index < len(palette) else None
        if colour != tuple(int(c) for c in PALETTE[index]) and colour != GTA_PALETTE_VARIANTS.get(index):
            wrong.append(
                f"index {index} is {colour}, label id {index}'s colour is {tuple(int(c) for c in PALETTE[index])}"
            )
    if wrong:
        return (
            f"label {path} has a palette that does not give the used indices their label ids' Cityscapes "
            f"colours ({'; '.join(wrong[:3])}{'; ...' if len(wrong) > 3 else ''}): an image editor re-quantised "
            "it, so its indices are not label ids; use the dataset's original label"
        )
    return None


def check_frames(
    frames: list[Frame],
    domain_name: str,
    missing: dict[str, list[str]] | None = None,
    workers: int = 1,
    max_label_id: int = MAX_LABEL_ID,
    progress: bool = True,
    dataset: str = "cityscapes",
) -> dict:
    """Inspect every frame and apply the policy; returns the report (JSON-serialisable).

    ``missing`` is a root's ``missing()``: ids without a partner file, excluded as such.
    """
    missing = missing or {}
    excluded = []
    for reason, ids in sorted(missing.items()):
        excluded += [
            {"id": i, "reasons": [reason], "details": [f"{reason.replace('_', ' ')} for frame {i}"]} for i in ids
        ]
    resized = []
    out_of_range_values: dict[int, int] = {}
    pixel_counts = np.zeros(NUM_LABEL_IDS, np.int64)
    frame_counts = np.zeros(NUM_LABEL_IDS, np.int64)
    for result in _inspect_all(frames, domain_name, workers, max_label_id, progress, dataset):
        problems = result["problems"]
        for problem in problems:
            for value in problem.get("values", []):
                out_of_range_values[value] = out_of_range_values.get(value, 0) + 1
        if problems:
            excluded.append(
                {
                    "id": result["id"],
                    "reasons": [p["reason"] for p in problems],
                    "details": [p["detail"] for p in problems],
                }
            )
            continue
        if result["image_size"] != result["label_size"]:
            resized.append({"id": result["id"], "image_size": result["image_size"], "label_size": result["label_size"]})
        pixel_counts += result["label_counts"]
        frame_counts += result["label_counts"] > 0
    candidates = len(frames) + sum(len(ids) for ids in missing.values())
    excluded.sort(key=lambda entry: entry["id"])
    by_reason: dict[str, int] = {}
    for entry in excluded:
        for reason in dict.fromkeys(entry["reasons"]):
            by_reason[reason] = by_reason.get(reason, 0) + 1
    return {
        "domain": domain_name,
        "policy": POLICY,
        "candidates": candidates,
        "pairs": len(frames),
        "kept": candidates - len(excluded),
        "excluded_count": len(excluded),
        "excluded_fraction": len(excluded) / candidates if candidates else 0.0,
        "excluded_by_reason": dict(sorted(by_reason.items())),
        "excluded": excluded,
        "resized": sorted(resized, key=lambda entry: entry["id"]),
        "label_values_out_of_range": {str(v): n for v, n in sorted(out_of_range_values.items())},
        "label_pixel_counts": {str(i): int(n) for i, n in enumerate(pixel_counts) if n},
        "label_frame_counts": {str(i): int(n) for i, n in enumerate(frame_counts) if n},
    }


def _inspect_all(frames: list[Frame], domain_name: str, workers: int, max_label_id: int, progress: bool, dataset: str):
    bar = tqdm(total=len(frames), desc=f"checking {domain_name}", unit="frame", disable=not progress)
    with bar:
        if workers <= 1 or len(frames) < 2:
            for frame in frames:
                yield inspect_frame(frame, max_label_id, dataset)
                bar.update()
            return
        chunk = max(1, min(32, len(frames) // (workers * 8)))  # amortise pickling, keep the bar moving
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for result in pool.map(
                inspect_frame, frames, [max_label_id] * len(frames), [dataset] * len(frames), chunksize=chunk
            ):
                yield result
                bar.update()


def kept_frames(frames: list[Frame], report: dict) -> list[Frame]:
    """The frames the report keeps, in their original order."""
    excluded = {entry["id"] for entry in report["excluded"]}
    return [frame for frame in frames if frame.id not in excluded]


def enforce_policy(report: dict, max_excluded_fraction: float, report_path: str | os.PathLike) -> None:
    """Fail when more frames were excluded than the policy tolerates."""
    if report["excluded_fraction"] > max_excluded_fraction:
        if report["excluded_by_reason"].get("train_ids", 0) > report["candidates"] // 2:
            raise DataError(
                f"{report['domain']}: {report['excluded_by_reason']['train_ids']} of {report['candidates']} labels hold "
                f"Cityscapes trainIds (0..18, 255 = ignore) where labelIds belong (report {report_path}). The "
                f"benchmark reads labelIds: put the *_gtFine_labelIds.png files of gtFine_trainvaltest.zip there, "
                f"not the output of cityscapesscripts' createTrainIdLabelImgs."
            )
        reasons = ", ".join(f"{reason}: {n}" for reason, n in report["excluded_by_reason"].items())
        raise DataError(
            f"{report['domain']}: {report['excluded_count']} of {report['candidates']} frames excluded "
            f"({report['excluded_fraction']:.2%}, more than the allowed {max_excluded_fraction:.2%}; {reasons}). "
            f"The ids and reasons are in the report {report_path}. So many defects usually mean an "
            f"incomplete download or extraction; re-extract the dataset, or raise max_excluded_fraction "
            f"if the exclusions are expected."
        )


def run_check(
    dataset: str,
    root: str | os.PathLike,
    report_path: str | os.PathLike,
    frames_out: str | os.PathLike,
    split: str | None = None,
    max_excluded_fraction: float = DEFAULT_MAX_EXCLUDED_FRACTION,
    workers: int = 1,
    progress: bool = True,
) -> dict:
    """Check a dataset root; write the report, then (if the policy holds) the kept frame list."""
    if dataset == "gta":
        gta = GTA5Root(root)
        frames, missing, domain = gta.frames(), gta.missing(), f"gta ({gta.root})"
        folders = f"{gta.images} and {gta.labels}"
    elif dataset == "cityscapes":
        if split is None:
            raise DataError("checking Cityscapes needs a split (train, val or test)")
        cityscapes = CityscapesRoot(root)
        frames, missing = cityscapes.frames(split), cityscapes.missing(split)
        domain = f"cityscapes {split} ({cityscapes.root})"
        folders = f"{cityscapes.images / split} and {cityscapes.labels / split}"
    else:
        raise DataError(f"unknown dataset {dataset!r}; use 'gta' or 'cityscapes'")
    if not frames:
        raise DataError(
            f"{domain}: no frame has both an image and a label in {folders} "
            f"({len(missing['no_label'])} images without a label, {len(missing['no_image'])} labels "
            f"without an image); extract both the images and the labels there"
        )
    report = check_frames(frames, domain, missing, workers=workers, progress=progress, dataset=dataset)
    report["max_excluded_fraction"] = max_excluded_fraction
    atomic_write_text(report_path, json.dumps(report, indent=1) + "\n")
    enforce_policy(report, max_excluded_fraction, report_path)
    write_frame_list(frames_out, kept_frames(frames, report))
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Check a GTA-V or Cityscapes root and write the kept frame list.", epilog=POLICY
    )
    parser.add_argument("--dataset", choices=["gta", "cityscapes"], required=True)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--split", choices=["train", "val", "test"], help="Cityscapes split folder: train, val or test")
    parser.add_argument("--report", type=Path, required=True, help="JSON report to write")
    parser.add_argument("--frames-out", type=Path, required=True, help="TSV frame list of the kept frames")
    parser.add_argument("--max-excluded-fraction", type=float, default=DEFAULT_MAX_EXCLUDED_FRACTION)
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    if args.dataset == "cityscapes" and not args.split:
        parser.error("--split is required with --dataset cityscapes")
    report = run_check(
        args.dataset, args.root, args.report, args.frames_out, args.split, args.max_excluded_fraction, args.workers
    )
    print(
        f"{report['domain']}: kept {report['kept']} of {report['candidates']} frames, "
        f"excluded {report['excluded_count']} {report['excluded_by_reason'] or ''}, "
        f"{len(report['resized'])} to resize; report {args.report}, frames {args.frames_out}"
    )


if __name__ == "__main__":
    run(main)
