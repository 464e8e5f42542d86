"""Training samples (image crops, dumped scores) and the normalisation every model input goes through.

Sample ``k`` of a run (``k = iteration * batch_size + position``) is a pure function of
``(seed, k)``: the frame comes from a per-epoch permutation of the frame list and the crop window
and flip from a generator seeded by ``(seed, k)``. So a resumed run sees exactly the samples an
uninterrupted one would, whatever the DataLoader's workers (or the other ranks of a distributed
run) were doing when it was killed.

A crop of ``crop`` (one side for a square, or (height, width)) is the *output* region: its labels
(train ids, 255 = ignore, kept at full resolution) and the image window around it widened by the
network's margin, ``crop + 2 * 186`` pixels per side taken from the frame reflect-padded by 186.
The network gives ``crop / 8`` scores per side, upsampled x8 for the loss. (The paper's 628x628
front-end crops are ``crop = 256``; its joint-training "halves of images", 1396x1396 with the
padding, are ``crop = 1024``.) The label is the ground-truth geometry: an image whose size
differs from its label's is resized to the label's size. Frames smaller than the crop are
padded, the labels with 255 (ignored), the image by reflection.

Class-balanced sampling (``balance=``, off in the paper's setting): sample ``k`` first draws a
class uniformly among those present in the training set, then a frame containing it, then a crop
window containing one of its pixels (all from generators seeded by ``(seed, k)``), so rare
classes are seen as often as frequent ones. The per-frame class counts come from
:mod:`segmentation.class_stats`.

:class:`DumpedScores` serves the context stage: the frozen front-end's scores of whole frames,
written once by :mod:`segmentation.dump`, with their labels at the scores' stride of 8.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from segmentation.frontend import MARGIN, STRIDE, reflect_index
from sggan.data.io import DataError, Frame, read_image, read_label
from sggan.data.labels import IGNORE, to_train_ids

# ImageNet statistics, the ones torchvision's VGG-16 weights were trained with.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def read_aligned(frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    """RGB image resized to its label's size, and the label as train ids."""
    image = read_image(frame.image)
    train_ids = to_train_ids(read_label(frame.label))
    if image.shape[:2] != train_ids.shape:
        height, width = train_ids.shape
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    return image, train_ids


class EpochOrder:
    """Item ``k`` of an endless sequence that visits each of ``n`` items once per epoch, in a
    seeded random order per epoch: ``order[k]`` is a pure function of (seed, k)."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed = n, seed
        self._cached: tuple[int, np.ndarray] = (-1, np.empty(0, dtype=np.int64))

    def __getitem__(self, k: int) -> int:
        epoch, position = divmod(int(k), self.n)
        if self._cached[0] != epoch:  # samples mostly arrive in order: keep this epoch's permutation
            self._cached = (epoch, np.random.default_rng([self.seed, 0, epoch]).permutation(self.n))
        return int(self._cached[1][position])


class TrainCrops(Dataset):
    """Map-style dataset indexed by the global sample number ``k`` (see the module docstring).

    ``balance``: per-frame pixel counts of each class, (frames, classes), for class-balanced
    sampling; None for the plain per-epoch shuffle.
    """

    def __init__(self, frames: list[Frame], crop: int | tuple[int, int], seed: int, balance: np.ndarray | None = None):
        if not frames:
            raise ValueError("the training frame list is empty")
        crop = (crop, crop) if isinstance(crop, int) else tuple(crop)
        if any(side < STRIDE or side % STRIDE for side in crop):
            raise ValueError(f"crop {crop} must be positive multiples of {STRIDE} (the network's output stride)")
        if balance is not None and balance.shape[0] != len(frames):
            raise ValueError(f"class counts for {balance.shape[0]} frames, but {len(frames)} frames to train on")
        self.frames = frames
        self.crop = crop
        self.seed = seed
        self.order = EpochOrder(len(frames), seed)
        self.balance = balance
        if balance is not None:
            self.classes = np.flatnonzero(balance.sum(axis=0) > 0)
            self.frames_with = {int(c): np.flatnonzero(balance[:, c] > 0) for c in self.classes}

    def draw(self, sample: int) -> tuple[int, int | None]:
        """(frame index, class the crop must show or None) of sample ``k``."""
        if self.balance is None:
            return self.order[sample], None
        rng = np.random.default_rng([self.seed, 2, sample])
        focus = int(rng.choice(self.classes))
        return int(rng.choice(self.frames_with[focus])), focus

    def frame_index(self, sample: int) -> int:
        return self.draw(sample)[0]

    def __getitem__(self, sample: int) -> tuple[torch.Tensor, torch.Tensor]:
        frame, focus = self.draw(sample)
        image, train_ids = read_aligned(self.frames[frame])
        rng = np.random.default_rng([self.seed, 1, sample])
        image_crop, label_crop = crop_sample(image, train_ids, self.crop, rng, focus)
        return torch.from_numpy(image_crop), torch.from_numpy(label_crop)


def crop_sample(
    image: np.ndarray,
    train_ids: np.ndarray,
    crop: int | tuple[int, int],
    rng: np.random.Generator,
    focus: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Random window and flip: (crop + 2*MARGIN) x 3 uint8 image, crop uint8 train ids.

    With ``focus`` (a train id) the window contains a random pixel of that class, if the frame has one.
    """
    crop_h, crop_w = (crop, crop) if isinstance(crop, int) else crop
    height, width = train_ids.shape
    low, high = (0, 0), (max(height - crop_h, 0), max(width - crop_w, 0))
    if focus is not None:
        rows, cols = np.nonzero(train_ids == focus)
        if len(rows):
            pick = int(rng.integers(len(rows)))
            # the windows that keep pixel (row, col) inside: top in [row - crop_h + 1, row], within the frame
            low = (max(int(rows[pick]) - crop_h + 1, 0), max(int(cols[pick]) - crop_w + 1, 0))
            high = (min(int(rows[pick]), high[0]), min(int(cols[pick]), high[1]))
    top = int(rng.integers(low[0], high[0] + 1))
    left = int(rng.integers(low[1], high[1] + 1))
    flip = bool(rng.random() < 0.5)

    rows = reflect_index(torch.arange(top - MARGIN, top + crop_h + MARGIN), height).numpy()
    cols = reflect_index(torch.arange(left - MARGIN, left + crop_w + MARGIN), width).numpy()
    image_crop = image[rows[:, None], cols[None, :]]
    padded = np.pad(train_ids, ((0, max(crop_h - height, 0)), (0, max(crop_w - width, 0))), constant_values=IGNORE)
    label_crop = padded[top : top + crop_h, left : left + crop_w]
    if flip:
        image_crop, label_crop = image_crop[:, ::-1], label_crop[:, ::-1]
    return np.ascontiguousarray(image_crop), np.ascontiguousarray(label_crop)


