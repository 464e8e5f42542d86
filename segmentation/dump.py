"""Dump a trained front-end's whole-frame scores once, for training the context module on them.

    python -m segmentation.dump --model FRONTEND/model.pt --frames LIST.tsv --out DIR \
        [--tile N] [--device auto] [--workers K]

The context stage trains only the context module, on a frozen front-end: recomputing the
front-end (5 TFLOP per 1024x2048 frame) at each of its 24K iterations of 100 frames would cost
about 14 GPU-hours, while the original code, like this command, computes each frame's scores
once (minutes) and trains on the saved scores.

For each frame: the image (resized to its label's size) goes through the front-end whole
(reflect-padded by 186, padded to multiples of 8; ``--tile`` bounds the memory and gives the
same scores), and ``DIR/{id}.pt`` gets ``scores``, (19, ceil(H/8), ceil(W/8)) float16, and
``labels``, the train ids at the scores' stride (segmentation.data.stride_labels), uint8. A
1052x1914 GTA-V frame takes 1.2 MB, the 24,966 frames 30 GB. Frames already dumped are skipped,
so a killed run resumes; ``DIR/index.json`` (the model, its training arguments and the frame
ids) is written last and marks completion.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from segmentation.data import read_aligned, score_path, stride_labels, to_network
from segmentation.model import frame_scores, tile_size, use_channels_last
from segmentation.predict import load_model
from sggan.cli import run
from sggan.data.io import Frame, atomic_write, atomic_write_text, read_frame_list
from sggan.device import resolve_device
from sggan.progress import tqdm


class _Frames(Dataset):
    def __init__(self, frames: list[Frame]):
        self.frames = frames

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int):
        image, train_ids = read_aligned(self.frames[index])
        return torch.from_numpy(image), torch.from_numpy(train_ids), index


def save_scores(path: Path, scores: torch.Tensor, labels: torch.Tensor) -> None:
    saved = {"scores": scores.to(torch.float16).cpu().contiguous(), "labels": labels.contiguous()}
    atomic_write(path, lambda tmp: torch.save(saved, tmp))


@torch.inference_mode()
def dump(
    model_path: Path,
    frames: list[Frame],
    out: Path,
    device: torch.device,
    tile: int | None = None,
    workers: int = 0,
    amp: bool = True,
    progress: bool = True,
) -> int:
    """Dump every frame not yet in ``out``, then write the index; returns how many were computed."""
    out = Path(out)
    saved = torch.load(model_path, map_location="cpu", weights_only=True)
    source = {"model": str(model_path), "model_args": saved.get("args", {}), "model_config": saved["model_config"]}
    source = json.loads(json.dumps(source, default=str))  # as it reads back from JSON (tuples become lists)
    marker = out / "source.json"
    if marker.exists() and json.loads(marker.read_text()) != source:
        raise ValueError(f"{out} holds scores of another model than {model_path}; delete it and dump again")
    atomic_write_text(marker, json.dumps(source, sort_keys=True))

    frontend = load_model(model_path, device).frontend
    amp = amp and device.type == "cuda"
    channels_last = use_channels_last(device, amp)
    if channels_last:
        frontend = frontend.to(memory_format=torch.channels_last)
    todo = [f for f in frames if not score_path(out, f.id).exists()]
    loader = DataLoader(_Frames(todo), batch_size=1, num_workers=workers, pin_memory=device.type == "cuda")
    for image, train_ids, index in tqdm(
        loader, desc=f"front-end scores -> {out}", unit="frame", disable=not progress, file=sys.stderr
    ):
        x = to_network(image, device)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            scores = frame_scores(frontend, x, tile)[0].float()
        labels = stride_labels(train_ids[0].numpy(), *scores.shape[-2:])
        save_scores(score_path(out, todo[int(index)].id), scores, torch.from_numpy(labels))
    atomic_write_text(
        out / "index.json",
        json.dumps(
            {
                **source,
                "classes": saved["model_config"]["num_classes"],
                "dtype": "float16",
                "frames": [f.id for f in frames],
            }
        )
        + "\n",
    )
    return len(todo)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="front-end model.pt (segmentation.train)")
    parser.add_argument("--frames", type=Path, required=True, help="frame list (TSV) to dump")
    parser.add_argument("--out", type=Path, required=True, help="folder for {id}.pt and index.json")
    parser.add_argument("--tile", type=tile_size, default=None, help="output pixels per tile side (multiple of 8)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--no-amp", dest="amp", action="store_false", help="full fp32 on CUDA")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    frames = read_frame_list(args.frames)
    start = time.perf_counter()
    computed = dump(args.model, frames, args.out, device, args.tile, args.workers, args.amp)
    print(
        f"dumped front-end scores of {computed} frames ({len(frames) - computed} already there) into "
        f"{args.out} in {time.perf_counter() - start:.1f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    run(main)
