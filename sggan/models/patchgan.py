"""Semantic-aware PatchGAN discriminator of SG-GAN, switchable to a standard PatchGAN.

4x4 convolutions: ndf stride 2 (no norm), 2ndf stride 2, 4ndf stride 2, 8ndf stride 1, each
followed by instance norm (not the first) and leaky ReLU 0.2, then a stride-1 convolution to one
channel per semantic group. Padding is TensorFlow's "SAME" (as the original code), so the output
is exactly ceil(H/8) x ceil(W/8); for the stride-1 4x4 convolutions that means one pixel
before and two after, which torch's symmetric padding cannot express.

Semantic-aware (paper Sec. 3.2): the s group channels are multiplied by the one-hot group mask of
the *source* image of what is judged (for a translated image, the image it was translated from),
then summed over channels to one realism map (N,1,h,w). Standard: one output channel, no mask.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from sggan.models.unet import InstanceNorm, init_weights


class Conv2dSame(nn.Conv2d):
    """Bias-free convolution with TensorFlow's "SAME" padding (extra pixel after, if odd)."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 4, stride: int = 2):
        super().__init__(c_in, c_out, kernel, stride, padding=0, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size in (x.shape[-1], x.shape[-2]):  # F.pad wants the last dim first
            out = math.ceil(size / self.stride[0])
            total = max((out - 1) * self.stride[0] + self.kernel_size[0] - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


class PatchDiscriminator(nn.Module):
    def __init__(self, ndf: int = 64, num_groups: int = 8, semantic: bool = True, in_channels: int = 3):
        super().__init__()
        self.semantic = semantic
        self.num_groups = num_groups
        self.net = nn.Sequential(
            Conv2dSame(in_channels, ndf, 4, 2),
            nn.LeakyReLU(0.2),
            Conv2dSame(ndf, ndf * 2, 4, 2),
            InstanceNorm(ndf * 2),
            nn.LeakyReLU(0.2),
            Conv2dSame(ndf * 2, ndf * 4, 4, 2),
            InstanceNorm(ndf * 4),
            nn.LeakyReLU(0.2),
            Conv2dSame(ndf * 4, ndf * 8, 4, 1),
            InstanceNorm(ndf * 8),
            nn.LeakyReLU(0.2),
            Conv2dSame(ndf * 8, num_groups if semantic else 1, 4, 1),
        )
        init_weights(self)

    @property
    def last_conv(self) -> nn.Conv2d:
        return self.net[-1]

    def forward(self, image: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Realism map (N,1,ceil(H/8),ceil(W/8)); ``mask`` (N,s,h,w) one-hot, required if semantic."""
        out = self.net(image)
        if not self.semantic:
            return out
        if mask is None:
            raise ValueError("the semantic-aware discriminator needs the group mask of the source image")
        if mask.shape[1:] != out.shape[1:]:
            raise ValueError(
                f"group mask has shape {tuple(mask.shape[1:])}, the discriminator output "
                f"{tuple(out.shape[1:])} (groups, H/8, W/8)"
            )
        return (out * mask.to(out.dtype)).sum(dim=1, keepdim=True)
