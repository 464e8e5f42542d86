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
import contextlib
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
from sggan.device import resolve_device  # noqa: E402
from sggan.training import HistoryPool  # noqa: E402
from benchmarks.bench_sggan import sggan_iteration  # noqa: E402
from sggan.translators import build_translator  # noqa: E402
from sggan.translators import cyclegan, sggan  # noqa: E402

SECTION = "## CycleGAN's iteration, layer by layer (`benchmarks/bench_cyclegan.py`)"
SECTION_TEXT = """
Paper networks at batch 1, fp32 (cuDNN TF32 allowed), one fixed synthetic batch on the device:
FLOPs per training iteration (torch's FLOP counter), iterations/s and achieved TFLOP/s of the
CycleGAN and SG-GAN iterations, and the three layer kinds of CycleGAN that take the most time
(each distinct layer timed alone, forward and backward, times its uses per iteration; the script
prints the whole table).
"""
TABLE_HEADER = ("| date | machine | card | torch | commit | size | networks | CycleGAN (TFLOP/it) | SG-GAN (TFLOP/it) "
                "| CycleGAN (it/s) | TFLOP/s | SG-GAN (it/s) | TFLOP/s | ratio | layers' sum / iteration "
                "| top layers (share of the layers' time) |")
# uses per iteration of each generator layer and each discriminator layer (see the docstring)
GENERATOR_USES, DISCRIMINATOR_USES = 4, 6


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def iteration_flops(models: nn.Module, make_iteration, config) -> int:
    """FLOPs of one training iteration, counted on the meta device (shapes only, no arithmetic)."""
    iteration = make_iteration(config, models.to("meta"), torch.device("meta"))
    with FlopCounterMode(display=False) as counter:
        iteration()
    return int(counter.get_total_flops())


def cyclegan_iteration(config, models: nn.Module, device: torch.device):
    """One CycleGAN training iteration on one fixed synthetic batch on ``device``, as a function."""
    opt_g, opt_d = cyclegan.build_optimizers(models, config)
    pool_r, pool_v = HistoryPool(config.pool_size, 1), HistoryPool(config.pool_size, 2)
    v, r = ((torch.rand(1, 3, *config.crop_size) * 2 - 1).to(device) for _ in range(2))
    return lambda: cyclegan.train_iteration(models, opt_g, opt_d, pool_r, pool_v, v, r, config,
                                            contextlib.nullcontext())


# name: (the networks, one iteration on them)
TRANSLATORS = {"cyclegan": (cyclegan.CycleGANModels, cyclegan_iteration),
               "sggan": (lambda config: sggan.SGGANModels(config, 8), sggan_iteration)}


def iterations_per_s(iteration, device: torch.device, iterations: int, warmup: int) -> float:
    for step in range(warmup + iterations):
        if step == warmup:
            sync(device)
            start = time.perf_counter()
        losses, _ = iteration()
        torch.stack([t.detach().float() for t in losses.values()]).tolist()  # the training loop's one sync
    return iterations / (time.perf_counter() - start)


def layer_inputs(net: nn.Module, shape: tuple[int, ...]) -> list[tuple[str, nn.Module, tuple[int, ...]]]:
    """(name, leaf module, input shape) of every leaf module in one forward pass, in call order."""
    seen = []
    hooks = [m.register_forward_hook(lambda m, args, out, name=name: seen.append((name, m, tuple(args[0].shape))))
             for name, m in net.named_modules() if not list(m.children())]
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
    return {"forward_s": statistics.median(forward[2:]), "backward_s": statistics.median(backward[2:]),
            "flops": int(counter.get_total_flops())}


