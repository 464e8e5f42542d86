"""How long `workflow/configs/paper.yaml` takes on one H200, job by job, from measured rates.

    PYTHONPATH=. python benchmarks/project_paper.py [--config workflow/configs/paper.yaml] [--budget-hours 12]

Every GPU job of the paper's configuration, in the order of the pipeline: translator training,
adaptation of the 24,966 GTA-V frames, the three segmentation stages with the score dump,
prediction of the 500 val frames, per row of Table 2. The iteration counts come from the
configuration (and each translator's Config defaults); the rates are the H200 measurements of
benchmarks/RESULTS.md (``MEASURED`` below, each with its row), or, where a job was not measured,
scaled from a measured one by FLOPs that torch's FLOP counter counts here on the "meta" device
(no arithmetic, a few seconds on a CPU), which assumes the measured job's efficiency. Jobs on the
CPU (checks, splits, evaluation, Table 2) and the translator-quality jobs take minutes and are
left out. Prints the table, the total of the whole configuration and of Table 2's rows, what
exceeds the budget, and appends a row to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from benchmarks.results_log import append_row, commit, now  # noqa: E402

SECTION = "## The paper's configuration on one H200, projected (`benchmarks/project_paper.py`)"
SECTION_TEXT = """
Wall time of every GPU job of `workflow/configs/paper.yaml` on one H200, one job at a time, from
the H200 rates measured above (or scaled from them by counted FLOPs where a job was not measured;
the script prints each job with its rate's source). "Table 2" counts the paper's rows that the
pipeline reproduces (source-only, CycleGAN, SG-GAN-2K, SG-GAN-25K) and the oracle.
"""
TABLE_HEADER = "| date | commit | config | whole config (h) | Table 2 rows (h) | budget (h) | largest jobs (h) |"

# one H200, benchmarks/RESULTS.md; value and where it was measured
MEASURED = {
    "sggan_train_it_s": (22.6, "SG-GAN training at 256x512 through the loader, fp32 (bench_sggan, 2026-11-27 01:59)"),
    "adapt_frames_s": (
        52.5,
        "SG-GAN adaptation at 1024x2048, batch 8, 12 workers: the PNG codec's floor (bench_sggan, 2026-11-27 01:59)",
    ),
    "unet_alone_frames_s": (394.0, "the paper's U-Net alone at 1024x2048, batch 8, bf16 (notes of 2026-11-27)"),
    "frontend_train_img_s": (188.0, "front-end training, batch 8 of 628x628, bf16, channels-last (first GPU check)"),
    "frontend_infer_s": (0.024, "front-end inference of one 1024x2048 frame, bf16 (first GPU check)"),
}
# the context stage reads 100 dumped score files (1.2 MB each) per iteration; torch.load of one took
# 3.1 ms on a loaded 2-core CPU (2026-12-02): with the configuration's loader workers that bounds it
SCORE_FILE_LOAD_S = 0.0031
GTA_FRAMES, CITYSCAPES_TRAIN, VAL_FRAMES = 24966, 2975, 500
TABLE2_ROWS = ("source-only", "cyclegan-2k", "sggan-2k", "sggan-25k", "oracle")
SGGAN_MEASURED_SIZE = [256, 512]  # the crop of the measured SG-GAN rate


@dataclasses.dataclass
class Job:
    row: str
    stage: str
    work: float  # iterations, images or frames
    unit: str
    rate: float  # per second
    source: str

    @property
    def hours(self) -> float:
        return self.work / self.rate / 3600


def meta_flops(run) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        run()
    return int(counter.get_total_flops())


def translator_iteration_flops(model: str, params: dict) -> float:
    """FLOPs of one training iteration of a GAN translator at batch 1 (bench_cyclegan's count)."""
    from benchmarks.bench_cyclegan import iteration_flops

    return iteration_flops(model, params)


def generator_frame_flops(model: str, params: dict, size: list[int]) -> int:
    """Forward FLOPs of a translator's generator on one frame of ``size`` (adaptation)."""
    from sggan.translators import build_translator

    torch.manual_seed(0)
    net = build_translator(model, params).generator_network().to("meta").eval()
    with torch.no_grad():
        return meta_flops(lambda: net(torch.empty(1, 3, *size, device="meta")))


def segmentation_flops(seg: dict) -> dict[str, int]:
    """Training FLOPs per sample of each stage and the whole network's forward FLOPs per val frame."""
    from segmentation.frontend import MARGIN
    from segmentation.model import DilatedNet
    from segmentation.throughput import forward_flops, training_flops

    width, classes = seg.get("width", 1.0), 19
    frontend_in = seg["crop"] + 2 * MARGIN
    joint_in = seg["joint"]["crop"] + 2 * MARGIN
    return {
        "frontend": training_flops(lambda: DilatedNet("frontend", classes, width), (3, frontend_in, frontend_in)),
        "joint": training_flops(lambda: DilatedNet("dilation10", classes, width), (3, joint_in, joint_in)),
        "context": training_flops(lambda: DilatedNet("dilation10", classes, width).context, (classes, 132, 240)),
        "frontend_frame": forward_flops(
            lambda: DilatedNet("frontend", classes, width), (3, 1024 + 2 * MARGIN, 2048 + 2 * MARGIN)
        ),
        "frame": forward_flops(
            lambda: DilatedNet("dilation10", classes, width), (3, 1024 + 2 * MARGIN, 2048 + 2 * MARGIN)
        ),
    }


def translator_jobs(config: dict) -> list[Job]:
    from sggan.translators import build_translator

    splits = config["splits"]
    target = splits["translator_target"]
    sggan_rate, sggan_source = MEASURED["sggan_train_it_s"]
    sggan_flops = translator_iteration_flops(
        "sggan", {"load_size": SGGAN_MEASURED_SIZE, "crop_size": SGGAN_MEASURED_SIZE}
    )
    adapt_rate, adapt_source = MEASURED["adapt_frames_s"]
    unet_frame = generator_frame_flops("sggan", {}, config["adaptation"]["working_size"])
    jobs = []
    for row, spec in config["translators"].items():
        model, params = spec["model"], spec.get("params", {})
        if model == "identity":
            continue  # copies the frames
        translator = build_translator(model, params).config
        regime = splits["regimes"][spec["regime"]]
        source_frames = GTA_FRAMES - splits["heldout_source"] if regime == "all" else regime
        per_epoch = min(source_frames, target) // translator.batch_size
        if translator.max_iterations_per_epoch:
            per_epoch = min(per_epoch, translator.max_iterations_per_epoch)
        iterations = translator.epochs * per_epoch
        flops = translator_iteration_flops(model, params)
        rate = sggan_rate * sggan_flops / flops
        source = (
            sggan_source
            if model == "sggan" and flops == sggan_flops
            else (
                f"not measured: SG-GAN's {sggan_rate} it/s scaled by FLOPs "
                f"({flops / 1e12:.2f} vs {sggan_flops / 1e12:.2f} TFLOP per iteration)"
            )
        )
        jobs.append(Job(row, f"train {model}", iterations, "iterations", rate, source))
        # adaptation: the codec's floor, or the generator when it is slower than that
        frame_flops = generator_frame_flops(model, params, config["adaptation"]["working_size"])
        network_rate = MEASURED["unet_alone_frames_s"][0] * unet_frame / frame_flops
        rate = min(adapt_rate, network_rate)
        source = (
            adapt_source
            if rate == adapt_rate
            else f"the generator ({frame_flops / 1e12:.2f} TFLOP/frame) at the U-Net's measured TFLOP/s"
        )
        jobs.append(Job(row, "adapt", GTA_FRAMES, "frames", rate, source))
    return jobs


def segmentation_jobs(config: dict, rows: list[str]) -> list[Job]:
    seg = config["segmentation"]
    flops = segmentation_flops(seg)
    frontend_rate, frontend_source = MEASURED["frontend_train_img_s"]
    achieved = frontend_rate * flops["frontend"]  # FLOP/s of the measured front-end stage
    infer_s, infer_source = MEASURED["frontend_infer_s"]
    jobs = []
    for row in rows:
        frames = CITYSCAPES_TRAIN if row == "oracle" else GTA_FRAMES
        jobs += [
            Job(row, "front-end", seg["iterations"] * seg["batch_size"], "crops", frontend_rate, frontend_source),
            Job(row, "dump scores", frames, "frames", 1 / infer_s, infer_source),
            Job(
                row,
                "context",
                seg["context"]["iterations"] * seg["context"]["batch_size"],
                "frames",
                min(achieved / flops["context"], seg["workers"] / SCORE_FILE_LOAD_S),
                f"not measured: {seg['workers']} loader workers reading score files at {SCORE_FILE_LOAD_S * 1e3:.1f} "
                "ms each (the network at the front-end stage's TFLOP/s would be faster)",
            ),
            Job(
                row,
                "joint",
                seg["joint"]["iterations"] * seg["joint"]["batch_size"],
                "crops",
                achieved / flops["joint"],
                "not measured: the front-end stage's TFLOP/s",
            ),
            Job(
                row,
                "predict",
                VAL_FRAMES,
                "frames",
                1 / (infer_s * flops["frame"] / flops["frontend_frame"]),
                "the front-end's measured inference, scaled by FLOPs to the whole network",
            ),
        ]
    return jobs


def project(config: dict) -> list[Job]:
    rows = list(config["translators"]) + (["oracle"] if config.get("oracle", True) else [])
    return translator_jobs(config) + segmentation_jobs(config, rows)


def print_jobs(jobs: list[Job]) -> None:
    print(f"{'row':18} {'job':16} {'work':>10} {'unit':10} {'rate/s':>9} {'hours':>7}  rate from", file=sys.stderr)
    for job in jobs:
        print(
            f"{job.row:18} {job.stage:16} {job.work:10.0f} {job.unit:10} {job.rate:9.2f} {job.hours:7.2f}  "
            f"{job.source}",
            file=sys.stderr,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "workflow" / "configs" / "paper.yaml")
    parser.add_argument("--budget-hours", type=float, default=12.0)
    parser.add_argument("--results", type=Path, help="markdown log to append a row to (default: RESULTS.md)")
    parser.add_argument("--no-log", action="store_true", help="print only")
    args = parser.parse_args(argv)
    config = yaml.safe_load(args.config.read_text())
    jobs = project(config)
    print_jobs(jobs)
    total = sum(job.hours for job in jobs)
    table2 = sum(job.hours for job in jobs if job.row in TABLE2_ROWS)
    largest = sorted(jobs, key=lambda job: -job.hours)[:3]
    print(
        f"whole configuration: {total:.1f} h on one H200; Table 2's rows ({', '.join(TABLE2_ROWS)}): "
        f"{table2:.1f} h; budget {args.budget_hours:g} h",
        file=sys.stderr,
    )
    over = [job for job in jobs if job.row in TABLE2_ROWS and job.hours > args.budget_hours / 4]
    for job in over:
        print(
            f"  over a quarter of the budget: {job.row} {job.stage} {job.hours:.1f} h ({job.source})", file=sys.stderr
        )
    row = [
        now(),
        commit(),
        str(args.config.relative_to(ROOT) if args.config.is_relative_to(ROOT) else args.config),
        f"{total:.1f}",
        f"{table2:.1f}",
        f"{args.budget_hours:g}",
        ", ".join(f"{job.row} {job.stage} {job.hours:.1f}" for job in largest),
    ]
    print("| " + " | ".join(row) + " |")
    if not args.no_log:
        append_row(row, TABLE_HEADER, SECTION, SECTION_TEXT, **({"results": args.results} if args.results else {}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
