"""Train one stage of the Dilation10 network (Yu & Koltun) into a run folder, resumably.

    # 1. front-end, from ImageNet VGG-16: 40K iterations, batch 8, 628x628 crops, SGD 1e-4, momentum 0.99
    python -m segmentation.train --arch frontend --frames LIST.tsv --run-dir FRONT
    # 2. its scores on every whole frame, once (segmentation.dump), then the context module on them
    python -m segmentation.dump --model FRONT/model.pt --frames LIST.tsv --out SCORES
    python -m segmentation.train --scores SCORES --init-from FRONT/model.pt --run-dir CONTEXT \
        --iterations 24000 --batch-size 100 --lr 1e-3 --momentum 0.9
    # 3. both together on halves of frames (1396x1396 with the margin), batch 1, lr 1e-5, momentum 0.9
    python -m segmentation.train --frames LIST.tsv --init-from CONTEXT/model.pt --run-dir JOINT \
        --iterations 60000 --batch-size 1 --crop 1024 --lr 1e-5 --momentum 0.9

Settings come as flags or as one JSON object, ``--params '{"iterations": 24000, ...}'`` (the
workflow passes each stage's merged config block so: segmentation.stages); a setting not given
keeps its default in :class:`TrainConfig`. ``--out FILE`` also writes the finished model.pt to
FILE (the workflow's declared output, when run folders live in a shared folder).

The stage follows from the arguments: ``--arch frontend`` trains the front-end alone (arch
"frontend": its scores upsampled x8); ``--scores`` trains only the context module, on a dump of
the frozen front-end's whole-frame scores (the front-end is not run at all; model.pt holds it
from ``--init-from`` unchanged); ``--frames`` with arch dilation10 (the default) trains front-end
and context module jointly on image crops (from ``--init-from``, a context or front-end model.pt;
from a front-end one, the context module starts at its identity initialisation, which the
original's documentation suggests for small datasets).

Schedule (the paper's appendix for Cityscapes, and the original train.py's defaults where the
paper gives none): front-end 40K iterations, batch 8, 628x628 crops (``--crop 256``), SGD lr 1e-4
momentum 0.99; context 24K iterations, batch 100 whole frames, lr 1e-3 momentum 0.9 (train.py);
joint 60K iterations, batch 1, 1396x1396 crops (``--crop 1024``, "halves of images"), lr 1e-5,
momentum 0.9 (train.py). The optimisation defaults are the front-end's. Weight decay 5e-4; as the
original's Caffe solver, biases learn at twice the rate and without weight decay. Constant
learning rate (the original's step policy drops it only after 100K iterations). Front-end and
joint stages compute the loss on the scores upsampled x8 against full-resolution labels; the
context stage, which holds 100 whole frames per batch, against the labels at the scores' stride
(as the original's context stage).

Initialisation: ``--init imagenet`` (default) copies torchvision's ImageNet VGG-16 into the
front-end (segmentation.vgg_init; ``--init-weights PATH`` for a local copy of the file),
``--init scratch`` starts from He initialisation (toy runs: a width-1/16 network, Adam).
``--init-from`` (a previous stage's model.pt) takes precedence over both.

Speed: on CUDA, bf16 autocast and channels-last (``--no-amp``: fp32); on a CPU, channels-last;
``--workers K`` decodes and crops in K DataLoader processes into pinned memory. Several GPUs: launch
with torchrun (see segmentation.distributed); ``--batch-size`` stays the global batch, each process
computes its slice, ``--accumulate N`` splits each process's slice into N sequential micro-batches
for memory; either way the update is that of the whole batch. DIR/train_log.csv logs iteration, loss
(mean since the previous row), images/s, TFLOP/s (FLOPs counted once by torch's FLOP counter) and,
with ``--peak-tflops`` (per device), the model FLOP utilisation; ``--tensorboard`` (the
``tensorboard`` extra) writes the same numbers to DIR/tensorboard.

Class balance: the loss weighs all labelled pixels alike (the paper); ``--class-balanced
--class-stats FILE`` (segmentation.class_stats) samples crops class-uniformly instead.

DIR/checkpoint.pt (model, optimizer, iteration, every rank's RNG states, arguments) is written
atomically every ``--checkpoint-every`` iterations and at the end; rerunning the same command
resumes from it, and the result is the same as an uninterrupted run (on CPU bit for bit: the
samples are a function of (seed, sample number), the dropout RNG states are checkpointed).
``--iterations`` may be raised on resume; the other run-defining arguments must match.
DIR/model.pt ({model, model_config, args}) is written last and marks completion.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import time
import typing
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from segmentation import distributed
from segmentation.class_stats import load_balance
from segmentation.data import DumpedScores, TrainCrops, pad_collate, to_network
from segmentation.distributed import RankSamples, World
from segmentation.frontend import MARGIN
from segmentation.model import ARCHS, DilatedNet, use_channels_last
from segmentation.throughput import training_flops, utilisation
from segmentation.vgg_init import init_from_imagenet
from sggan import runs, version
from sggan.cli import parse_json, run
from sggan.config_values import ConfigError, checked
from sggan.data.io import atomic_write, read_frame_list
from sggan.data.labels import IGNORE, NUM_CLASSES
from sggan.device import resolve_device
from sggan.progress import tqdm


@dataclass
class TrainConfig:
    out: str
    frames: str | None = None  # frame list (front-end and joint stages)
    scores: str | None = None  # dumped front-end scores (context stage)
    arch: str = "dilation10"  # dilation10 (the paper's network) | frontend (the front-end stage)
    init: str = "imagenet"  # imagenet (the paper) | scratch (front-end weights, unless init_from)
    init_weights: str | None = None  # local copy of torchvision's VGG-16 weights
    init_from: str | None = None  # a previous stage's model.pt
    iterations: int = 40000
    batch_size: int = 8  # global batch per iteration
    accumulate: int = 1  # micro-batches per process per iteration
    crop: tuple[int, int] = (256, 256)  # output (label) height, width; the network sees crop + 372
    lr: float = 1e-4
    momentum: float = 0.99  # SGD momentum, or Adam's beta1
    weight_decay: float = 5e-4
    optimizer: str = "sgd"  # sgd (paper) | adam (toy runs)
    width: float = 1.0  # channel multiplier; 1.0 is VGG-16
    class_balanced: bool = False
    class_stats: str | None = None
    seed: int = 0
    device: str = "auto"
    workers: int = 0
    checkpoint_every: int = 1000
    log_every: int = 20
    amp: bool = True  # bf16 autocast and channels-last on CUDA
    peak_tflops: float | None = None
    tensorboard: bool = False  # also log train_log.csv's numbers to DIR/tensorboard (the extra)

    @property
    def stage(self) -> str:
        if self.scores:
            return "context"
        return "frontend" if self.arch == "frontend" else "joint"


# Arguments that define what is learned; a resumed run must agree on them. (Iterations may grow;
# device, workers, accumulation and logging may change.)
RUN_DEFINING = (
    "frames",
    "scores",
    "arch",
    "init",
    "init_weights",
    "init_from",
    "batch_size",
    "crop",
    "lr",
    "momentum",
    "weight_decay",
    "optimizer",
    "width",
    "class_balanced",
    "class_stats",
    "seed",
)
LOG_FIELDS = ["iteration", "loss", "images_per_s", "tflops", "mfu"]


def check_config(config: TrainConfig, world: World) -> None:
    """Refuse contradictory arguments before anything is loaded."""
    problems = []
    if config.arch not in ARCHS:
        problems.append(f"--arch must be one of {ARCHS}")
    if config.init not in ("imagenet", "scratch"):
        problems.append("--init must be imagenet or scratch")
    if config.scores:
        if config.arch != "dilation10":
            problems.append("--scores trains the context module: it needs --arch dilation10")
        if not config.init_from:
            problems.append("--scores needs --init-from FRONTEND/model.pt (the front-end that made the scores)")
        if config.class_balanced:
            problems.append("--class-balanced samples image crops; the context stage trains on whole frames")
    elif not config.frames:
        problems.append("--frames is required (or --scores for the context stage)")
    if config.class_balanced and not config.class_stats:
        problems.append("--class-balanced needs --class-stats FILE (python -m segmentation.class_stats)")
    if config.batch_size % (world.size * config.accumulate):
        problems.append(
            f"--batch-size {config.batch_size} must split into {world.size} process(es) x "
            f"--accumulate {config.accumulate} equal micro-batches"
        )
    if problems:
        raise ValueError("; ".join(problems))


def build_model(config: TrainConfig, world: World) -> DilatedNet:
    """The network at the start of training: a previous stage's weights, ImageNet's, or fresh ones."""
    model = DilatedNet(config.arch, NUM_CLASSES, config.width)
    if config.init_from:
        load_previous_stage(model, Path(config.init_from))
    elif config.init == "imagenet" and world.rank == 0:  # DistributedDataParallel copies rank 0's weights
        init_from_imagenet(model.frontend, config.init_weights)
    return model


def load_previous_stage(model: DilatedNet, path: Path) -> None:
    """All of a previous stage's weights, or only its front-end's when the two archs differ."""
    if not path.is_file():
        raise FileNotFoundError(
            f"--init-from {path} does not exist; it is written by the previous stage's `python -m segmentation.train`"
        )
    saved = runs.load(path, weights_only=True, fix="train the previous stage again")
    previous = saved["model_config"]
    if (previous["width"], previous["num_classes"]) != (model.frontend.width, model.frontend.num_classes):
        raise ValueError(
            f"{path} is a width-{previous['width']} network with {previous['num_classes']} classes; "
            f"this stage builds width {model.frontend.width} with {model.frontend.num_classes}"
        )
    if previous.get("arch", "frontend") == model.arch:
        model.load_state_dict(saved["model"])
    else:
        model.frontend.load_state_dict(
            {
                key.removeprefix("frontend."): value
                for key, value in saved["model"].items()
                if key.startswith("frontend.")
            }
        )


def trained_part(model: DilatedNet, config: TrainConfig) -> nn.Module:
    """What this stage optimises: the context module alone, or the whole network."""
    return model.context if config.stage == "context" else model


def build_optimizer(module: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    # The original's Caffe layers: weights lr x1 with weight decay, biases lr x2 without.
    weights = [p for name, p in module.named_parameters() if not name.endswith("bias")]
    biases = [p for name, p in module.named_parameters() if name.endswith("bias")]
    groups = [
        {"params": weights, "lr": config.lr, "weight_decay": config.weight_decay},
        {"params": biases, "lr": 2 * config.lr, "weight_decay": 0.0},
    ]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum)
    if config.optimizer == "adam":
        return torch.optim.Adam(groups, lr=config.lr, betas=(config.momentum, 0.999))
    raise ValueError(f"unknown optimizer {config.optimizer!r}; use 'sgd' or 'adam'")


def network_input(batch: tuple, stage: str, device: torch.device, amp: bool) -> tuple[tuple, torch.Tensor]:
    """(the network's arguments, labels), on the device: normalised image crops, or dumped scores
    with the mask of their padding (segmentation.data.pad_collate)."""
    if stage == "context":
        scores, labels, valid = (t.to(device, non_blocking=True) for t in batch)
        inputs = (scores.float(), valid)
    else:
        images, labels = batch
        inputs = (to_network(images, device),)
        labels = labels.to(device, non_blocking=True)
    if use_channels_last(device, amp):
        inputs = (inputs[0].contiguous(memory_format=torch.channels_last), *inputs[1:])
    return inputs, labels


def train_step(
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    micro_batches: list,
    stage: str,
    device: torch.device,
    amp: bool,
    world: World,
) -> float:
    """One update from this process's micro-batches; returns the global batch's mean pixel loss.

    Cross-entropy summed over pixels, divided by the labelled pixels of the whole global batch
    (all micro-batches of all ranks; ignore = 255; 0 labelled pixels give a zero loss, not NaN).
    DistributedDataParallel averages gradients over ranks, hence the factor world.size.
    """
    labelled = sum((batch[1] != IGNORE).sum() for batch in micro_batches)
    total = distributed.sum_across(torch.as_tensor(labelled, dtype=torch.float64, device=device), world)
    scale = world.size / total.clamp(min=1).item()
    optimizer.zero_grad(set_to_none=True)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    for i, batch in enumerate(micro_batches):
        inputs, labels = network_input(batch, stage, device, amp)
        last = i == len(micro_batches) - 1
        with net.no_sync() if world.distributed and not last else nullcontext():
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                logits = net(*inputs)  # per pixel (float32 already), or stride-8 scores for the context stage
            loss = F.cross_entropy(logits.float(), labels.long(), ignore_index=IGNORE, reduction="sum")
            (loss * scale).backward()
        loss_sum += loss.detach()
    optimizer.step()
    return (distributed.sum_across(loss_sum, world) / total.clamp(min=1)).item()


def make_loader(
    config: TrainConfig, start: int, device: torch.device, world: World, balance: np.ndarray | None
) -> DataLoader:
    """This rank's micro-batches for iterations start+1 .. config.iterations, in order."""
    if config.stage == "context":
        dataset, collate = DumpedScores(config.scores, config.seed), pad_collate
    else:
        dataset, collate = TrainCrops(read_frame_list(config.frames), config.crop, config.seed, balance), None
    samples = RankSamples(start, config.iterations, config.batch_size, world)
    # Its own generator, so creating the loader does not draw from the global RNG (dropout's).
    return DataLoader(
        dataset,
        batch_size=samples.per_rank // config.accumulate,
        sampler=samples,
        num_workers=config.workers,
        collate_fn=collate,
        pin_memory=device.type == "cuda",
        generator=torch.Generator(),
        prefetch_factor=4 if config.workers else None,
        persistent_workers=False,
    )


def sample_shape(config: TrainConfig) -> tuple[int, ...]:
    """One training sample's input shape: an image crop with its margin, or a frame's dumped scores."""
    if config.stage == "context":
        dataset = DumpedScores(config.scores, config.seed)
        return tuple(dataset[0][0].shape)
    return (3, config.crop[0] + 2 * MARGIN, config.crop[1] + 2 * MARGIN)


def count_flops(config: TrainConfig) -> int:
    build = lambda: trained_part(DilatedNet(config.arch, NUM_CLASSES, config.width), config)  # noqa: E731
    return training_flops(build, sample_shape(config))


def save_checkpoint(path: Path, model: nn.Module, optimizer, iteration: int, config: TrainConfig, world: World) -> None:
    states = distributed.gather_objects(runs.capture_rng(), world)  # every rank takes part
    if world.rank == 0:
        runs.atomic_save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "iteration": iteration,
                "rng": states,
                "args": dataclasses.asdict(config),
                "code_version": version.code_version(),
            },
            path,
        )


