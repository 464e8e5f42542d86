"""ResNet generator of CycleGAN (Zhu et al. 2017, after Johnson et al.'s style-transfer network).

c7s1-ngf, d2ngf, d4ngf, ``blocks`` x R4ngf, u2ngf, u1ngf, c7s1-3 (the paper's appendix notation):
a 7x7 convolution on a reflection-padded input, two 3x3 stride-2 convolutions, residual blocks of
two reflection-padded 3x3 convolutions, two 3x3 stride-1/2 transposed convolutions, a 7x7
convolution to RGB and tanh. Every hidden convolution is followed by instance norm (not affine, as
the reference PyTorch code) and ReLU; convolutions keep their bias, which instance norm makes
harmless and the reference code keeps. 9 blocks at 256x256 and above in the paper, 6 at 128x128.
Weights are N(0, 0.02), as the reference code initialises them. Input sides must be multiples of 4.
"""

from __future__ import annotations

import torch
from torch import nn


def _norm(channels: int) -> nn.InstanceNorm2d:
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels),
            nn.ReLU(),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    size_multiple = 4  # two stride-2 convolutions, undone exactly by the transposed ones

    def __init__(self, ngf: int = 64, blocks: int = 9, in_channels: int = 3, out_channels: int = 3):
        super().__init__()
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7), _norm(ngf), nn.ReLU()]
        for width in (ngf, 2 * ngf):  # downsampling
            layers += [nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), _norm(2 * width), nn.ReLU()]
        layers += [ResidualBlock(4 * ngf) for _ in range(blocks)]
        for width in (4 * ngf, 2 * ngf):  # upsampling
            layers += [
                nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1, output_padding=1),
                _norm(width // 2),
                nn.ReLU(),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        if height % self.size_multiple or width % self.size_multiple:
            raise ValueError(
                f"the ResNet generator needs input sides that are multiples of {self.size_multiple}; "
                f"got {height}x{width}"
            )
        return self.net(x)


def init_normal(module: nn.Module, std: float = 0.02) -> None:
    """N(0, std) convolution weights and zero biases (the reference CycleGAN code's 'normal' init)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
