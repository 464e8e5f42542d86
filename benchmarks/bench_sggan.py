"""SG-GAN speed and memory on a GPU: training iterations/s and full-resolution adaptation frames/s.

    PYTHONPATH=. python benchmarks/bench_sggan.py [--frames 256] [--train-iterations 150]
        [--batch-size 8] [--workers 8] [--train-workers 6] [--no-bf16] [--results PATH] [--json PATH]
    PYTHONPATH=. python benchmarks/bench_sggan.py --quick     # tiny sizes, CPU, checks the script runs

Writes synthetic GTA-V-sized frames (1914x1052 RGB PNGs and palette label PNGs of the same size)
to a temporary folder, then measures, each through the pipeline's own code:

(a) SG-GAN training at 256x512 with the paper networks (8-layer U-Net ngf 64, semantic PatchGAN
    ndf 64), batch 1: the translator's ``train`` on those frames (decode, resize, masks in
    DataLoader workers), fp32 as the original (cuDNN may use TF32, torch's default), and bf16
    autocast; iterations/s from the loss log, the first 20 iterations excluded; and the same
    iteration on one fixed batch already on the device ("step only"), which tells whether the
    loader or the networks bound the speed;
(b) adaptation at a 1024x2048 working size through ``Translator.adapt`` (sggan.adaptation): decode,
    translate (bf16 autocast), resize back to the label size, PNG encode, frames/s;
(c) the same adaptation loop with an ``nn.Identity`` generator: the decode/encode floor;
(d) peak GPU memory (allocated) of each.

Prints a JSON summary and appends a row to this benchmark's table in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from benchmarks.results_log import add_output_arguments, append_row, commit, machine, now, peak_gib, reset_peak  # noqa: E402
from sggan.adaptation import (
    AdaptOptions,  # noqa: E402
    adapt_frames,  # noqa: E402
)
from sggan.data.io import Frame, atomic_write_text, write_image, write_label_ids  # noqa: E402
from sggan.data.labels import PALETTE  # noqa: E402
from sggan.device import resolve_device  # noqa: E402
from sggan.translators import build_translator  # noqa: E402

SECTION = "## SG-GAN training and adaptation (`benchmarks/bench_sggan.py`)"
SECTION_TEXT = """
(a) training iterations/s at 256x512, paper networks (U-Net depth 8 ngf 64, semantic PatchGAN ndf
64), batch 1, from 1914x1052 PNGs through the translator's own loader ("train"), and on one fixed
batch already on the device ("step only": the networks without the loader); fp32 (cuDNN TF32
allowed, torch's default) and bf16 autocast; peak memory of the training run; (b) adaptation
frames/s at a 1024x2048 working size from 1914x1052 PNGs to PNGs through `sggan.adapt` (bf16
autocast); (c) the same with an identity network (decode/encode floor); peak GPU memory allocated
for each; (d) CycleGAN training iterations/s at the same size with its 9-block ResNet generators
(fp32), the Table 2 baseline. Synthetic frames; timings exclude warm-up.

"""
TABLE_HEADER = (
    "| date | machine | card | torch | commit | mode | train fp32 (it/s) | step only fp32 (it/s) "
    "| peak (GiB) | train bf16 (it/s) | step only bf16 (it/s) | peak (GiB) | frames | batch | workers "
    "| adapt (frames/s) | peak (GiB) | identity (frames/s) | peak (GiB) | CycleGAN train fp32 (it/s) |"
)
GTA_HW = (1052, 1914)


def synthetic_frame(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Blocky label ids and an image of their palette colours with noise (compresses like a photo-ish PNG)."""
    cells = rng.integers(0, 34, size=(12, 24), dtype=np.uint8)
    labels = cv2.resize(cells, (width, height), interpolation=cv2.INTER_NEAREST)
    image = PALETTE[labels].astype(np.int16) + rng.integers(-12, 13, (height, width, 3), dtype=np.int16)
    return np.clip(image, 0, 255).astype(np.uint8), labels


def write_frames(root: Path, count: int, height: int, width: int, unique: int = 16) -> list[Frame]:
    """``count`` frames: ``unique`` distinct ones written in parallel, then copied."""
    frames = [
        Frame(f"{i:05d}", root / "images" / f"{i:05d}.png", root / "labels" / f"{i:05d}.png") for i in range(count)
    ]

    def write(i: int) -> None:
        image, labels = synthetic_frame(np.random.default_rng([0, i]), height, width)
        write_image(frames[i].image, image)
        write_label_ids(frames[i].label, labels, palette=True)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(write, range(min(unique, count))))
        list(
            pool.map(
                lambda i: (
                    shutil.copyfile(frames[i % unique].image, frames[i].image),
                    shutil.copyfile(frames[i % unique].label, frames[i].label),
                ),
                range(unique, count),
            )
        )
    return frames