def resume(path: Path, model: nn.Module, optimizer, config: TrainConfig, world: World) -> int:
    """Load checkpoint.pt if there is one; returns the iteration it reached (0 without one)."""
    if not path.exists():
        return 0
    checkpoint = runs.load_checkpoint(path)
    current = dataclasses.asdict(config)
    runs.check_resumable(path, checkpoint["args"], {key: current[key] for key in RUN_DEFINING})
    if checkpoint["iteration"] > config.iterations:
        raise runs.RunFolderError(
            f"{path} is at iteration {checkpoint['iteration']}, past the "
            f"{config.iterations} asked for; raise --iterations or use another --out"
        )
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    states = checkpoint["rng"]
    if len(states) == world.size:
        runs.restore_rng(states[world.rank])
    else:  # another number of processes: the samples are the same, the dropout masks cannot be
        runs.seed_everything(runs.rank_seed(config.seed + checkpoint["iteration"], world.rank))
        if world.rank == 0:
            print(
                f"{path} was written by {len(states)} process(es), this run has {world.size}: "
                f"the dropout masks will differ from an uninterrupted run",
                file=sys.stderr,
            )
    if world.rank == 0:
        print(f"resuming {path} at iteration {checkpoint['iteration']}", file=sys.stderr)
    return checkpoint["iteration"]