def layer_table(config, device: torch.device, repeats: int) -> list[dict]:
    """Each distinct layer of CycleGAN's networks with its time and FLOPs per iteration, largest first."""
    torch.manual_seed(0)
    models = cyclegan.CycleGANModels(config)
    shape = (1, 3, *config.crop_size)
    kinds: dict[str, dict] = {}
    for net, uses in ((models.g_vr, GENERATOR_USES), (models.d_r, DISCRIMINATOR_USES)):
        for name, module, in_shape in layer_inputs(net, shape):
            kind = layer_kind(module, in_shape)
            entry = kinds.setdefault(kind, {"layer": kind, "module": module, "shape": in_shape, "uses": 0})
            entry["uses"] += uses
    rows = []
    for entry in kinds.values():
        timing = time_layer(entry.pop("module"), entry.pop("shape"), device, repeats)
        seconds = timing["forward_s"] + timing["backward_s"]
        rows.append({**entry, "forward_ms": 1e3 * timing["forward_s"], "backward_ms": 1e3 * timing["backward_s"],
                     "ms_per_iteration": 1e3 * seconds * entry["uses"],
                     "tflops": timing["flops"] / seconds / 1e12 if timing["flops"] else None})
    total = sum(row["ms_per_iteration"] for row in rows)
    for row in rows:
        row["share"] = row["ms_per_iteration"] / total
    return sorted(rows, key=lambda row: -row["ms_per_iteration"])


def print_layers(rows: list[dict]) -> None:
    print(f"{'layer':52} {'uses':>4} {'fwd ms':>8} {'bwd ms':>8} {'ms/it':>8} {'share':>6} {'TFLOP/s':>8}",
          file=sys.stderr)
    for row in rows:
        tflops = "" if row["tflops"] is None else f"{row['tflops']:.2f}"
        print(f"{row['layer']:52} {row['uses']:4d} {row['forward_ms']:8.2f} {row['backward_ms']:8.2f} "
              f"{row['ms_per_iteration']:8.1f} {row['share']:6.1%} {tflops:>8}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="128x256, networks of half the paper's width, U-Net depth 7, few repeats: checks "
                             "the script on a CPU")
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
    depth = next(d for d in range(8, 0, -1) if size[0] % 2 ** d == 0 and size[1] % 2 ** d == 0)
    networks = {"sggan": {"generator_depth": depth}} if depth < 8 else {}
    if args.quick:
        size, iterations, warmup, repeats = [128, 256], 2, 1, 3
        networks = {"cyclegan": {"ngf": 32, "ndf": 32}, "sggan": {"ngf": 32, "ndf": 32, "generator_depth": 7}}
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as the training loop does
    else:
        torch.set_num_threads(1)  # on small shared CPUs, several threads make timings erratic
    summary = {"date": now(), "machine": machine(), "torch": torch.__version__, "commit": commit(),
               "card": torch.cuda.get_device_name(device) if device.type == "cuda" else "none",
               "size": f"{size[0]}x{size[1]}", "networks": networks or "paper"}
    configs = {name: build_translator(name, {"load_size": size, "crop_size": size, **networks.get(name, {})}).config
               for name in TRANSLATORS}
    for name, (build_models, make_iteration) in TRANSLATORS.items():
        config = configs[name]
        torch.manual_seed(0)  # the weights' initialisation needs real values: built on the CPU
        flops = iteration_flops(build_models(config), make_iteration, config)
        torch.manual_seed(0)
        iteration = make_iteration(config, build_models(config).to(device).train(), device)
        rate = iterations_per_s(iteration, device, iterations, warmup)
        summary[name] = {"tflop_per_iteration": flops / 1e12, "iterations_per_s": rate,
                         "tflops": flops * rate / 1e12}
        print(f"{name}: {summary[name]}", file=sys.stderr)
    rows = layer_table(configs["cyclegan"], device, repeats)
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
    row = [summary["date"], summary["machine"], summary["card"], summary["torch"], summary["commit"],
           summary["size"], networks_cell, f"{cyc['tflop_per_iteration']:.2f}", f"{sg['tflop_per_iteration']:.2f}",
           f"{cyc['iterations_per_s']:.3g}", f"{cyc['tflops']:.3g}", f"{sg['iterations_per_s']:.3g}",
           f"{sg['tflops']:.3g}", f"{cyc['iterations_per_s'] / sg['iterations_per_s']:.2f}",
           f"{layers_ms / summary['iteration_ms']:.0%}", top]
    print("| " + " | ".join(row) + " |")
    if not args.no_log:
        append_row(row, TABLE_HEADER, SECTION, SECTION_TEXT, args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
