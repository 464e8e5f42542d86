"""The whole segmentation network: front-end, context module (Dilation10) and x8 upsampling.

    arch "frontend":   frame -> FrontEnd -> upsample x8
    arch "dilation10": frame -> FrontEnd -> ContextModule -> upsample x8   (the paper's network)

Both are a :class:`DilatedNet`, so training, checkpoints and prediction treat them alike; for the
front-end alone the context slot holds an ``nn.Identity``. ``forward`` maps a reflect-padded
input (372 + 8k pixels per side) to per-pixel scores of the 8k pixels inside the margin.

Full-frame inference (:func:`predict_logits`) runs the front-end on the whole frame or in tiles
(``tile``): its convolutions are valid and every tile is cut from the same reflect-padded frame,
so the tiles' 1/8-resolution scores put side by side *are* the whole frame's. The context module
then runs once on that whole score map (19 channels at 1/8 resolution: small) and sees exactly
what it sees without tiles. Tiled and whole-frame labels are therefore the same, up to
floating-point ties. (The original tiles the whole network, so its context module sees each
1024-pixel tile's borders as the frame's; here the context module, trained on whole-frame
scores, always sees the whole frame.)
"""

from __future__ import annotations

import argparse
import math

import torch
from torch import nn

from segmentation.context import BilinearUpsample, ContextModule
from segmentation.frontend import STRIDE, FrontEnd, pad_frame, pad_window
from sggan.data.labels import NUM_CLASSES

ARCHS = ("frontend", "dilation10")


class DilatedNet(nn.Module):
    def __init__(self, arch: str = "dilation10", num_classes: int = NUM_CLASSES, width: float = 1.0):
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"unknown arch {arch!r}; use one of {ARCHS}")
        self.arch = arch
        self.frontend = FrontEnd(num_classes, width)
        self.context = ContextModule(num_classes) if arch == "dilation10" else nn.Identity()
        self.upsample = BilinearUpsample()

    def config(self) -> dict:
        """What :func:`build_model` needs to rebuild this network (saved beside its weights)."""
        return {"arch": self.arch, "num_classes": self.frontend.num_classes, "width": self.frontend.width}

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 372 + 8h, 372 + 8w) -> (N, classes, h, w) scores at stride 8."""
        return self.context(self.frontend(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 372 + 8h, 372 + 8w) -> (N, classes, 8h, 8w) float32 scores per pixel."""
        return self.upsample(self.scores(x))


def use_channels_last(device: torch.device, amp: bool) -> bool:
    """Whether to run the network channels-last: with bf16 autocast on CUDA, and on a CPU, where
    oneDNN trains and runs the toy-width network about twice as fast so (benchmarks/RESULTS.md)."""
    return amp or device.type == "cpu"


def build_model(config: dict) -> DilatedNet:
    return DilatedNet(config.get("arch", "frontend"), config["num_classes"], config["width"])


def tile_size(text: str) -> int:
    """argparse type of ``--tile``: output pixels per tile side, a positive multiple of the stride."""
    tile = int(text)
    if tile < STRIDE or tile % STRIDE:
        raise argparse.ArgumentTypeError(f"{tile} must be a positive multiple of {STRIDE}")
    return tile


def frame_scores(frontend: nn.Module, images: torch.Tensor, tile: int | None = None) -> torch.Tensor:
    """Front-end scores of whole (N, 3, H, W) frames: (N, classes, ceil(H / 8), ceil(W / 8)).

    The frame is reflect-padded by MARGIN, and further at the bottom/right up to multiples of 8
    so that every score covers a whole 8x8 block. With ``tile`` (output pixels per tile side, a
    multiple of 8) the front-end runs on windows of at most tile + 2 x 186 pixels instead.
    """
    height, width = (math.ceil(side / STRIDE) * STRIDE for side in images.shape[-2:])
    if tile is None:
        return frontend(pad_frame(images, height, width))
    if tile < STRIDE or tile % STRIDE:
        raise ValueError(f"tile {tile} must be a positive multiple of {STRIDE}")
    rows = []
    for top in range(0, height, tile):
        row = [
            frontend(pad_window(images, top, left, min(tile, height - top), min(tile, width - left)))
            for left in range(0, width, tile)
        ]
        rows.append(torch.cat(row, dim=-1))
    return torch.cat(rows, dim=-2)


def predict_logits(model: DilatedNet, images: torch.Tensor, tile: int | None = None) -> torch.Tensor:
    """Whole-frame inference: (N, 3, H, W) normalised frames -> (N, classes, H, W) float32 scores."""
    height, width = images.shape[-2:]
    scores = model.context(frame_scores(model.frontend, images, tile))
    return model.upsample(scores)[..., :height, :width]