def fit(config: TrainConfig, progress: bool = True) -> DilatedNet:
    """Train (or resume) into config.out; returns the trained network (on every rank)."""
    world = distributed.world_from_env()
    check_config(config, world)
    out = Path(config.out)
    checkpoint_path = out / "checkpoint.pt"
    device = distributed.start(world, resolve_device(config.device))
    amp = config.amp and device.type == "cuda"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed crop sizes: let cuDNN pick its fastest kernels

    torch.manual_seed(config.seed)  # the same initial weights on every rank
    model = build_model(config, world).to(device)
    if use_channels_last(device, amp):
        model = model.to(memory_format=torch.channels_last)
    part = trained_part(model, config)
    optimizer = build_optimizer(part, config)
    runs.seed_everything(runs.rank_seed(config.seed, world.rank))
    start = resume(checkpoint_path, model, optimizer, config, world)
    balance = load_balance(config.class_stats, read_frame_list(config.frames)) if config.class_balanced else None
    flops = count_flops(config)
    net = (
        DistributedDataParallel(part, device_ids=[device.index] if device.type == "cuda" else None)
        if world.distributed
        else part
    )

    model.train()
    lead = world.rank == 0
    out.mkdir(parents=True, exist_ok=True)
    log = (
        runs.ResumableLog(
            out / "train_log.csv",
            LOG_FIELDS,
            "iteration",
            start,
            tensorboard=out / "tensorboard" if config.tensorboard else None,
            scalars=LOG_FIELDS[1:],
        )
        if lead
        else None
    )
    losses, window_start = [], time.perf_counter()
    try:
        batches = iter(make_loader(config, start, device, world, balance))
        bar = tqdm(
            total=config.iterations,
            initial=start,
            desc=f"{config.stage} -> {out}",
            unit="it",
            disable=not (progress and lead),
            file=sys.stderr,
        )
        for iteration in range(start + 1, config.iterations + 1):
            micro_batches = [next(batches) for _ in range(config.accumulate)]
            loss = train_step(net, optimizer, micro_batches, config.stage, device, amp, world)
            if not np.isfinite(loss):
                raise FloatingPointError(
                    f"loss became {loss} at iteration {iteration}; lower --lr "
                    f"(now {config.lr}) or resume from an earlier checkpoint"
                )
            losses.append(loss)
            bar.update(1)
            if lead and (iteration % config.log_every == 0 or iteration == config.iterations):
                images_per_s = len(losses) * config.batch_size / (time.perf_counter() - window_start)
                tflops, mfu = utilisation(flops, images_per_s, config.peak_tflops, world.size)
                mean_loss = sum(losses) / len(losses)
                log.write(
                    {
                        "iteration": iteration,
                        "loss": f"{mean_loss:.5f}",
                        "images_per_s": f"{images_per_s:.2f}",
                        "tflops": f"{tflops:.4g}",
                        "mfu": "" if mfu is None else f"{mfu:.4f}",
                    }
                )
                bar.set_postfix(loss=f"{mean_loss:.3f}", img_s=f"{images_per_s:.1f}")
            if iteration % config.log_every == 0:
                losses, window_start = [], time.perf_counter()
            if iteration % config.checkpoint_every == 0 or iteration == config.iterations:
                saving = time.perf_counter()
                save_checkpoint(checkpoint_path, model, optimizer, iteration, config, world)
                window_start += time.perf_counter() - saving  # images/s measures training alone
        bar.close()
    finally:
        if log is not None:
            log.close()
    if lead:
        runs.atomic_save(
            {
                "model": model.state_dict(),
                "model_config": model.config(),
                "args": dataclasses.asdict(config),
                "code_version": version.code_version(),
            },
            out / "model.pt",
        )
    distributed.barrier(world)
    distributed.stop(world)
    return model


