"""Dilation10 speed and memory on a GPU, and what the paper's full schedule would cost there.

    PYTHONPATH=. python benchmarks/bench_segmentation.py [--peak-tflops 989] [--iterations 20]
        [--loader-workers 8] [--no-amp] [--results PATH] [--json PATH] [--no-log]
    PYTHONPATH=. python benchmarks/bench_segmentation.py --quick   # tiny sizes, CPU: checks the script runs

Each measurement runs the pipeline's own code (segmentation.train.train_step, segmentation.model,
the TrainCrops loader) on synthetic data, bf16 autocast and channels-last on CUDA unless
``--no-amp``, timings after warm-up iterations:

(a) front-end training, batch 8 of 628x628 crops (the paper's front-end stage): images/s;
(b) joint training (front-end + context module), batch 8 of 628x628 crops, and batch 1 of
    1396x1396 crops (the paper's joint stage, "halves of images"): images/s;
(c) context-module training on dumped scores, batch 100 whole GTA-V frames (19 x 132 x 240):
    frames/s;
(d) inference on a 1024x2048 frame (reflect-padded to 1396x2420), whole and with 1024-pixel
    tiles, and the front-end on a 1052x1914 GTA-V frame (the dump stage): seconds per frame;
(e) the training loader: 628x628 crops/s from 1914x1052 PNGs with ``--loader-workers`` processes,
    to compare with (a) (is the loader fast enough?);
(f) peak GPU memory (allocated) of each, FLOPs per sample from torch's FLOP counter, achieved
    TFLOP/s, and MFU against ``--peak-tflops`` (default: the card's dense bf16 rate when known);
(g) the projected wall time of the paper's schedule for one Table 2 row on this card: front-end
    40K x 8 crops, dump of 24,966 frames, context 24K x 100 frames, joint 60K x 1 crops, and
    prediction of the 500 val frames (one GPU, the loader assumed fast enough).

Prints a JSON summary and appends a row to this benchmark's table in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from benchmarks.results_log import add_output_arguments, append_row, commit, machine, now, peak_gib, reset_peak  # noqa: E402
from segmentation.data import TrainCrops, to_network  # noqa: E402
from segmentation.distributed import World  # noqa: E402
from segmentation.frontend import MARGIN  # noqa: E402
from segmentation.model import DilatedNet, frame_scores, predict_logits, use_channels_last  # noqa: E402
from segmentation.throughput import forward_flops, training_flops, utilisation  # noqa: E402
from segmentation.train import TrainConfig, build_optimizer, train_step, trained_part  # noqa: E402
from sggan.data.io import Frame, atomic_write_text, write_image, write_label_ids  # noqa: E402
from sggan.data.labels import NUM_CLASSES, PALETTE  # noqa: E402
from sggan.device import resolve_device  # noqa: E402

SECTION = "## Dilation10 segmentation (`benchmarks/bench_segmentation.py`)"
SECTION_TEXT = """
(a) front-end training images/s, batch 8 of 628x628 crops; (b) joint training (front-end + context)
images/s, batch 8 of 628x628 and batch 1 of 1396x1396 (the paper's joint stage); (c) context-module
training on dumped scores, whole GTA-V frames/s at batch 100; (d) inference s/frame at 1024x2048,
whole and in 1024-pixel tiles, and the dump's front-end s/frame at 1914x1052; (e) the training
loader's 628x628 crops/s from 1914x1052 PNGs; MFU against the card's dense bf16 peak; (g) the
paper's whole schedule for one Table 2 row on this card, projected from (a)-(d). Synthetic data,
the pipeline's own training step and inference; bf16 autocast and channels-last unless noted.
"""
TABLE_HEADER = (
    "| date | machine | card | torch | commit | mode | front-end b8@628 (img/s) | TFLOP/s | MFU "
    "| peak (GiB) | joint b8@628 (img/s) | joint b1@1396 (img/s) | MFU | peak (GiB) "
    "| context b100 (frames/s) | infer 1024x2048 (s) | tiled (s) | peak (GiB) | dump (s/frame) "
    "| loader (crops/s) | schedule (h/row) |"
)
GTA_HW = (1052, 1914)
# dense bf16 TFLOP/s by card name (the makers' figures, without sparsity)
PEAK_TFLOPS = {"H200": 989.4, "H100": 989.4, "A100": 312.0}
# the paper's schedule (workflow/configs/paper.yaml) and data sizes
SCHEDULE = {"frontend": (40000, 8), "context": (24000, 100), "joint": (60000, 1)}
GTA_FRAMES, VAL_FRAMES = 24966, 500


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed_loop(step, iterations: int, warmup: int, device: torch.device) -> float:
    """Seconds per call of ``step`` after ``warmup`` calls (cuDNN autotuning happens there)."""
    for _ in range(warmup):
        step()
    sync(device)
    start = time.perf_counter()
    for _ in range(iterations):
        step()
    sync(device)
    return (time.perf_counter() - start) / iterations


def measure_training(
    arch: str,
    stage: str,
    width: float,
    batch: int,
    sample: tuple[int, ...],
    device: torch.device,
    amp: bool,
    iterations: int,
    warmup: int,
    peak: float | None,
) -> dict:
    """The training step of one stage on one fixed synthetic batch kept on the host, as the loader gives it."""
    config = TrainConfig(
        out="",
        frames="-",
        arch=arch,
        width=width,
        batch_size=batch,
        lr=1e-4,
        momentum=0.99,
        scores="-" if stage == "context" else None,
    )
    torch.manual_seed(0)
    model = DilatedNet(arch, NUM_CLASSES, width).to(device)
    if use_channels_last(device, amp):  # as segmentation.train does
        model = model.to(memory_format=torch.channels_last)
    model.train()
    net = trained_part(model, config)
    optimizer = build_optimizer(net, config)
    generator = torch.Generator().manual_seed(0)
    if stage == "context":
        channels, rows, cols = sample
        batch_data = (
            torch.randn(batch, channels, rows, cols, generator=generator).half(),
            torch.randint(0, NUM_CLASSES, (batch, rows, cols), generator=generator, dtype=torch.uint8),
            torch.ones(batch, 1, rows, cols),
        )
    else:
        _, height, width_px = sample
        labels = torch.randint(
            0, NUM_CLASSES, (batch, height - 2 * MARGIN, width_px - 2 * MARGIN), generator=generator, dtype=torch.uint8
        )
        batch_data = (
            torch.randint(0, 256, (batch, height, width_px, 3), generator=generator, dtype=torch.uint8),
            labels,
        )
    if device.type == "cuda":
        batch_data = tuple(t.pin_memory() for t in batch_data)
    reset_peak(device)
    seconds = timed_loop(
        lambda: train_step(net, optimizer, [batch_data], stage, device, amp, World()), iterations, warmup, device
    )
    flops = training_flops(lambda: trained_part(DilatedNet(arch, NUM_CLASSES, width), config), sample)
    per_s = batch / seconds
    tflops, mfu = utilisation(flops, per_s, peak)
    return {
        "batch": batch,
        "sample": list(sample),
        "samples_per_s": per_s,
        "gflop_per_sample": flops / 1e9,
        "tflops": tflops,
        "mfu": mfu,
        "peak_gib": peak_gib(device),
    }


@torch.inference_mode()
def measure_inference(
    width: float,
    frame_hw: tuple[int, int],
    tile: int | None,
    device: torch.device,
    amp: bool,
    iterations: int,
    warmup: int,
    frontend_only: bool = False,
) -> dict:
    torch.manual_seed(0)
    model = DilatedNet("dilation10", NUM_CLASSES, width).to(device).eval()
    if use_channels_last(device, amp):  # as segmentation.predict does
        model = model.to(memory_format=torch.channels_last)
    image = torch.randint(0, 256, (1, *frame_hw, 3), dtype=torch.uint8)

    def step():
        x = to_network(image, device)
        if use_channels_last(device, amp):
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            if frontend_only:
                frame_scores(model.frontend, x, tile).float().cpu()
            else:
                predict_logits(model, x, tile).argmax(1).cpu()

    reset_peak(device)
    seconds = timed_loop(step, iterations, warmup, device)
    padded = tuple(-(-side // 8) * 8 + 2 * MARGIN for side in frame_hw)
    flops = forward_flops(lambda: DilatedNet("dilation10", NUM_CLASSES, width).frontend, (3, *padded))
    return {
        "frame": f"{frame_hw[1]}x{frame_hw[0]}",
        "tile": tile,
        "seconds_per_frame": seconds,
        "frontend_tflop_per_frame": flops / 1e12,
        "peak_gib": peak_gib(device),
    }


def synthetic_frame(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    cells = rng.integers(0, 34, size=(12, 24), dtype=np.uint8)
    labels = cv2.resize(cells, (width, height), interpolation=cv2.INTER_NEAREST)
    image = PALETTE[labels].astype(np.int16) + rng.integers(-12, 13, (height, width, 3), dtype=np.int16)
    return np.clip(image, 0, 255).astype(np.uint8), labels


def measure_loader(root: Path, frame_hw: tuple[int, int], crop: int, batch: int, workers: int, batches: int) -> dict:
    """The front-end stage's DataLoader (PNG decode, crop with margin, flip) in ``workers`` processes."""
    frames = []
    for i in range(8):
        image, labels = synthetic_frame(np.random.default_rng(i), *frame_hw)
        frame = Frame(f"{i:05d}", root / f"{i:05d}.png", root / f"{i:05d}_label.png")
        write_image(frame.image, image)
        write_label_ids(frame.label, labels, palette=True)
        frames.append(frame)
    loader = DataLoader(
        TrainCrops(frames, crop, seed=0),
        batch_size=batch,
        sampler=range(batches * batch),
        num_workers=workers,
        prefetch_factor=4 if workers else None,
    )
    iterator = iter(loader)
    next(iterator)  # the workers' start-up
    start = time.perf_counter()
    count = sum(images.shape[0] for images, _ in iterator)
    return {"workers": workers, "crops_per_s": count / (time.perf_counter() - start)}


def projected_hours(summary: dict) -> dict:
    """The paper's schedule for one Table 2 row on this card, from the measured rates."""
    hours = {
        "frontend": SCHEDULE["frontend"][0] * SCHEDULE["frontend"][1] / summary["frontend_b8"]["samples_per_s"],
        "dump": GTA_FRAMES * summary["dump"]["seconds_per_frame"],
        "context": SCHEDULE["context"][0] * SCHEDULE["context"][1] / summary["context_b100"]["samples_per_s"],
        "joint": SCHEDULE["joint"][0] * SCHEDULE["joint"][1] / summary["joint_b1_1396"]["samples_per_s"],
        "predict": VAL_FRAMES * summary["infer_whole"]["seconds_per_frame"],
    }
    hours = {stage: seconds / 3600 for stage, seconds in hours.items()}
    hours["total"] = sum(hours.values())
    return hours


def fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny network and sizes, 2 iterations: checks the script")
    parser.add_argument("--iterations", type=int, default=20, help="timed iterations of each training step")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--peak-tflops", type=float, help="dense bf16 peak of the card (default: known cards)")
    parser.add_argument("--loader-workers", type=int, default=8)
    parser.add_argument("--no-amp", action="store_true", help="fp32 (TF32 allowed) instead of bf16 autocast")
    add_output_arguments(parser)
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    amp = device.type == "cuda" and not args.no_amp
    card = torch.cuda.get_device_name(device) if device.type == "cuda" else "none"
    peak = args.peak_tflops or next((v for k, v in PEAK_TFLOPS.items() if k in card), None)
    if args.quick:
        torch.set_num_threads(1)
        width, crop, big_crop, batch, context_batch, iterations, warmup = 1 / 32, 32, 64, 2, 4, 2, 1
        frame_hw, gta_hw, score_hw, loader_batches = (128, 256), (132, 240), (17, 30), 4
    else:
        width, crop, big_crop, batch, context_batch, iterations, warmup = (
            1.0,
            256,
            1024,
            8,
            100,
            args.iterations,
            args.warmup,
        )
        frame_hw, gta_hw, score_hw, loader_batches = (1024, 2048), GTA_HW, (132, 240), 40
    side, big_side = crop + 2 * MARGIN, big_crop + 2 * MARGIN
    summary = {
        "card": card,
        "torch": torch.__version__,
        "date": now(),
        "machine": machine(),
        "commit": commit(),
        "mode": "quick" if args.quick else "paper",
        "width": width,
        "amp": amp,
        "peak_tflops": peak,
    }
    run = functools.partial(measure_training, device=device, amp=amp, iterations=iterations, warmup=warmup, peak=peak)

    summary["frontend_b8"] = run("frontend", "frontend", width, batch, (3, side, side))
    print("front-end:", summary["frontend_b8"], file=sys.stderr)
    summary["joint_b8"] = run("dilation10", "joint", width, batch, (3, side, side))
    print("joint b8:", summary["joint_b8"], file=sys.stderr)
    summary["joint_b1_1396"] = run("dilation10", "joint", width, 1, (3, big_side, big_side))
    print("joint b1:", summary["joint_b1_1396"], file=sys.stderr)
    summary["context_b100"] = run("dilation10", "context", width, context_batch, (NUM_CLASSES, *score_hw))
    print("context:", summary["context_b100"], file=sys.stderr)
    infer_iterations = max(2, iterations // 4)
    summary["infer_whole"] = measure_inference(width, frame_hw, None, device, amp, infer_iterations, warmup)
    summary["infer_tiled"] = measure_inference(width, frame_hw, big_crop, device, amp, infer_iterations, warmup)
    summary["dump"] = measure_inference(width, gta_hw, None, device, amp, infer_iterations, warmup, frontend_only=True)
    print("inference:", summary["infer_whole"], summary["infer_tiled"], summary["dump"], file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench_segmentation_") as tmp:
        workers = 0 if args.quick else args.loader_workers
        summary["loader"] = measure_loader(Path(tmp), gta_hw, crop, batch, workers, loader_batches)
    print("loader:", summary["loader"], file=sys.stderr)
    summary["projected_hours_per_row"] = projected_hours(summary)

    print(json.dumps(summary, indent=2))
    if args.json:
        atomic_write_text(args.json, json.dumps(summary, indent=2) + "\n")
    f, j8, j1, c = summary["frontend_b8"], summary["joint_b8"], summary["joint_b1_1396"], summary["context_b100"]
    mfu = lambda m: "–" if m is None else f"{100 * m:.0f}%"  # noqa: E731
    card_cell = card + (" (fp32)" if device.type == "cuda" and not amp else "")
    row = [
        summary["date"],
        summary["machine"],
        card_cell,
        summary["torch"],
        summary["commit"],
        summary["mode"],
        fmt(f["samples_per_s"], 1),
        fmt(f["tflops"], 1),
        mfu(f["mfu"]),
        fmt(f["peak_gib"]),
        fmt(j8["samples_per_s"], 1),
        fmt(j1["samples_per_s"], 2),
        mfu(j1["mfu"]),
        fmt(j1["peak_gib"]),
        fmt(c["samples_per_s"], 0),
        fmt(summary["infer_whole"]["seconds_per_frame"], 3),
        fmt(summary["infer_tiled"]["seconds_per_frame"], 3),
        fmt(summary["infer_whole"]["peak_gib"]),
        fmt(summary["dump"]["seconds_per_frame"], 3),
        fmt(summary["loader"]["crops_per_s"], 0),
        fmt(summary["projected_hours_per_row"]["total"], 1),
    ]
    print("| " + " | ".join(row) + " |")
    if not args.no_log:
        append_row(row, TABLE_HEADER, SECTION, SECTION_TEXT, args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
