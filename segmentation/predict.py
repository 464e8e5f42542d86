"""Full-resolution predictions of a trained network, written as Cityscapes label-id PNGs.

    python -m segmentation.predict --model DIR/model.pt --frames LIST.tsv --out DIR \
        [--tile N] [--device auto] [--workers K]

For each frame: the image (resized to its label's size, the ground-truth geometry, should the two
differ) goes through the network at full resolution (reflect-padded by 186; the front-end whole
or, with ``--tile N``, in tiles of N x N output pixels cut from the same padded frame, which give
the same scores; then the context module on the whole score map and the x8 upsampling; see
segmentation.model), the arg-max train id is mapped to its Cityscapes label id and written
atomically as a grey PNG ``{out}/{id}_labelIds.png`` of the frame's size. The front-end's first
layers (64 channels at full resolution) set the memory: two of their activations are about
0.9 GB for a whole 1024x2048 frame in bf16 at width 1, half that with ``--tile 1024`` (the
original's 1396x1396 tiles). Frames already written are skipped, so a killed run resumes.
Prints how many frames it wrote.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import torch
from torch.utils.data import DataLoader, Dataset

from segmentation.data import to_network
from segmentation.model import DilatedNet, build_model, predict_logits, tile_size, use_channels_last
from sggan import runs
from sggan.cli import run
from sggan.data.io import (
    DataError,
    Frame,
    image_size,
    read_frame_list,
    read_image,
    remove_stale,
    shard,
    write_frame_list,
    write_label_ids,
)
from sggan.data.labels import TRAIN_TO_LABEL
from sggan.device import resolve_device
from sggan.progress import tqdm


def output_path(out_dir: Path, frame: Frame) -> Path:
    return Path(out_dir) / f"{frame.id}_labelIds.png"


def load_model(path: Path, device: torch.device) -> DilatedNet:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"model {path} does not exist; it is written by `python -m segmentation.train`")
    saved = runs.load(
        path,
        weights_only=True,
        fix="it is not a model.pt written by `python -m segmentation.train`, or it is truncated; train it again",
    )
    model = build_model(saved["model_config"]).to(device)
    model.load_state_dict(saved["model"])
    return model.eval()


class _Frames(Dataset):
    def __init__(self, frames: list[Frame]):
        self.frames = frames

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int):
        frame = self.frames[index]
        image = read_image(frame.image)
        height, width = image_size(frame.label)
        if image.shape[:2] != (height, width):
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
        return torch.from_numpy(image), index


@torch.inference_mode()
def iter_predictions(
    model: DilatedNet,
    frames: list[Frame],
    device: torch.device,
    workers: int = 0,
    amp: bool = True,
    progress: bool = True,
    tile: int | None = None,
    desc: str = "predict",
):
    """Yield (frame, (H, W) train-id tensor on the device) for each frame, at its label's size."""
    amp = amp and device.type == "cuda"
    channels_last = use_channels_last(device, amp)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    # Batch 1: frames may differ in size, and a full Cityscapes frame fills the device anyway.
    loader = DataLoader(_Frames(frames), batch_size=1, num_workers=workers, pin_memory=device.type == "cuda")
    for image, index in tqdm(loader, desc=desc, unit="frame", disable=not progress, file=sys.stderr):
        x = to_network(image, device)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            logits = predict_logits(model, x, tile)
        yield frames[int(index)], logits.argmax(1)[0]


def predict_frames(
    model: DilatedNet,
    frames: list[Frame],
    out_dir: Path,
    device: torch.device,
    workers: int = 0,
    amp: bool = True,
    progress: bool = True,
    tile: int | None = None,
) -> int:
    """Predict every frame whose output is missing; returns how many were written."""
    todo = [f for f in frames if not output_path(out_dir, f).exists()]
    lut = torch.from_numpy(TRAIN_TO_LABEL).to(device)
    for frame, train_ids in iter_predictions(
        model, todo, device, workers, amp, progress, tile, desc=f"predict -> {out_dir}"
    ):
        write_label_ids(output_path(out_dir, frame), lut[train_ids].cpu().numpy())
    return len(todo)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="model.pt written by segmentation.train")
    parser.add_argument("--frames", type=Path, required=True, help="frame list (TSV) to predict")
    parser.add_argument("--out", type=Path, required=True, help="folder for {id}_labelIds.png")
    parser.add_argument(
        "--tile",
        type=tile_size,
        default=None,
        help="run the front-end in tiles of N x N output pixels (a multiple of 8; same labels)",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--no-amp", dest="amp", action="store_false", help="full fp32 on CUDA")
    parser.add_argument("--shard", type=int, default=0, help="predict only this shard of the frames ...")
    parser.add_argument("--num-shards", type=int, default=1, help="... of this many (every n-th frame)")
    parser.add_argument("--done", type=Path, help="frame list of this shard's predictions, written at the end")
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    frames = shard(read_frame_list(args.frames), args.shard, args.num_shards)
    outputs = [output_path(args.out, f) for f in frames]
    # predictions of an older model are redone, not skipped as finished
    remove_stale(outputs, args.model)
    model = load_model(args.model, device)
    start = time.perf_counter()
    written = predict_frames(model, frames, args.out, device, args.workers, args.amp, tile=args.tile)
    print(
        f"predicted {written} frames ({len(frames) - written} already there) into {args.out} "
        f"in {time.perf_counter() - start:.1f} s",
        file=sys.stderr,
    )
    if args.done:
        write_frame_list(args.done, [Frame(f.id, out, f.label) for f, out in zip(frames, outputs)])


if __name__ == "__main__":
    run(main)
