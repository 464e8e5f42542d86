"""The identity translator: the "source only" row of Table 2."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from sggan.translators import register
from sggan.translators.base import Translator


@register("identity")
class Identity(Translator):
    trainable = False

    def generator(self, run_dir: Path | None, device: torch.device) -> nn.Module:
        return nn.Identity().to(device).eval()
