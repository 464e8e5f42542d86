"""Full-resolution adaptation of source frames, shared by every network translator.

Each frame is decoded and resized to the working size in DataLoader workers, translated in
batches (bf16 autocast and channels-last on CUDA), resized back to its *label's* size on the
device so that image and label stay pixel-aligned, and PNG-encoded by a pool of writer threads
(OpenCV releases the GIL), so the accelerator never waits on the codec. Outputs are written
atomically; frames whose output already exists are skipped, so a killed job resumes.

Command line (one shard of a frame list)::

    python -m sggan.adapt --model sggan --params '{...}' --run-dir RUN --frames LIST \
        --out DIR --shard 0 --num-shards 4 --working-size 1024 2048 --done SHARD.tsv
"""
from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset
from sggan.progress import tqdm

from sggan.cli import parse_json, run
from sggan.data.io import (DataError, Frame, image_size, read_frame_list, read_image, remove_stale, shard,
                          write_frame_list, write_image)
from sggan.device import resolve_device


def output_path(out_dir: Path, frame: Frame) -> Path:
    return Path(out_dir) / f"{frame.id}.png"


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
        raise ValueError(f"working size {height}x{width} must be a multiple of {multiple} on both sides "
                         f"for this generator; e.g. {round(height / multiple) * multiple}x{round(width / multiple) * multiple}")


def to_network(images_uint8: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    """(N,H,W,3) uint8 -> (N,3,H,W) float in [-1, 1] on the device."""
    x = images_uint8.to(device, non_blocking=True).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """(N,3,H,W) in [-1, 1] -> (N,H,W,3) uint8, rounding like the original code's (x+1)*127.5."""
    return images.float().add(1.0).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)


@torch.inference_mode()
def adapt_frames(generator: nn.Module, frames: list[Frame], out_dir: Path, options,
                 size_multiple: int = 1, progress: bool = True) -> int:
    """Translate every frame whose output is missing; returns how many were written."""
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
    loader = DataLoader(_SourceFrames(todo, tuple(options.working_size)), batch_size=options.batch_size,
                        num_workers=options.workers, collate_fn=_collate, pin_memory=device.type == "cuda",
                        persistent_workers=False, prefetch_factor=4 if options.workers else None)
    writers = ThreadPoolExecutor(max_workers=max(2, options.workers))
    pending = []
    try:
        for images, label_sizes, indices in tqdm(loader, desc=f"adapt -> {out_dir}", unit="batch",
                                                 disable=not progress, file=sys.stderr):
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
        groups = [(y[k:k + 1], size) for k, size in enumerate(sizes)]
    frames = []
    for batch, size in groups:
        batch = batch.float()
        if batch.shape[-2:] != size:
            batch = F.interpolate(batch, size=size, mode="bilinear", align_corners=False)
        frames.extend(to_uint8(batch).cpu().numpy())
    return frames


def verify_adapted(frames: list[Frame], out_dir: Path) -> list[str]:
    """Problems with the adapted frames: missing outputs, or sizes that differ from the label's."""
    problems = []
    for frame in frames:
        path = output_path(out_dir, frame)
        if not path.exists():
            problems.append(f"{frame.id}: missing {path}")
            continue
        got, want = image_size(path), image_size(frame.label)
        if got != want:
            problems.append(f"{frame.id}: {path} is {got[1]}x{got[0]}, its label {frame.label} is {want[1]}x{want[0]}")
    return problems






def main(argv: list[str] | None = None) -> None:
    from sggan.translators import build_translator
    from sggan.translators.base import AdaptOptions

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="translator model name (registry)")
    parser.add_argument("--params", default="{}", help="translator parameters as JSON")
    parser.add_argument("--run-dir", type=Path, help="training run folder holding checkpoint.pt")
    parser.add_argument("--frames", type=Path, required=True, help="frame list (TSV) of source frames")
    parser.add_argument("--out", type=Path, required=True, help="folder for adapted PNGs, {id}.png")
    parser.add_argument("--shard", type=int, default=0)
    parser.add_argument("--num-shards", type=int, default=1)
    parser.add_argument("--working-size", type=int, nargs=2, required=True, metavar=("H", "W"))
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-amp", action="store_true", help="full fp32 on CUDA")
    parser.add_argument("--done", type=Path, required=True,
                        help="frame list of this shard's adapted frames, written when all are verified")
    args = parser.parse_args(argv)

    translator = build_translator(args.model, parse_json(args.params, "--params"))
    frames = shard(read_frame_list(args.frames), args.shard, args.num_shards)
    options = AdaptOptions(working_size=tuple(args.working_size), batch_size=args.batch_size,
                           workers=args.workers, device=resolve_device(args.device), amp=not args.no_amp)
    if args.run_dir is not None:
        removed = remove_stale([output_path(args.out, f) for f in frames], args.run_dir / "generator.pt")
        if removed:
            print(f"removed {removed} frames adapted by an older {args.run_dir}", file=sys.stderr)
    start = time.perf_counter()
    translator.adapt(frames, args.out, args.run_dir, options)
    seconds = time.perf_counter() - start
    problems = verify_adapted(frames, args.out)
    if problems:
        raise DataError(f"translator {args.model!r} did not write every frame correctly into {args.out}:\n  "
                        + "\n  ".join(problems[:20]) + (f"\n  ... {len(problems) - 20} more" if len(problems) > 20 else ""))
    write_frame_list(args.done, [Frame(f.id, output_path(args.out, f), f.label) for f in frames])
    print(f"adapted {len(frames)} frames in {seconds:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    run(main)