def train(config: TrainConfig, progress: bool = True) -> Path:
    """Train (or resume) into config.out; returns the path of model.pt."""
    fit(config, progress)
    return Path(config.out) / "model.pt"


# TrainConfig fields that name files or the run rather than settings of the stage: flags only.
RUN_FIELDS = ("out", "frames", "scores", "init_from", "class_stats", "seed", "device")


def config_from_settings(settings: dict, **run) -> TrainConfig:
    """A TrainConfig from a stage's settings (``--params`` JSON, segmentation.stages) and the run's
    paths; a setting of the wrong type or an unknown one is refused, naming it."""
    fields = {field.name for field in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(settings) - fields | set(settings) & set(RUN_FIELDS))
    if unknown:
        raise ConfigError(f"unknown segmentation setting(s) {unknown}; known: {sorted(fields - set(RUN_FIELDS))}")
    values = {key: typed_setting(key, value, f"segmentation setting {key}") for key, value in settings.items()}
    return TrainConfig(**values, **run)


def typed_setting(key: str, value, where: str):
    """``value`` as TrainConfig's field ``key`` holds it (a float from an int, a tuple from a list,
    a square crop from one side), or a ConfigError naming ``where``."""
    if key == "crop" and isinstance(value, int) and not isinstance(value, bool):
        value = [value, value]  # one side: a square
    return checked(value, typing.get_type_hints(TrainConfig)[key], where)


