"""Training FLOPs, counted once by torch's FLOP counter, and the model FLOP utilisation they give.

The count runs on the "meta" device (shapes only, no memory, no arithmetic), so even the paper's
134 M-parameter network at a 628x628 crop is counted in about a second on a CPU: forward and
backward of one sample, as the training step runs them (the loss itself is not counted).
Achieved TFLOP/s = FLOPs per sample x samples per second; MFU = achieved / peak, where peak is
the accelerator's dense bf16 rate as its maker states it (e.g. 989 TFLOP/s for an H100 SXM), given
with ``--peak-tflops``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def training_flops(build: Callable[[], nn.Module], sample_shape: tuple[int, ...]) -> int:
    """FLOPs of forward + backward of ``build()`` on one sample of ``sample_shape`` (no batch dim)."""
    with torch.device("meta"):
        module = build()
        x = torch.empty(1, *sample_shape)
    module.train()
    with FlopCounterMode(display=False) as counter:
        module(x).float().sum().backward()
    return int(counter.get_total_flops())


def forward_flops(build: Callable[[], nn.Module], sample_shape: tuple[int, ...]) -> int:
    with torch.device("meta"):
        module = build()
        x = torch.empty(1, *sample_shape)
    module.eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    return int(counter.get_total_flops())


def utilisation(
    flops_per_sample: int, samples_per_s: float, peak_tflops: float | None, devices: int = 1
) -> tuple[float, float | None]:
    """(achieved TFLOP/s over all devices, MFU in [0, 1] or None without a peak)."""
    achieved = flops_per_sample * samples_per_s / 1e12
    return achieved, (achieved / (peak_tflops * devices) if peak_tflops else None)
