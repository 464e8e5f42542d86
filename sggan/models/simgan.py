"""SimGAN's refiner and local discriminator (Shrivastava et al. 2017, Sec. 3.1 and its appendix).

Refiner: a fully convolutional ResNet without striding or pooling, so it changes the image pixel
by pixel and keeps its global structure: a 3x3 convolution to ``width`` maps, ``blocks`` residual
blocks of two 3x3 convolutions, a 1x1 convolution back to the image (the paper's eye-gaze refiner:
64 maps, 4 blocks). The paper's images are grey or depth; ours are RGB in [-1, 1], hence three
output channels and a tanh.

Discriminator: the paper's eye-gaze layout, conv3x3/2 (96), conv3x3/2 (64), max-pool 3x3/1,
conv3x3 (32), conv1x1 (32), conv1x1 to the class scores, all ReLU. It is fully convolutional, so it
outputs one score per local patch (receptive field 23x23 pixels, a map at 1/4 resolution): the
local adversarial loss. The paper's two-way softmax per patch is one logit here (softmax over two
scores equals the sigmoid of their difference).
"""

from __future__ import annotations

import torch
from torch import nn


class RefinerBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1)
        )
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(x + self.body(x))


class Refiner(nn.Module):
    size_multiple = 1  # no striding: any input size

    def __init__(self, width: int = 64, blocks: int = 4, channels: int = 3):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1),
            nn.ReLU(),
            *[RefinerBlock(width) for _ in range(blocks)],
            nn.Conv2d(width, channels, 1),
            nn.Tanh(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class LocalDiscriminator(nn.Module):
    def __init__(self, widths: tuple[int, int, int, int] = (96, 64, 32, 32), channels: int = 3):
        super().__init__()
        w1, w2, w3, w4 = widths
        self.net = nn.Sequential(
            nn.Conv2d(channels, w1, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(w1, w2, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(3, stride=1, padding=1),
            nn.Conv2d(w2, w3, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(w3, w4, 1),
            nn.ReLU(),
            nn.Conv2d(w4, 1, 1),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Logits (N,1,ceil(H/4),ceil(W/4)) that each local patch is real."""
        return self.net(image)
