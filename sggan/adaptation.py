"""Full-resolution adaptation of source frames, shared by every network translator (its command
line is :mod:`sggan.adapt`).

Each frame is decoded and resized to the working size in DataLoader workers, translated in
batches (bf16 autocast and channels-last on CUDA), resized back to its *label's* size on the
device so that image and label stay pixel-aligned (a frame of a folder of unlabelled images is
its own label, so its output has its size), and PNG-encoded by a pool of writer threads
(OpenCV releases the GIL), so the accelerator never waits on the codec. Outputs are written
atomically; frames whose output already exists are skipped, so a killed job resumes.
"""

from __future__ import annotations

import dataclasses
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from sggan.adapted import output_path
from sggan.config_values import ConfigError
from sggan.data.io import Frame, image_size, read_image, write_image
from sggan.progress import tqdm


@dataclasses.dataclass
class AdaptOptions:
    # (H, W) the network sees; resized back to label size. None: the user gave none and the
    # translator has no default (Translator.default_working_size); only the network path needs one.
    working_size: tuple[int, int] | None
    batch_size: int = 1
    workers: int = 0
    device: torch.device = torch.device("cpu")
    amp: bool = True  # bf16/fp16 autocast on CUDA
    channels_last: bool = True


class _SourceFrames(Dataset):
    def __init__(self, frames: list[Frame], working_size: tuple[int, int]):
        self.frames = frames
        self.working_size = working_size

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int):
        frame = self.frames[index]
        rgb = read_image(frame.image)
        height, width = self.working_size
        if rgb.shape[:2] != (height, width):
            rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)
        label_hw = image_size(frame.label)
        return torch.from_numpy(rgb), torch.tensor(label_hw), index


def _collate(batch):
    images, sizes, indices = zip(*batch)
    return torch.stack(images), torch.stack(sizes), list(indices)


def check_working_size(working_size: tuple[int, int], multiple: int) -> None:
    height, width = working_size
    if height % multiple or width % multiple:
        raise ConfigError(
            f"working size {height}x{width} must be a multiple of {multiple} on both sides "
            f"for this generator; e.g. {nearest_multiple(height, multiple)}x"
            f"{nearest_multiple(width, multiple)}"
        )


def nearest_multiple(side: int, multiple: int) -> int:
    return max(1, round(side / multiple)) * multiple


def to_network(images_uint8: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    """(N,H,W,3) uint8 -> (N,3,H,W) float in [-1, 1] on the device."""
    x = images_uint8.to(device, non_blocking=True).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """(N,3,H,W) in [-1, 1] -> (N,H,W,3) uint8, rounding like the original code's (x+1)*127.5."""
    return images.float().add(1.0).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)


@torch.inference_mode()
def adapt_frames(
    generator: nn.Module,
    frames: list[Frame],
    out_dir: Path,
    options: AdaptOptions,
    size_multiple: int = 1,
    progress: bool = True,
) -> int:
    """Translate every frame whose output is missing; returns how many were written."""
    if options.working_size is None:
        raise ConfigError(
            "this translator records no size it was trained at; give the working size (--working-size H W)"
        )
    check_working_size(options.working_size, size_multiple)
    out_dir = Path(out_dir)
    todo = [f for f in frames if not output_path(out_dir, f).exists()]
    if not todo:
        return 0
    device = options.device
    use_amp = options.amp and device.type == "cuda"
    channels_last = options.channels_last and device.type == "cuda"
    if channels_last:
        generator = generator.to(memory_format=torch.channels_last)
    loader = DataLoader(
        _SourceFrames(todo, tuple(options.working_size)),
        batch_size=options.batch_size,
        num_workers=options.workers,
        collate_fn=_collate,
        pin_memory=device.type == "cuda",
        persistent_workers=False,
        prefetch_factor=4 if options.workers else None,
    )
    writers = ThreadPoolExecutor(max_workers=max(2, options.workers))
    pending = []
    try:
        for images, label_sizes, indices in tqdm(
            loader, desc=f"adapt -> {out_dir}", unit="batch", disable=not progress, file=sys.stderr
        ):
            x = to_network(images, device, channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                y = generator(x)
            # Back to each label's size and to uint8 on the device, then one copy per batch: the
            # host only encodes PNGs.
            for rgb, index in zip(_resize_to_labels(y, label_sizes), indices):
                pending.append(writers.submit(write_image, output_path(out_dir, todo[index]), rgb))
            # keep memory bounded: wait for writes older than a few batches
            while len(pending) > 4 * options.batch_size + options.workers:
                pending.pop(0).result()
        for future in pending:
            future.result()
    finally:
        writers.shutdown(wait=True)
    return len(todo)


def _resize_to_labels(y: torch.Tensor, label_sizes: torch.Tensor) -> list[np.ndarray]:
    """Translated batch -> one RGB uint8 array per frame at its label's (H, W)."""
    sizes = [tuple(size) for size in label_sizes.tolist()]
    if all(size == sizes[0] for size in sizes):  # the common case: one resize for the batch
        groups = [(y, sizes[0])]
    else:
        groups = [(y[k : k + 1], size) for k, size in enumerate(sizes)]
    frames = []
    for batch, size in groups:
        batch = batch.float()
        if batch.shape[-2:] != size:
            batch = F.interpolate(batch, size=size, mode="bilinear", align_corners=False)
        frames.extend(to_uint8(batch).cpu().numpy())
    return frames
