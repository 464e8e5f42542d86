"""Train the Dilation front-end on a frame list (GTA-V or adapted GTA-V, labels as label ids).

    python -m segmentation.train --frames LIST.tsv --out DIR --iterations 40000 --batch-size 8 \
        --crop 256 --lr 1e-4 --momentum 0.99 --weight-decay 5e-4 --width 1 --seed 0

The defaults are the paper's front-end schedule for Cityscapes: 40K iterations, batch 8,
628x628 input crops (``--crop 256`` output pixels + 2 x 186 margin), SGD lr 1e-4 momentum 0.99,
constant learning rate here. Toy runs (a width-1/16 network from scratch on 128x256 frames) learn with
the same SGD at ``--lr 1e-3``: batch 4, crop 64, about 100 iterations to ~0.8 pixel accuracy on
a simple synthetic street world. ``--optimizer adam`` (``--momentum`` is then beta1) is there for
settings where SGD is too slow; on that world, Adam at 1e-3 was only slightly ahead.

DIR/checkpoint.pt (one dict: model, optimizer, iteration, RNG states, arguments) is written
atomically every ``--checkpoint-every`` iterations and at the end; rerunning the same command
resumes from it, and the result is the same as an uninterrupted run (on CPU bit for bit: the
samples are a function of (seed, sample number), the dropout RNG state is checkpointed).
``--iterations`` may be raised on resume; the other run-defining arguments must match.
DIR/model.pt ({model, model_config, args}) is written last and marks completion.
DIR/train_log.csv logs iteration, loss (mean since the previous row) and images/s.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from sggan.data.io import read_frame_list
from sggan.data.labels import IGNORE, NUM_CLASSES
from sggan.device import resolve_device
from segmentation.data import TrainCrops, to_network
from segmentation.frontend import FrontEnd, upsample


@dataclass
class TrainConfig:
    frames: str
    out: str
    iterations: int = 40000
    batch_size: int = 8
    crop: tuple[int, int] = (256, 256)  # output (label) height, width; the network sees crop + 372
    lr: float = 1e-4
    momentum: float = 0.99        # SGD momentum, or Adam's beta1
    weight_decay: float = 5e-4
    optimizer: str = "sgd"        # sgd (paper) | adam (toy runs)
    width: float = 1.0            # channel multiplier; 1.0 is VGG-16
    seed: int = 0
    device: str = "auto"
    workers: int = 0
    checkpoint_every: int = 1000
    log_every: int = 20
    amp: bool = True              # bf16 autocast and channels-last on CUDA


# Arguments that define what is learned; a resumed run must agree on them. (Iterations may grow;
# device, workers and logging may change.)
RUN_DEFINING = ("frames", "batch_size", "crop", "lr", "momentum", "weight_decay", "optimizer", "width", "seed")
LOG_FIELDS = ["iteration", "loss", "images_per_s"]


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, betas=(config.momentum, 0.999),
                                weight_decay=config.weight_decay)
    raise ValueError(f"unknown optimizer {config.optimizer!r}; use 'sgd' or 'adam'")


def segmentation_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the x8-upsampled scores against full-resolution labels, ignoring 255.

    Averaged over the labelled pixels of the batch; a batch with none gives 0, not NaN.
    """
    per_pixel = F.cross_entropy(upsample(logits.float()), labels.long(), ignore_index=IGNORE, reduction="sum")
    return per_pixel / (labels != IGNORE).sum().clamp(min=1)


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor,
               labels: torch.Tensor, device: torch.device, amp: bool) -> float:
    x = to_network(images, device)
    if amp:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
        logits = model(x)
    loss = segmentation_loss(logits, labels.to(device, non_blocking=True))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def make_loader(frames, config: TrainConfig, start: int, device: torch.device) -> DataLoader:
    """Batches for iterations start+1 .. config.iterations, in order."""
    dataset = TrainCrops(frames, config.crop, config.seed)
    samples = range(start * config.batch_size, config.iterations * config.batch_size)
    # Its own generator, so creating the loader does not draw from the global RNG (dropout's).
    return DataLoader(dataset, batch_size=config.batch_size, sampler=samples, num_workers=config.workers,
                      pin_memory=device.type == "cuda", generator=torch.Generator(),
                      prefetch_factor=4 if config.workers else None, persistent_workers=False)


def rng_state() -> dict:
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": np.random.get_state(), "python": random.getstate()}


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def atomic_save(obj, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(path: Path, model: nn.Module, optimizer, iteration: int, config: TrainConfig) -> None:
    atomic_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "iteration": iteration,
                 "rng": rng_state(), "args": dataclasses.asdict(config)}, path)


def check_resumable(saved: dict, config: TrainConfig, path: Path) -> None:
    current = dataclasses.asdict(config)
    changed = [f"{key}: {saved[key]!r} -> {current[key]!r}" for key in RUN_DEFINING if saved.get(key) != current[key]]
    if changed:
        raise ValueError(f"{path} was written by a run with other settings ({'; '.join(changed)}); "
                         f"use the same settings to resume, or another --out folder to start afresh")