def parse_args(argv: list[str] | None = None) -> tuple[TrainConfig, str | None]:
    """The stage's TrainConfig, and the path --out asks the finished model to be written to."""
    # No argparse defaults: a setting not given keeps TrainConfig's default, its one home.
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, argument_default=argparse.SUPPRESS
    )
    p.add_argument("--run-dir", dest="out", required=True, help="run folder: checkpoint.pt, model.pt, train_log.csv")
    p.add_argument("--out", dest="model_out", help="also write the finished model.pt to this path")
    p.add_argument(
        "--params",
        default="{}",
        help="the stage's settings as JSON (TrainConfig fields, as "
        "segmentation.stages writes them); a setting given here and as a flag is refused",
    )
    p.add_argument("--frames", help="frame list (TSV: id, image, label) to train on (front-end, joint)")
    p.add_argument("--scores", help="dumped front-end scores (segmentation.dump): train the context module")
    p.add_argument("--arch", choices=ARCHS, help="the front-end alone, or with the context module (default)")
    p.add_argument(
        "--init",
        choices=["imagenet", "scratch"],
        help="front-end start: torchvision's ImageNet VGG-16 (default), or random (He)",
    )
    p.add_argument("--init-weights", help="local copy of torchvision's VGG-16 weights (vgg16-397923af.pth)")
    p.add_argument("--init-from", help="a previous stage's model.pt to start from")
    p.add_argument("--iterations", type=int)
    p.add_argument("--batch-size", type=int, help="global batch per iteration")
    p.add_argument(
        "--accumulate", type=int, help="split each process's share of a batch into N sequential micro-batches"
    )
    p.add_argument(
        "--crop",
        type=int,
        nargs="+",
        metavar="SIDE",
        help="output side of a square crop, or its height and width; multiples of 8 "
        "(the network sees crop + 372: 256 -> the paper's 628)",
    )
    p.add_argument("--lr", type=float)
    p.add_argument("--momentum", type=float, help="SGD momentum or Adam beta1")
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--optimizer", choices=["sgd", "adam"])
    p.add_argument("--width", type=float, help="channel multiplier (1 = VGG-16)")
    p.add_argument("--class-balanced", action="store_true", help="sample crops class-uniformly (not the paper)")
    p.add_argument("--class-stats", help="class_stats.json of the frame list (segmentation.class_stats)")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="auto, cpu, cuda, cuda:1 ...")
    p.add_argument("--workers", type=int, help="DataLoader processes decoding frames")
    p.add_argument("--checkpoint-every", type=int)
    p.add_argument("--log-every", type=int)
    p.add_argument("--no-amp", dest="amp", action="store_false", help="full fp32 on CUDA")
    p.add_argument("--peak-tflops", type=float, help="the device's peak dense bf16 TFLOP/s, for the MFU log")
    p.add_argument(
        "--tensorboard", action="store_true", help="also log loss, images/s, TFLOP/s to DIR/tensorboard (the extra)"
    )
    args = vars(p.parse_args(argv))
    model_out = args.pop("model_out", None)
    settings = parse_json(args.pop("params"), "--params")
    if not isinstance(settings, dict):
        p.error("--params must be a JSON object of settings")
    if "crop" in args:
        if len(args["crop"]) not in (1, 2):
            p.error("--crop takes one side (a square) or a height and a width")
        args["crop"] = tuple(args["crop"] * (3 - len(args["crop"])))
    twice = sorted(set(settings) & set(args))
    if twice:
        p.error(f"{twice} given both in --params and as flags; give each setting once")
    run = {key: args.pop(key) for key in RUN_FIELDS if key in args}
    try:
        config = config_from_settings({**settings, **args}, **run)
    except ValueError as err:
        p.error(str(err))
    if (
        config.iterations < 0
        or min(config.batch_size, config.accumulate, config.checkpoint_every, config.log_every) < 1
    ):
        p.error("--iterations must be >= 0; --batch-size, --accumulate, --checkpoint-every, --log-every >= 1")
    try:
        check_config(config, distributed.world_from_env())
    except ValueError as err:
        p.error(str(err))
    return config, model_out


def main(argv: list[str] | None = None) -> None:
    config, model_out = parse_args(argv)
    start = time.perf_counter()
    path = train(config)
    if distributed.world_from_env().rank == 0:
        if model_out and Path(model_out).resolve() != path.resolve():
            atomic_write(Path(model_out), lambda tmp: shutil.copyfile(path, tmp))
        print(f"trained {config.stage} -> {model_out or path} in {time.perf_counter() - start:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    run(main)