def measure_training(
    frames: list[Frame], run_dir: Path, params: dict, device: torch.device, warmup: int, model: str = "sggan"
) -> dict:
    translator = build_translator(model, params)
    reset_peak(device)
    start = time.perf_counter()
    translator.train(frames, frames, run_dir, device, seed=0)
    total = time.perf_counter() - start
    with open(run_dir / "loss_log.csv", newline="") as f:
        seconds = [float(row["seconds"]) for row in csv.DictReader(f)]
    timed = len(seconds) - warmup
    rate = timed / (seconds[-1] - seconds[warmup - 1])
    return {
        "iterations": len(seconds),
        "iterations_per_s": rate,
        "peak_gib": peak_gib(device),
        "wall_s_including_setup_and_checkpoint": total,
        "amp": params.get("amp", False),
    }


def measure_step_only(params: dict, device: torch.device, iterations: int, warmup: int) -> dict:
    """SG-GAN iterations/s on one fixed batch already on the device: the networks without the loader."""
    from sggan.training import UnpairedBatch

    translator = build_translator("sggan", params)
    config = translator.config
    torch.manual_seed(0)
    translator.build(device, seed=0)
    translator.before_epoch(config.alpha_beta_switch_epoch)  # (alpha, beta) = (0.9, 0.1)
    height, width = config.crop_size

    def domain():
        labels = torch.randint(0, 34, (1, height // 8, width // 8)).repeat_interleave(8, 1).repeat_interleave(8, 2)
        mask = torch.nn.functional.one_hot(labels[:, ::8, ::8] % 8, 8).permute(0, 3, 1, 2).float()
        return torch.rand(1, 3, height, width) * 2 - 1, labels, mask

    batch = UnpairedBatch(*(t.to(device) for t in (*domain(), *domain())))
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as the training loop does
    for step in range(warmup + iterations):
        if step == warmup:
            reset_peak(device)
            start = time.perf_counter()
        losses, _ = translator.train_step(batch, step)
        torch.stack([t.detach().float() for t in losses.values()]).tolist()  # the loop's one sync
    seconds = time.perf_counter() - start
    return {
        "iterations": iterations,
        "iterations_per_s": iterations / seconds,
        "peak_gib": peak_gib(device),
        "amp": config.amp,
    }


def measure_adaptation(adapt, frames: list[Frame], out_dir: Path, device: torch.device, warmup_frames: int) -> dict:
    """Frames/s of ``adapt(frames, out_dir)``, after a warm-up run (cuDNN, workers, codecs)."""
    adapt(frames[:warmup_frames], out_dir / "warmup")
    reset_peak(device)
    start = time.perf_counter()
    adapt(frames, out_dir / "timed")
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    written = len(list((out_dir / "timed").glob("*.png")))
    if written != len(frames):
        raise SystemExit(f"adaptation wrote {written} of {len(frames)} frames into {out_dir / 'timed'}")
    return {
        "frames": len(frames),
        "frames_per_s": len(frames) / seconds,
        "seconds": seconds,
        "peak_gib": peak_gib(device),
    }


def fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny frames and networks, a few iterations: checks the script on a CPU"
    )
    parser.add_argument("--frames", type=int, default=256, help="frames adapted in each timed run")
    parser.add_argument("--train-iterations", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=8, help="adaptation batch size")
    parser.add_argument("--workers", type=int, default=8, help="adaptation DataLoader workers")
    parser.add_argument("--train-workers", type=int, default=6, help="training DataLoader workers")
    parser.add_argument("--no-bf16", action="store_true", help="skip the bf16-autocast training run")
    add_output_arguments(parser)
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    if args.quick:
        torch.set_num_threads(1)  # on small shared CPUs, several torch threads make timings erratic
        frame_hw, working, warmup = (GTA_HW[0] // 8, GTA_HW[1] // 8), (128, 256), 2
        net = {"ngf": 8, "ndf": 8, "generator_depth": 6, "load_size": [128, 256], "crop_size": [128, 256]}
        frames_n, iterations = min(args.frames, 6), min(args.train_iterations, 5)
    else:
        frame_hw, working, warmup = GTA_HW, (1024, 2048), 20
        net = {"ngf": 64, "ndf": 64, "generator_depth": 8, "load_size": [256, 512], "crop_size": [256, 512]}
        frames_n, iterations = args.frames, args.train_iterations
    if iterations <= warmup:
        raise SystemExit(f"--train-iterations must exceed the {warmup} warm-up iterations")
    train_params = {
        **net,
        "epochs": 1,
        "max_iterations_per_epoch": iterations,
        "workers": args.train_workers,
        "checkpoint_every": 10**9,
        "sample_every": 10**9,
    }
    summary = {
        "card": torch.cuda.get_device_name(device) if device.type == "cuda" else "none",
        "torch": torch.__version__,
        "date": now(),
        "machine": machine(),
        "commit": commit(),
        "mode": "quick" if args.quick else "paper",
        "frame_size": f"{frame_hw[1]}x{frame_hw[0]}",
        "working_size": f"{working[0]}x{working[1]}",
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
    }
    with tempfile.TemporaryDirectory(prefix="bench_sggan_") as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        frames = write_frames(tmp / "frames", max(frames_n, iterations), *frame_hw)
        summary["frames_written_s"] = round(time.perf_counter() - start, 1)
        print(
            f"wrote {len(frames)} frames of {frame_hw[1]}x{frame_hw[0]} in {summary['frames_written_s']} s",
            file=sys.stderr,
        )

        # step-only first: it also runs cuDNN's autotuning, whose scratch memory would else be the peak
        precisions = ["fp32"] + (["bf16"] if not args.no_bf16 and device.type == "cuda" else [])
        for precision in precisions:
            params = {**train_params, "amp": precision == "bf16"}
            step_iterations = max(iterations // 3, 2)
            summary[f"step_only_{precision}"] = measure_step_only(params, device, step_iterations, warmup // 2)
            print(f"step only {precision}:", summary[f"step_only_{precision}"], file=sys.stderr)
            summary[f"train_{precision}"] = measure_training(frames, tmp / f"train_{precision}", params, device, warmup)
            print(f"train {precision}:", summary[f"train_{precision}"], file=sys.stderr)

        # the Table 2 baseline at the same size: 9-block ResNet generators (6 in the quick form)
        cyclegan = {
            **{k: v for k, v in train_params.items() if k != "generator_depth"},
            "blocks": 6 if args.quick else 9,
        }
        summary["train_cyclegan_fp32"] = measure_training(
            frames, tmp / "train_cyclegan", cyclegan, device, warmup, model="cyclegan"
        )
        print("train cyclegan fp32:", summary["train_cyclegan_fp32"], file=sys.stderr)

        options = AdaptOptions(working_size=working, batch_size=args.batch_size, workers=args.workers, device=device)
        to_adapt = frames[:frames_n]
        warmup_frames = min(len(to_adapt), 2 * args.batch_size)
        # (b) the pipeline's path: the translator loads the generator trained in (a)
        sggan = build_translator("sggan", {k: net[k] for k in ("ngf", "ndf", "generator_depth")})
        summary["adapt"] = measure_adaptation(
            lambda f, out: sggan.adapt(f, out, tmp / "train_fp32", options),
            to_adapt,
            tmp / "adapt",
            device,
            warmup_frames,
        )
        print("adapt:", summary["adapt"], file=sys.stderr)
        # (c) the same loop without a network (the identity translator itself copies files instead)
        identity = nn.Identity().to(device).eval()
        summary["adapt_identity"] = measure_adaptation(
            lambda f, out: adapt_frames(identity, f, out, options, size_multiple=1),
            to_adapt,
            tmp / "identity",
            device,
            warmup_frames,
        )
        print("identity:", summary["adapt_identity"], file=sys.stderr)
        summary["adapt_settings"] = {
            "batch_size": args.batch_size,
            "workers": args.workers,
            "amp": options.amp,
            "channels_last": options.channels_last,
        }

    print(json.dumps(summary, indent=2))
    if args.json:
        atomic_write_text(args.json, json.dumps(summary, indent=2) + "\n")
    fp32, bf16 = summary["train_fp32"], summary.get("train_bf16", {})
    step32, step16 = summary["step_only_fp32"], summary.get("step_only_bf16", {})
    row = [
        summary["date"],
        summary["machine"],
        summary["card"],
        summary["torch"],
        summary["commit"],
        summary["mode"],
        fmt(fp32["iterations_per_s"], 1),
        fmt(step32["iterations_per_s"], 1),
        fmt(fp32["peak_gib"]),
        fmt(bf16.get("iterations_per_s"), 1),
        fmt(step16.get("iterations_per_s"), 1),
        fmt(bf16.get("peak_gib")),
        str(summary["adapt"]["frames"]),
        str(args.batch_size),
        str(args.workers),
        fmt(summary["adapt"]["frames_per_s"], 1),
        fmt(summary["adapt"]["peak_gib"]),
        fmt(summary["adapt_identity"]["frames_per_s"], 1),
        fmt(summary["adapt_identity"]["peak_gib"]),
        fmt(summary["train_cyclegan_fp32"]["iterations_per_s"], 1),
    ]
    print("| " + " | ".join(row) + " |")
    if not args.no_log:
        append_row(row, TABLE_HEADER, SECTION, SECTION_TEXT, args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