def open_log(path: Path, resume_iteration: int):
    """Append to the CSV log, first dropping rows written after the checkpoint we resume from."""
    rows = []
    if path.exists() and resume_iteration > 0:
        with path.open(newline="") as f:
            rows = [row for row in csv.DictReader(f) if int(row["iteration"]) <= resume_iteration]
    f = path.open("w", newline="")
    writer = csv.DictWriter(f, fieldnames=LOG_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    f.flush()
    return f, writer


def train(config: TrainConfig, progress: bool = True) -> Path:
    """Train (or resume) into config.out; returns the path of model.pt."""
    out = Path(config.out)
    checkpoint_path, model_path = out / "checkpoint.pt", out / "model.pt"
    device = resolve_device(config.device)
    amp = config.amp and device.type == "cuda"
    frames = read_frame_list(config.frames)

    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    random.seed(config.seed)
    model = FrontEnd(NUM_CLASSES, config.width).to(device)
    if amp:
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, config)
    start = 0
    if checkpoint_path.exists():
        # on the CPU: the RNG states must stay CPU tensors; load_state_dict copies the rest over
        checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
        check_resumable(checkpoint["args"], config, checkpoint_path)
        if checkpoint["iteration"] > config.iterations:
            raise ValueError(f"{checkpoint_path} is at iteration {checkpoint['iteration']}, past the "
                             f"{config.iterations} asked for; raise --iterations or use another --out")
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        set_rng_state(checkpoint["rng"])
        start = checkpoint["iteration"]
        print(f"resuming {checkpoint_path} at iteration {start}", file=sys.stderr)

    model.train()
    out.mkdir(parents=True, exist_ok=True)
    log_file, log = open_log(out / "train_log.csv", start)
    losses, window_start = [], time.perf_counter()
    try:
        loader = make_loader(frames, config, start, device)
        bar = tqdm(loader, total=config.iterations, initial=start, desc=f"front-end -> {out}",
                   unit="it", disable=not progress, file=sys.stderr)
        for iteration, (images, labels) in enumerate(bar, start=start + 1):
            loss = train_step(model, optimizer, images, labels, device, amp)
            if not np.isfinite(loss):
                raise FloatingPointError(f"loss became {loss} at iteration {iteration}; lower --lr "
                                         f"(now {config.lr}) or resume from an earlier checkpoint")
            losses.append(loss)
            if iteration % config.log_every == 0 or iteration == config.iterations:
                seconds = time.perf_counter() - window_start
                mean_loss = sum(losses) / len(losses)
                log.writerow({"iteration": iteration, "loss": f"{mean_loss:.5f}",
                              "images_per_s": f"{len(losses) * config.batch_size / seconds:.2f}"})
                log_file.flush()
                bar.set_postfix(loss=f"{mean_loss:.3f}")
                losses, window_start = [], time.perf_counter()
            if iteration % config.checkpoint_every == 0 or iteration == config.iterations:
                saving = time.perf_counter()
                save_checkpoint(checkpoint_path, model, optimizer, iteration, config)
                window_start += time.perf_counter() - saving  # images/s measures training alone
    finally:
        log_file.close()

    atomic_save({"model": model.state_dict(),
                 "model_config": {"num_classes": NUM_CLASSES, "width": config.width},
                 "args": dataclasses.asdict(config)}, model_path)
    return model_path


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    d = TrainConfig(frames="", out="")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", required=True, help="frame list (TSV: id, image, label) to train on")
    p.add_argument("--out", required=True, help="run folder: checkpoint.pt, model.pt, train_log.csv")
    p.add_argument("--iterations", type=int, default=d.iterations)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--crop", type=int, nargs="+", default=list(d.crop), metavar="SIDE",
                   help="output side of a square crop, or its height and width; multiples of 8 "
                   "(the network sees crop + 372: 256 -> the paper's 628)")
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--momentum", type=float, default=d.momentum, help="SGD momentum or Adam beta1")
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--optimizer", choices=["sgd", "adam"], default=d.optimizer)
    p.add_argument("--width", type=float, default=d.width, help="channel multiplier (1 = VGG-16)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default=d.device, help="auto, cpu, cuda, cuda:1 ...")
    p.add_argument("--workers", type=int, default=d.workers, help="DataLoader processes decoding frames")
    p.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every)
    p.add_argument("--log-every", type=int, default=d.log_every)
    p.add_argument("--no-amp", dest="amp", action="store_false", help="full fp32 on CUDA")
    args = vars(p.parse_args(argv))
    if len(args["crop"]) not in (1, 2):
        p.error("--crop takes one side (a square) or a height and a width")
    args["crop"] = tuple(args["crop"] * (3 - len(args["crop"])))
    config = TrainConfig(**args)
    if config.iterations < 0 or config.batch_size < 1 or config.checkpoint_every < 1 or config.log_every < 1:
        p.error("--iterations must be >= 0; --batch-size, --checkpoint-every, --log-every >= 1")
    return config


def main(argv: list[str] | None = None) -> None:
    config = parse_args(argv)
    start = time.perf_counter()
    path = train(config)
    print(f"trained front-end -> {path} in {time.perf_counter() - start:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