def to_network(images_uint8: torch.Tensor, device: torch.device) -> torch.Tensor:
    """(N, H, W, 3) uint8 RGB -> (N, 3, H, W) float normalised with ImageNet mean and std.

    Batches travel as uint8 (4x less to copy) and are normalised on the device.
    """
    x = images_uint8.to(device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=device).view(1, 3, 1, 1)
    return x.sub_(mean).div_(std).contiguous()


def stride_labels(train_ids: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Labels at the scores' resolution: for score (i, j), the pixel nearest its 8x8 block's centre.

    Row 8i + 4, or the frame's last row for a block that sticks out past the frame (the blocks of
    a frame padded to multiples of 8 all start inside it); likewise for columns.
    """
    height, width = train_ids.shape
    r = np.minimum(np.arange(rows) * STRIDE + STRIDE // 2, height - 1)
    c = np.minimum(np.arange(cols) * STRIDE + STRIDE // 2, width - 1)
    return np.ascontiguousarray(train_ids[r[:, None], c[None, :]])


def score_path(folder: Path, frame_id: str) -> Path:
    """Where segmentation.dump writes a frame's scores."""
    return Path(folder) / f"{frame_id}.pt"


def read_index(folder: str | Path) -> dict:
    """A finished dump's index.json (written last by segmentation.dump)."""
    path = Path(folder) / "index.json"
    if not path.is_file():
        raise DataError(
            f"{path} does not exist: {folder} is not a finished dump; it is written by `python -m segmentation.dump`"
        )
    return json.loads(path.read_text())


class DumpedScores(Dataset):
    """Whole-frame front-end scores and their stride-8 labels, indexed by sample number ``k``.

    Frame ``EpochOrder[k]`` of the dump in ``folder`` (segmentation.dump): (classes, h, w) float16
    scores and (h, w) uint8 train ids. No augmentation: the scores are the front-end's for the
    frame as it was (a mirrored frame would not give mirrored scores at the padded right edge).
    """

    def __init__(self, folder: str | Path, seed: int):
        self.folder = Path(folder)
        self.index = read_index(self.folder)
        self.ids = self.index["frames"]
        self.paths = [score_path(self.folder, frame_id) for frame_id in self.ids]
        self.order = EpochOrder(len(self.ids), seed)

    def __getitem__(self, sample: int) -> tuple[torch.Tensor, torch.Tensor]:
        path = self.paths[self.order[sample]]
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError) as err:
            raise DataError(
                f"dumped scores {path} cannot be read ({err}); delete {self.folder} and dump again"
            ) from err
        return saved["scores"], saved["labels"]


def pad_collate(batch: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Stack score maps of different sizes: (scores, labels, valid), zero scores, ignored labels and
    valid = 0 filling the bottom/right of the smaller ones (ContextModule's ``valid`` argument)."""
    rows = max(scores.shape[-2] for scores, _ in batch)
    cols = max(scores.shape[-1] for scores, _ in batch)
    scores = torch.zeros(len(batch), batch[0][0].shape[0], rows, cols, dtype=batch[0][0].dtype)
    labels = torch.full((len(batch), rows, cols), IGNORE, dtype=torch.uint8)
    valid = torch.zeros(len(batch), 1, rows, cols)
    for i, (frame_scores, frame_labels) in enumerate(batch):
        height, width = frame_scores.shape[-2:]
        scores[i, :, :height, :width] = frame_scores
        labels[i, :height, :width] = frame_labels
        valid[i, :, :height, :width] = 1
    return scores, labels, valid
