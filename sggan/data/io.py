"""Image and label files: reading with clear errors, atomic writing, frame lists.

A *frame list* is a TSV with the header ``id image label``: one frame per line, paths as
written by the data stage. Every stage after the data stage reads only frame lists, so toy
and real datasets (and adapted copies of them) are interchangeable.
"""

from __future__ import annotations

import csv
import functools
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from sggan.cli import UserError
from sggan.data.labels import MAX_LABEL_ID, PALETTE

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
        raise UserError(f"--shard {index} is out of range for --num-shards {count}; use 0 to {count - 1}")
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


def umask_mode(base: int = 0o666) -> int:
    """``base`` less the process's umask: the mode open() or mkdir() would give a new file or folder.

    Temporary files and folders are created private (0600, 0700); an output renamed from one
    keeps that mode, locking others out of a shared volume or a hosted kit, unless reset to this.
    """
    umask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(umask)
    return base & ~umask


def atomic_write(path: Path, write, fsync: bool = False) -> None:
    """``write(tmp)`` writes a temporary file beside ``path``, which then replaces ``path`` in one
    rename: never a half-written file. ``fsync``: the data reach the disk before the rename (for
    checkpoints, which a crash of the machine must not leave empty)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp" + path.suffix)
    os.close(fd)
    try:
        write(tmp)
        if fsync:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.chmod(tmp, umask_mode())
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
        raise DataError(
            f"image {path} cannot be decoded (corrupt or not an image); re-extract it from the dataset archive"
        )
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class LabelEncodingError(DataError):
    """A label file that decodes but does not hold label ids the way its format promises."""


def decode_label(path: str | os.PathLike) -> tuple[np.ndarray, str, np.ndarray | None]:
    """Label-id map (H, W) uint8, the file's mode, and its palette ((N, 3) uint8) for a "P" PNG.

    A palette PNG gives its indices, a grey PNG its values, an RGB(A) label its colours mapped to
    label ids by exact Cityscapes colour (a colour outside the table is refused). The file's real
    format is read, not its name: a JPEG saved as ``.png`` is refused, as its compression changes
    the ids along every edge.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"label {path} does not exist")
    try:
        with Image.open(path) as img:
            if img.format != "PNG":
                raise LabelEncodingError(
                    f"label {path} is a {img.format} file, not a PNG (lossy compression changes label ids "
                    "along every edge); use the dataset's original PNG"
                )
            if img.mode in ("P", "L"):
                palette = img.getpalette() if img.mode == "P" else None
                ids = np.asarray(img, dtype=np.uint8).copy()
                return ids, img.mode, None if palette is None else np.asarray(palette, np.uint8).reshape(-1, 3)
            if img.mode in ("RGB", "RGBA"):
                return colours_to_ids(np.asarray(img.convert("RGB")), path), img.mode, None
            raise DataError(
                f"label {path} has mode {img.mode}; expected a palette ('P') or grey ('L') PNG of "
                "label ids, or an RGB PNG in Cityscapes colours (Cityscapes: use *_gtFine_labelIds.png)"
            )
    except DataError:
        raise
    except Exception as err:  # PIL raises several types for truncated or non-image files
        raise DataError(f"label {path} cannot be decoded ({err}); re-extract it from the dataset archive") from err


def is_png(path: str | os.PathLike) -> bool:
    """Whether the file starts with the PNG signature (whatever its name says)."""
    try:
        with open(path, "rb") as f:
            return f.read(8) == b"\x89PNG\r\n\x1a\n"
    except OSError:
        return False


def read_label(path: str | os.PathLike) -> np.ndarray:
    """Label-id map (H, W) uint8 of a palette, grey or Cityscapes-colour PNG (see :func:`decode_label`)."""
    return decode_label(path)[0]


@functools.cache
def _colour_lut() -> np.ndarray:
    """24-bit colour -> label id (255: not a Cityscapes colour). Where ids share a colour the
    first wins (black: unlabeled; pole grey: pole), as cityscapesscripts' own conversion does."""
    lut = np.full(1 << 24, 255, np.uint8)
    for label_id in reversed(range(MAX_LABEL_ID + 1)):
        r, g, b = (int(c) for c in PALETTE[label_id])
        lut[(r << 16) | (g << 8) | b] = label_id
    return lut


def colours_to_ids(rgb: np.ndarray, path: str | os.PathLike) -> np.ndarray:
    """Label ids of an RGB label by exact Cityscapes colour; any other colour is refused."""
    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    ids = _colour_lut()[packed]
    unknown = ids == 255
    if unknown.any():
        colours = sorted({tuple(int(c) for c in colour) for colour in rgb[unknown][:10_000]})
        raise LabelEncodingError(
            f"label {path} is an RGB label with {int(unknown.sum())} pixels in colours that are not Cityscapes "
            f"label colours (e.g. {colours[:3]}): it was re-coloured or compressed; use the dataset's original label"
        )
    return ids


# EXIF orientations that turn the stored image by 90 degrees (OpenCV's decoder applies them)
_QUARTER_TURNS = (5, 6, 7, 8)
_EXIF_ORIENTATION = 0x0112


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(height, width) from the file header, without decoding the pixels: as :func:`read_image`
    returns the image, so a camera JPEG stored sideways with an EXIF orientation counts turned."""
    try:
        with Image.open(path) as img:
            width, height = img.size
            if img.getexif().get(_EXIF_ORIENTATION) in _QUARTER_TURNS:
                width, height = height, width
    except FileNotFoundError:
        raise DataError(f"{path} does not exist") from None
    except Exception as err:
        raise DataError(f"{path} cannot be read ({err})") from err
    return height, width


def write_image(path: str | os.PathLike, rgb: np.ndarray) -> None:
    """Write an RGB uint8 image atomically as PNG."""
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    atomic_write(Path(path), lambda tmp: _imwrite(tmp, bgr))


# OpenCV at zlib level 3 writes label maps that decode in about half the time of Pillow's default
# (level 6, adaptive filters) and are no larger: predictions are decoded once per evaluation.
_LABEL_PNG = [cv2.IMWRITE_PNG_COMPRESSION, 3]


def write_label_ids(path: str | os.PathLike, label_ids: np.ndarray, palette: bool = False) -> None:
    """Write a label-id map atomically: grey PNG (Cityscapes style) or palette PNG (GTA-V style)."""
    label_ids = np.ascontiguousarray(label_ids, dtype=np.uint8)
    if palette:
        img = Image.fromarray(label_ids)
        img.putpalette(PALETTE.reshape(-1).tolist())  # turns the "L" image into "P", indices kept
        atomic_write(Path(path), lambda tmp: img.save(tmp, format="PNG"))
    else:
        atomic_write(Path(path), lambda tmp: _imwrite(tmp, label_ids, _LABEL_PNG))


def _imwrite(path: str, bgr: np.ndarray, params: list[int] | None = None) -> None:
    if not cv2.imwrite(path, bgr, params or []):
        raise OSError(f"could not write {path}")
