"""Image and label files: reading with clear errors, atomic writing, frame lists.

A *frame list* is a TSV with the header ``id image label``: one frame per line, paths as
written by the data stage. Every stage after the data stage reads only frame lists, so toy
and real datasets (and adapted copies of them) are interchangeable.
"""
from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from sggan.cli import UserError
from sggan.data.labels import PALETTE

cv2.setNumThreads(1)  # decoding runs in DataLoader workers; one thread each avoids oversubscription


class DataError(UserError):
    """Bad or missing input data; the message names the file and the fix."""


@dataclass(frozen=True)
class Frame:
    id: str
    image: Path
    label: Path


def read_frame_list(path: str | os.PathLike) -> list[Frame]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"frame list {path} does not exist; it is written by the pipeline's data stage")
    with path.open(newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        if reader.fieldnames != ["id", "image", "label"]:
            raise DataError(f"{path}: expected a TSV header 'id<TAB>image<TAB>label', got {reader.fieldnames}")
        return [Frame(row["id"], Path(row["image"]), Path(row["label"])) for row in reader]


def write_frame_list(path: str | os.PathLike, frames: list[Frame]) -> None:
    lines = ["id\timage\tlabel"] + [f"{f.id}\t{f.image}\t{f.label}" for f in frames]
    atomic_write_text(path, "\n".join(lines) + "\n")


def shard(frames: list[Frame], index: int, count: int) -> list[Frame]:
    """Frames of shard ``index`` of ``count``: every count-th frame, so shards are balanced."""
    if not 0 <= index < count:
        raise ValueError(f"shard {index} out of range for {count} shards")
    return frames[index::count]


def remove_stale(outputs: list[Path], newer_than: Path | None) -> int:
    """Delete outputs older than ``newer_than`` (the weights that made them), so that outputs of
    retrained weights are redone rather than skipped as finished; returns how many."""
    if newer_than is None or not Path(newer_than).exists():
        return 0
    cutoff = Path(newer_than).stat().st_mtime
    stale = [p for p in outputs if p.exists() and p.stat().st_mtime < cutoff]
    for path in stale:
        path.unlink()
    return len(stale)


def atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp" + path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text))


def read_image(path: str | os.PathLike) -> np.ndarray:
    """RGB uint8 array (H, W, 3)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"image {path} does not exist")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise DataError(f"image {path} cannot be decoded (corrupt or not an image); "
                        "re-extract it from the dataset archive")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_label(path: str | os.PathLike) -> np.ndarray:
    """Label-id map (H, W) uint8: palette indices of a "P" PNG, or the values of a grey PNG."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"label {path} does not exist")
    try:
        with Image.open(path) as img:
            if img.mode not in ("P", "L"):
                raise DataError(f"label {path} has mode {img.mode}; expected a palette ('P') or "
                                "grey ('L') PNG of label ids (Cityscapes: use *_gtFine_labelIds.png)")
            return np.asarray(img, dtype=np.uint8).copy()
    except DataError:
        raise
    except Exception as err:  # PIL raises several types for truncated or non-image files
        raise DataError(f"label {path} cannot be decoded ({err}); re-extract it from the dataset archive") from err


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(height, width) from the file header, without decoding the pixels."""
    try:
        with Image.open(path) as img:
            width, height = img.size
    except FileNotFoundError:
        raise DataError(f"{path} does not exist") from None
    except Exception as err:
        raise DataError(f"{path} cannot be read ({err})") from err
    return height, width


def write_image(path: str | os.PathLike, rgb: np.ndarray) -> None:
    """Write an RGB uint8 image atomically as PNG."""
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    atomic_write(Path(path), lambda tmp: _imwrite(tmp, bgr))


def write_label_ids(path: str | os.PathLike, label_ids: np.ndarray, palette: bool = False) -> None:
    """Write a label-id map atomically: grey PNG (Cityscapes style) or palette PNG (GTA-V style)."""
    img = Image.fromarray(np.ascontiguousarray(label_ids, dtype=np.uint8))
    if palette:
        img.putpalette(PALETTE.reshape(-1).tolist())  # turns the "L" image into "P", indices kept
    atomic_write(Path(path), lambda tmp: img.save(tmp, format="PNG"))


def _imwrite(path: str, bgr: np.ndarray) -> None:
    if not cv2.imwrite(path, bgr):
        raise OSError(f"could not write {path}")
