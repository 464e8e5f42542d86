"""The identity translator: the "source only" row of Table 2.

Adaptation passes each frame on unchanged (no resize round trip through a working size): its
output is the source PNG itself, a hard link (or, across filesystems, a symbolic link), so the
row costs no disk instead of a copy of the source (70 GB for GTA-V). A frame whose image size
differs from its label's (or that is not a PNG) is written as a PNG at its label's size, as
every translator's output must be.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import torch
from torch import nn

from sggan.adaptation import AdaptOptions
from sggan.adapted import output_path
from sggan.data.io import Frame, image_size, read_image, write_image
from sggan.progress import tqdm
from sggan.translators import register
from sggan.translators.base import Translator


def link(source: Path, out: Path) -> None:
    """Make `out` the source file itself: a hard link, or a symbolic link to the source's absolute
    path where a hard link cannot be made (another filesystem, or one that forbids it). Either
    appears whole or not at all; not through atomic_write, whose chmod would reach the source."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)  # a dangling symbolic link left by a moved source
    try:
        os.link(source, out)
    except OSError:
        os.symlink(Path(source).absolute(), out)


@register("identity")
class Identity(Translator):
    trainable = False
    writes_frames = False

    def generator(self, run_dir: Path | None, device: torch.device) -> nn.Module:
        return nn.Identity().to(device).eval()

    def adapt(self, frames: list[Frame], out_dir: Path, run_dir: Path | None, options: AdaptOptions) -> None:
        for frame in tqdm(frames, desc=f"identity -> {out_dir}", unit="frame"):
            out = output_path(out_dir, frame)
            if out.exists():
                continue
            label_hw = image_size(frame.label)
            if image_size(frame.image) == label_hw and frame.image.suffix == ".png":
                link(frame.image, out)
            else:
                rgb = cv2.resize(read_image(frame.image), label_hw[::-1], interpolation=cv2.INTER_LINEAR)
                write_image(out, rgb)
