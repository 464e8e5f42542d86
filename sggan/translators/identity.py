"""The identity translator: the "source only" row of Table 2.

Adaptation copies each frame unchanged (no resize round trip through a working size), except
that a frame whose image size differs from its label's is resized to the label's size, as
every translator's output must be.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import torch
from torch import nn
from sggan.progress import tqdm

from sggan.adaptation import AdaptOptions, output_path
from sggan.data.io import Frame, atomic_write, image_size, read_image, write_image
from sggan.translators import register
from sggan.translators.base import Translator


@register("identity")
class Identity(Translator):
    trainable = False

    def generator(self, run_dir: Path | None, device: torch.device) -> nn.Module:
        return nn.Identity().to(device).eval()

    def adapt(self, frames: list[Frame], out_dir: Path, run_dir: Path | None, options: AdaptOptions) -> None:
        for frame in tqdm(frames, desc=f"identity -> {out_dir}", unit="frame"):
            out = output_path(out_dir, frame)
            if out.exists():
                continue
            label_hw = image_size(frame.label)
            if image_size(frame.image) == label_hw and frame.image.suffix == ".png":
                atomic_write(out, lambda tmp: shutil.copyfile(frame.image, tmp))
            else:
                rgb = cv2.resize(read_image(frame.image), label_hw[::-1], interpolation=cv2.INTER_LINEAR)
                write_image(out, rgb)
