"""Cityscapes ground truth decoded once, for every evaluation that scores against it.

Table 2 scores each method and seed against the same 500 validation frames; decoding their PNGs
(Paeth-filtered rows, zlib) is most of an evaluation's time, so the workflow decodes them once
into one uncompressed ``.npz`` and every ``python -m eval.evaluate --ground-truth FILE.npz`` reads
the label-id arrays back at the speed of a file copy. The numbers are those of the folder: the
same arrays, checked by each evaluation as the folder's are.

    python -m eval.ground_truth --ground-truth gtFine/val --out val_labels.npz [--workers N]
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import threading
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from sggan.cli import run
from sggan.data.io import DataError, atomic_write, is_png, read_label

GT_SUFFIX = "_gtFine_labelIds.png"
FORMAT = "sggan-benchmark decoded ground truth v1"


def read_label_ids(path: Path) -> np.ndarray:
    """uint8 label-id map; OpenCV decodes grey PNGs fastest, anything else goes through read_label."""
    if not is_png(path):  # OpenCV would decode a JPEG named .png; read_label refuses it by name
        return read_label(path)
    array = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if array is None or array.ndim != 2:
        return read_label(path)  # palette PNGs, and clear errors for colour or corrupt files
    if array.dtype != np.uint8:
        raise DataError(f"label {path} is {array.dtype}; expected an 8-bit PNG of Cityscapes label ids")
    return array


def find_ground_truth(gt_dir: Path) -> dict[str, Path]:
    """``{city}_{seq}_{frame}`` -> its ``*_gtFine_labelIds.png`` under ``gt_dir``, sorted by key."""
    if not gt_dir.is_dir():
        raise DataError(f"ground-truth folder {gt_dir} does not exist; pass Cityscapes' gtFine/val")
    files = sorted(gt_dir.rglob(f"*{GT_SUFFIX}"))
    if not files:
        raise DataError(f"no *{GT_SUFFIX} files under {gt_dir}; pass Cityscapes' gtFine/val")
    by_frame: dict[str, Path] = {}
    for f in files:
        key = f.name[: -len(GT_SUFFIX)]
        if key in by_frame:
            raise DataError(
                f"frame {key} has two ground-truth files, {by_frame[key]} and {f}; pass one split folder (gtFine/val)"
            )
        by_frame[key] = f
    return dict(sorted(by_frame.items()))


class GroundTruthFolder:
    """The frames of a gtFine split folder: keys, a name for messages, label ids decoded on demand."""

    def __init__(self, gt_dir: str | os.PathLike):
        self.source = str(gt_dir)
        self._files = find_ground_truth(Path(gt_dir))
        self.frames = list(self._files)

    def name(self, key: str) -> str:
        return str(self._files[key])

    def read(self, key: str) -> np.ndarray:
        return read_label_ids(self._files[key])


def _member(index: int) -> str:
    return f"label_{index}"


def write_decoded(path: str | os.PathLike, keys: list[str], labels: Iterable[np.ndarray], source: str) -> None:
    """The label-id maps of ``keys`` (``labels``, in that order) as one uncompressed npz, with the
    keys and their source, written one member at a time as np.savez lays them out: the 500
    frames of Cityscapes val (1 GB decoded) need not be in memory together."""

    def write(tmp):
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            members = [("format", np.array(FORMAT)), ("source", np.array(source)), ("frames", np.array(keys))]
            for name, array in itertools.chain(members, ((_member(i), a) for i, a in enumerate(labels))):
                with archive.open(f"{name}.npy", "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, np.asanyarray(array), allow_pickle=False)

    atomic_write(Path(path), write)


class DecodedGroundTruth:
    """A file of :func:`write_decoded`, read as a :class:`GroundTruthFolder` is.

    Each thread reads through its own handle (a zip member read seeks the shared file).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            with np.load(self.path) as data:
                if "format" not in data.files or str(data["format"]) != FORMAT:
                    raise DataError(
                        f"{self.path} is not a ground-truth file of python -m eval.ground_truth; "
                        "pass a gtFine split folder or such a file"
                    )
                self.frames = [str(key) for key in data["frames"]]
                self.source = str(data["source"])
        except FileNotFoundError:
            raise DataError(f"{self.path} does not exist; write it with python -m eval.ground_truth") from None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
            raise DataError(f"{self.path} cannot be read as decoded ground truth ({err})") from err
        self._index = {key: i for i, key in enumerate(self.frames)}
        self._local = threading.local()

    def name(self, key: str) -> str:
        return f"{key} of {self.path} (decoded from {self.source})"

    def read(self, key: str) -> np.ndarray:
        if not hasattr(self._local, "data"):
            self._local.data = np.load(self.path)
        return self._local.data[_member(self._index[key])]


def open_ground_truth(path: str | os.PathLike) -> GroundTruthFolder | DecodedGroundTruth:
    """A gtFine split folder, or a file of decoded ground truth (``python -m eval.ground_truth``)."""
    if Path(path).is_file() and not str(path).endswith(".npz"):
        raise DataError(f"{path} is neither a gtFine split folder nor a .npz of python -m eval.ground_truth")
    return DecodedGroundTruth(path) if str(path).endswith(".npz") else GroundTruthFolder(path)


def decode(gt_dir: str | os.PathLike, out: str | os.PathLike, workers: int = 1) -> int:
    """Decode every ``*_gtFine_labelIds.png`` under ``gt_dir`` into ``out``; returns the count."""
    folder = GroundTruthFolder(gt_dir)
    chunk = 4 * max(1, workers)  # frames decoded ahead of the writer: a few, never the whole split

    def labels():
        with ThreadPoolExecutor(max(1, workers)) as pool:
            for start in range(0, len(folder.frames), chunk):
                yield from pool.map(folder.read, folder.frames[start : start + chunk])

    write_decoded(out, folder.frames, labels(), folder.source)
    return len(folder.frames)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.ground_truth", description=__doc__.split("\n\n")[0])
    parser.add_argument("--ground-truth", required=True, help="Cityscapes gtFine/val (or any gtFine split folder)")
    parser.add_argument("--out", required=True, help=".npz file to write; eval.evaluate --ground-truth reads it")
    parser.add_argument("--workers", type=int, default=1, help="decoding threads")
    args = parser.parse_args(argv)
    count = decode(args.ground_truth, args.out, args.workers)
    print(f"ground_truth: {count} frames of {args.ground_truth} decoded -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run(main)
