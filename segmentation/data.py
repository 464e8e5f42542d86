"""Training crops for the front-end, and the normalisation every model input goes through.

Sample ``k`` of a run (``k = iteration * batch_size + position``) is a pure function of
``(seed, k)``: the frame comes from a per-epoch permutation of the frame list and the crop window
and flip from a generator seeded by ``(seed, k)``. So a resumed run sees exactly the samples an
uninterrupted one would, whatever the DataLoader's workers were doing when it was killed.

A crop of ``crop`` (one side for a square, or (height, width)) is the *output* region: its labels (train ids, 255 =
ignore, kept at full resolution) and the image window around it widened by the network's margin,
``crop + 2 * 186`` pixels per side taken from the frame reflect-padded by 186. The network gives
``crop / 8`` scores per side, upsampled x8 for the loss. (The paper's 628x628 input crops are
``crop = 256``.) The label is the ground-truth geometry: an image whose size differs from its
label's is resized to the label's size. Frames smaller than the crop are padded, the labels
with 255 (ignored), the image by reflection.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from sggan.data.io import Frame, read_image, read_label
from sggan.data.labels import IGNORE, to_train_ids
from segmentation.frontend import MARGIN, STRIDE, reflect_index

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


class TrainCrops(Dataset):
    """Map-style dataset indexed by the global sample number ``k`` (see the module docstring)."""

    def __init__(self, frames: list[Frame], crop: int | tuple[int, int], seed: int):
        if not frames:
            raise ValueError("the training frame list is empty")
        crop = (crop, crop) if isinstance(crop, int) else tuple(crop)
        if any(side < STRIDE or side % STRIDE for side in crop):
            raise ValueError(f"crop {crop} must be positive multiples of {STRIDE} (the network's output stride)")
        self.frames = frames
        self.crop = crop
        self.seed = seed
        self._order: tuple[int, np.ndarray] = (-1, np.empty(0, dtype=np.int64))

    def frame_index(self, sample: int) -> int:
        epoch, position = divmod(sample, len(self.frames))
        if self._order[0] != epoch:  # one permutation per epoch, cached: samples arrive in order
            self._order = (epoch, np.random.default_rng([self.seed, 0, epoch]).permutation(len(self.frames)))
        return int(self._order[1][position])

    def __getitem__(self, sample: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, train_ids = read_aligned(self.frames[self.frame_index(sample)])
        rng = np.random.default_rng([self.seed, 1, sample])
        image_crop, label_crop = crop_sample(image, train_ids, self.crop, rng)
        return torch.from_numpy(image_crop), torch.from_numpy(label_crop)


def crop_sample(image: np.ndarray, train_ids: np.ndarray, crop: int | tuple[int, int],
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random window and flip: (crop + 2*MARGIN) x 3 uint8 image, crop uint8 train ids."""
    crop_h, crop_w = (crop, crop) if isinstance(crop, int) else crop
    height, width = train_ids.shape
    top = int(rng.integers(0, max(height - crop_h, 0) + 1))
    left = int(rng.integers(0, max(width - crop_w, 0) + 1))
    flip = bool(rng.random() < 0.5)

    rows = reflect_index(torch.arange(top - MARGIN, top + crop_h + MARGIN), height).numpy()
    cols = reflect_index(torch.arange(left - MARGIN, left + crop_w + MARGIN), width).numpy()
    image_crop = image[rows[:, None], cols[None, :]]
    padded = np.pad(train_ids, ((0, max(crop_h - height, 0)), (0, max(crop_w - width, 0))),
                    constant_values=IGNORE)
    label_crop = padded[top:top + crop_h, left:left + crop_w]
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
