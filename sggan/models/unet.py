"""U-Net generator of SG-GAN (the pix2pix U-Net as the original TensorFlow code builds it).

Encoder: ``depth`` 4x4 stride-2 convolutions, widths ngf*(1, 2, 4, 8, 8, ...), instance norm on
every layer *including the first* (pix2pix has none there; the original SG-GAN code does), leaky
ReLU 0.2 before each convolution but the first. Decoder: ReLU, 4x4 stride-2 transposed
convolution, dropout 0.5 on the first three, instance norm, concatenation with the mirrored
encoder output; the last one maps to RGB and ends in tanh. Convolutions have no bias and
truncated-normal(0.02) weights, the norms' scales N(1, 0.02), as in the original ops.py.
At the paper scale (depth 8, ngf 64) input sides must be multiples of 256.
"""

from __future__ import annotations

import torch
from torch import nn


class InstanceNorm(nn.InstanceNorm2d):
    """Affine instance norm that is also defined on 1x1 maps.

    TensorFlow's instance norm on a 1x1 map gives the offset (the normalised value is 0); torch
    refuses such input, which a square input at full depth produces in the bottleneck.
    """

    def __init__(self, channels: int):
        super().__init__(channels, eps=1e-5, affine=True, track_running_stats=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] == (1, 1):
            return torch.zeros_like(x) + self.bias.view(1, -1, 1, 1)
        return super().forward(x)


@torch.no_grad()
def truncated_normal_(weight: torch.Tensor, std: float) -> torch.Tensor:
    """Normal(0, std) with draws beyond two std redrawn, as TensorFlow's truncated_normal.

    (Rejection is also about 20x faster on a CPU than torch's inverse-CDF trunc_normal_,
    which matters for the 54 M weights of the paper's U-Net.)
    """
    flat = weight.view(-1).normal_(0.0, std)
    redraw = torch.nonzero(flat.abs() > 2 * std).squeeze(1)
    while redraw.numel():
        draws = torch.randn(redraw.numel(), dtype=weight.dtype, device=weight.device) * std
        flat[redraw] = draws
        redraw = redraw[draws.abs() > 2 * std]
    return weight


def init_weights(module: nn.Module) -> None:
    """The original initialisation: truncated normal(0, 0.02) convolutions, norm scales N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            truncated_normal_(m.weight, 0.02)
        elif isinstance(m, nn.InstanceNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def encoder_widths(ngf: int, depth: int) -> list[int]:
    return [ngf * min(2**i, 8) for i in range(depth)]


class UNetGenerator(nn.Module):
    def __init__(
        self,
        ngf: int = 64,
        depth: int = 8,
        in_channels: int = 3,
        out_channels: int = 3,
        dropout: float = 0.5,
        dropout_layers: int = 3,
    ):
        super().__init__()
        if depth < 2:
            raise ValueError(f"U-Net depth must be at least 2, got {depth}")
        self.depth = depth
        widths = encoder_widths(ngf, depth)

        down = [nn.Sequential(nn.Conv2d(in_channels, widths[0], 4, 2, 1, bias=False), InstanceNorm(widths[0]))]
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            down.append(
                nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), InstanceNorm(c_out))
            )
        self.down = nn.ModuleList(down)

        # Decoder layer k undoes encoder layer depth-1-k; its output is concatenated with the
        # output of encoder layer depth-2-k, so it has that layer's width.
        up = []
        for k in range(depth - 1):
            c_in = widths[-1] if k == 0 else 2 * widths[depth - 1 - k]
            c_out = widths[depth - 2 - k]
            layers = [nn.ReLU(), nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)]
            if k < dropout_layers:
                layers.append(nn.Dropout(dropout))  # before the norm, as in the original
            layers.append(InstanceNorm(c_out))
            up.append(nn.Sequential(*layers))
        up.append(
            nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(2 * widths[0], out_channels, 4, 2, 1, bias=False), nn.Tanh())
        )
        self.up = nn.ModuleList(up)
        init_weights(self)

    @property
    def size_multiple(self) -> int:
        return 2**self.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        if height % self.size_multiple or width % self.size_multiple:
            raise ValueError(
                f"U-Net of depth {self.depth} needs input sides that are multiples of "
                f"{self.size_multiple}; got {height}x{width}"
            )
        skips = []
        h = x
        for layer in self.down:
            h = layer(h)
            skips.append(h)
        h = skips.pop()  # the bottleneck is not concatenated with itself
        for layer in self.up[:-1]:
            h = torch.cat([layer(h), skips.pop()], dim=1)
        return self.up[-1](h)
