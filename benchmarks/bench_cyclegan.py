"""Where CycleGAN's training iteration spends its time, layer by layer, beside SG-GAN's iteration.

    PYTHONPATH=. python benchmarks/bench_cyclegan.py [--size 256 512] [--iterations 20] [--device auto]
    PYTHONPATH=. python benchmarks/bench_cyclegan.py --quick    # 128x256, half widths: checks the script on a CPU

Paper networks (9-block ResNet generators ngf 64 and 70x70 PatchGANs for CycleGAN; the 8-layer
U-Net and semantic PatchGAN for SG-GAN), batch 1, fp32 (cuDNN may use TF32), synthetic input:

(a) FLOPs of one training iteration of each (torch's FLOP counter on the "meta" device);
(b) each translator's iteration on one fixed batch on the device: iterations/s and achieved
    TFLOP/s, after warm-up iterations (cuDNN autotuning happens there);
(c) every distinct layer of CycleGAN's generator and discriminator timed alone, forward and
    backward, on the input shape it gets in the iteration, multiplied by how often an iteration
    runs it (each generator twice forward and backward in the G step; each discriminator once in
    the G step and twice in the D step): milliseconds per iteration, share, TFLOP/s. The sum
    against (b) shows what the layers leave to losses, optimisers and the history pool.

Prints the table of (c) and a JSON summary, and appends a row to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from benchmarks.results_log import add_output_arguments, append_row, commit, machine, now  # noqa: E402
from sggan.data.io import atomic_write_text  # noqa: E402
from sggan.data.labels import group_lut  # noqa: E402
from sggan.device import resolve_device  # noqa: E402
from sggan.training import UnpairedBatch  # noqa: E402
from sggan.translators import build_translator  # noqa: E402

SECTION = "## CycleGAN's iteration, layer by layer (`benchmarks/bench_cyclegan.py`)"
SECTION_TEXT = """
Paper networks at batch 1, fp32 (cuDNN TF32 allowed), one fixed synthetic batch on the device:
FLOPs per training iteration (torch's FLOP counter), iterations/s and achieved TFLOP/s of the
CycleGAN and SG-GAN iterations, and the three layer kinds of CycleGAN that take the most time
(each distinct layer timed alone, forward and backward, times its uses per iteration; the script
prints the whole table).
"""
TABLE_HEADER = (
    "| date | machine | card | torch | commit | size | networks | CycleGAN (TFLOP/it) | SG-GAN (TFLOP/it) "
    "| CycleGAN (it/s) | TFLOP/s | SG-GAN (it/s) | TFLOP/s | ratio | layers' sum / iteration "
    "| top layers (share of the layers' time) |"
)
# uses per iteration of each generator layer and each discriminator layer (see the docstring)
GENERATOR_USES, DISCRIMINATOR_USES = 4, 6


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def synthetic_batch(translator, device: torch.device) -> UnpairedBatch:
    """One batch of random frames with blocky label maps and their group masks, on ``device``."""
    height, width = translator.config.crop_size
    groups = len(group_lut(translator.grouping())[1])
    generator = torch.Generator().manual_seed(0)

    def domain():
        labels = torch.randint(0, 34, (1, height // 8, width // 8), generator=generator)
        labels = labels.repeat_interleave(8, 1).repeat_interleave(8, 2)
        mask = nn.functional.one_hot(labels[:, ::8, ::8] % groups, groups).permute(0, 3, 1, 2).float()
        return torch.rand(1, 3, height, width, generator=generator) * 2 - 1, labels, mask

    return UnpairedBatch(*(t.to(device) for t in (*domain(), *domain())))


def iteration(name: str, params: dict, device: torch.device):
    """A GAN translator built on ``device`` (the training contract) and one iteration of it, as a
    function, on one fixed synthetic batch, in its last epoch's settings."""
    translator = build_translator(name, params)
    torch.manual_seed(0)
    translator.build(device, seed=0)
    translator.before_epoch(translator.config.epochs - 1)
    batch = synthetic_batch(translator, device)
    return translator, lambda step: translator.train_step(batch, step)


def iteration_flops(name: str, params: dict, steps: int = 4) -> float:
    """FLOPs of a training iteration, the mean of the first ``steps`` (DualGAN steps its generators
    every n_critic-th), counted on the meta device (shapes only, no arithmetic)."""
    _, step = iteration(name, params, torch.device("meta"))
    with FlopCounterMode(display=False) as counter:
        for i in range(steps):
            step(i)
    return counter.get_total_flops() / steps


def iterations_per_s(step, device: torch.device, iterations: int, warmup: int) -> float:
    for i in range(warmup + iterations):
        if i == warmup:
            sync(device)
            start = time.perf_counter()
        losses, _ = step(i)
        torch.stack([t.detach().float() for t in losses.values()]).tolist()  # the training loop's one sync
    return iterations / (time.perf_counter() - start)


def layer_inputs(net: nn.Module, shape: tuple[int, ...]) -> list[tuple[str, nn.Module, tuple[int, ...]]]:
    """(name, leaf module, input shape) of every leaf module in one forward pass, in call order."""
    seen = []
    hooks = [
        m.register_forward_hook(lambda m, args, out, name=name: seen.append((name, m, tuple(args[0].shape))))
        for name, m in net.named_modules()
        if not list(m.children())
    ]
    with torch.no_grad():
        net(torch.zeros(shape))
    for hook in hooks:
        hook.remove()
    return seen


def layer_kind(module: nn.Module, shape: tuple[int, ...]) -> str:
    size = f"{shape[-2]}x{shape[-1]}"
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        k, s = module.kernel_size[0], module.stride[0]
        return f"{type(module).__name__} {k}x{k}/{s} {module.in_channels}->{module.out_channels} @{size}"
    if isinstance(module, nn.ReflectionPad2d):
        return f"ReflectionPad2d {module.padding[0]} {shape[1]}ch @{size}"
    return f"{type(module).__name__} {shape[1]}ch @{size}"


def time_layer(module: nn.Module, shape: tuple[int, ...], device: torch.device, repeats: int) -> dict:
    """Median forward and backward seconds of one layer alone, and its forward + backward FLOPs."""
    module = module.to(device)
    x = torch.randn(shape, device=device, requires_grad=True)
    grad = torch.randn_like(module(x))
    with FlopCounterMode(display=False) as counter:
        module(x).backward(grad)
    forward, backward = [], []
    for _ in range(repeats + 2):  # two warm-up calls
        x.grad = None
        sync(device)
        start = time.perf_counter()
        y = module(x)
        sync(device)
        middle = time.perf_counter()
        y.backward(grad)
        sync(device)
        forward.append(middle - start)
        backward.append(time.perf_counter() - middle)
    return {
        "forward_s": statistics.median(forward[2:]),
        "backward_s": statistics.median(backward[2:]),
        "flops": int(counter.get_total_flops()),
    }


def layer_table(params: dict, device: torch.device, repeats: int) -> list[dict]:
    """Each distinct layer of CycleGAN's networks with its time and FLOPs per iteration, largest first."""
    translator, _ = iteration("cyclegan", params, torch.device("cpu"))
    nets = translator.nets
    shape = (1, 3, *translator.config.crop_size)
    kinds: dict[str, dict] = {}
    for net, uses in ((nets.g_vr, GENERATOR_USES), (nets.d_r, DISCRIMINATOR_USES)):
        for _name, module, in_shape in layer_inputs(net, shape):
            kind = layer_kind(module, in_shape)
            entry = kinds.setdefault(kind, {"layer": kind, "module": module, "shape": in_shape, "uses": 0})
            entry["uses"] += uses
    rows = []
    for entry in kinds.values():
        timing = time_layer(entry.pop("module"), entry.pop("shape"), device, repeats)
        seconds = timing["forward_s"] + timing["backward_s"]
        rows.append(
            {
                **entry,
                "forward_ms": 1e3 * timing["forward_s"],
                "backward_ms": 1e3 * timing["backward_s"],
                "ms_per_iteration": 1e3 * seconds * entry["uses"],
                "tflops": timing["flops"] / seconds / 1e12 if timing["flops"] else None,
            }
        )
    total = sum(row["ms_per_iteration"] for row in rows)
    for row in rows:
        row["share"] = row["ms_per_iteration"] / total
    return sorted(rows, key=lambda row: -row["ms_per_iteration"])


def print_layers(rows: list[dict]) -> None:
    print(
        f"{'layer':52} {'uses':>4} {'fwd ms':>8} {'bwd ms':>8} {'ms/it':>8} {'share':>6} {'TFLOP/s':>8}",
        file=sys.stderr,
    )
    for row in rows:
        tflops = "" if row["tflops"] is None else f"{row['tflops']:.2f}"
        print(
            f"{row['layer']:52} {row['uses']:4d} {row['forward_ms']:8.2f} {row['backward_ms']:8.2f} "
            f"{row['ms_per_iteration']:8.1f} {row['share']:6.1%} {tflops:>8}",
            file=sys.stderr,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="128x256, networks of half the paper's width, U-Net depth 7, few repeats: checks the script on a CPU",
    )
    parser.add_argument("--size", type=int, nargs=2, default=[256, 512], metavar=("H", "W"))
    parser.add_argument("--iterations", type=int, default=20, help="timed iterations of each translator")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=10, help="timed calls of each layer (median)")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    size, iterations, warmup, repeats = args.size, args.iterations, args.warmup, args.repeats
    # per translator; none: the paper's. The paper's U-Net needs sides that are multiples of 256:
    # at other sizes SG-GAN gets the deepest U-Net that fits
    depth = next(d for d in range(8, 0, -1) if size[0] % 2**d == 0 and size[1] % 2**d == 0)
    networks = {"sggan": {"generator_depth": depth}} if depth < 8 else {}
    if args.quick:
        size, iterations, warmup, repeats = [128, 256], 2, 1, 3
        networks = {"cyclegan": {"ngf": 32, "ndf": 32}, "sggan": {"ngf": 32, "ndf": 32, "generator_depth": 7}}
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as the training loop does
    else:
        torch.set_num_threads(1)  # on small shared CPUs, several threads make timings erratic
    summary = {
        "date": now(),
        "machine": machine(),
        "torch": torch.__version__,
        "commit": commit(),
        "card": torch.cuda.get_device_name(device) if device.type == "cuda" else "none",
        "size": f"{size[0]}x{size[1]}",
        "networks": networks or "paper",
    }
    params = {name: {"load_size": size, "crop_size": size, **networks.get(name, {})} for name in ("cyclegan", "sggan")}
    for name in params:
        flops = iteration_flops(name, params[name])
        rate = iterations_per_s(iteration(name, params[name], device)[1], device, iterations, warmup)
        summary[name] = {"tflop_per_iteration": flops / 1e12, "iterations_per_s": rate, "tflops": flops * rate / 1e12}
        print(f"{name}: {summary[name]}", file=sys.stderr)
    rows = layer_table(params["cyclegan"], device, repeats)
    print_layers(rows)
    layers_ms = sum(row["ms_per_iteration"] for row in rows)
    summary["layers"] = rows
    summary["layers_ms_per_iteration"] = layers_ms
    summary["iteration_ms"] = 1e3 / summary["cyclegan"]["iterations_per_s"]
    print(json.dumps(summary, indent=1))
    if args.json:
        atomic_write_text(args.json, json.dumps(summary, indent=1) + "\n")
    cyc, sg = summary["cyclegan"], summary["sggan"]
    top = ", ".join(f"{row['layer']} x{row['uses']} {row['share']:.0%}" for row in rows[:3])
    networks_cell = "quick" if args.quick else f"paper, U-Net depth {depth}" if networks else "paper"
    row = [
        summary["date"],
        summary["machine"],
        summary["card"],
        summary["torch"],
        summary["commit"],
        summary["size"],
        networks_cell,
        f"{cyc['tflop_per_iteration']:.2f}",
        f"{sg['tflop_per_iteration']:.2f}",
        f"{cyc['iterations_per_s']:.3g}",
        f"{cyc['tflops']:.3g}",
        f"{sg['iterations_per_s']:.3g}",
        f"{sg['tflops']:.3g}",
        f"{cyc['iterations_per_s'] / sg['iterations_per_s']:.2f}",
        f"{layers_ms / summary['iteration_ms']:.0%}",
        top,
    ]
    print("| " + " | ".join(row) + " |")
    if not args.no_log:
        append_row(row, TABLE_HEADER, SECTION, SECTION_TEXT, args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
