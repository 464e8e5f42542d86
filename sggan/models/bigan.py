"""BiGAN / ALI networks: encoder E (image -> code), generator G (code -> image), joint discriminator.

The code is a spatial map, not the papers' vector: z has ``code_channels`` channels at
1/2**depth of the image. A vector code ties the networks to one image size (the papers work at
64x64); a code map keeps all three fully convolutional, so a translator trained on crops adapts
whole frames at any multiple of 2**depth, like every other translator here.

- E: ``depth`` 4x4 stride-2 convolutions (widths ngf*(1, 2, 4, 8, 8...)), leaky ReLU 0.2, instance
  norm after all but the first, then a 1x1 convolution to the code and tanh: codes live in
  [-1, 1], the support of the uniform prior (BiGAN's p_Z is uniform).
- G: a 1x1 convolution from the code, then ``depth`` 4x4 stride-1/2 transposed convolutions
  mirroring E, ReLU and instance norm, tanh on the image (DCGAN style).
- D(x, z): an image path like E's down to the code's resolution, a code path of 1x1
  convolutions, and joint 1x1 convolutions on their concatenation to one logit per code cell;
  dropout 0.2 in the joint layers as in ALI's discriminator.
"""

from __future__ import annotations

import torch
from torch import nn

from sggan.models.unet import InstanceNorm, encoder_widths, init_weights


def _init(module: nn.Module) -> None:
    """The U-Net's initialisation (truncated normal 0.02, norm scales N(1, 0.02)) and zero biases."""
    init_weights(module)
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and m.bias is not None:
            nn.init.zeros_(m.bias)


def _check_size(x: torch.Tensor, multiple: int) -> None:
    height, width = x.shape[-2:]
    if height % multiple or width % multiple:
        raise ValueError(f"BiGAN networks need input sides that are multiples of {multiple}; got {height}x{width}")


def _downsampling(ngf: int, depth: int) -> nn.Sequential:
    widths = encoder_widths(ngf, depth)
    layers = [nn.Conv2d(3, widths[0], 4, 2, 1), nn.LeakyReLU(0.2)]
    for c_in, c_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), InstanceNorm(c_out), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    def __init__(self, ngf: int = 64, depth: int = 4, code_channels: int = 64):
        super().__init__()
        self.size_multiple = 2**depth
        self.net = nn.Sequential(
            _downsampling(ngf, depth), nn.Conv2d(encoder_widths(ngf, depth)[-1], code_channels, 1), nn.Tanh()
        )
        _init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_size(x, self.size_multiple)
        return self.net(x)


class Generator(nn.Module):
    def __init__(self, ngf: int = 64, depth: int = 4, code_channels: int = 64):
        super().__init__()
        widths = encoder_widths(ngf, depth)[::-1]
        layers = [nn.Conv2d(code_channels, widths[0], 1), InstanceNorm(widths[0]), nn.ReLU()]
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), InstanceNorm(c_out), nn.ReLU()]
        layers += [nn.ConvTranspose2d(widths[-1], 3, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        _init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class JointDiscriminator(nn.Module):
    def __init__(self, ndf: int = 64, depth: int = 4, code_channels: int = 64, dropout: float = 0.2):
        super().__init__()
        self.size_multiple = 2**depth
        image_width = encoder_widths(ndf, depth)[-1]
        self.image_path = _downsampling(ndf, depth)
        self.code_path = nn.Sequential(nn.Conv2d(code_channels, image_width, 1), nn.LeakyReLU(0.2))
        self.joint = nn.Sequential(
            nn.Dropout(dropout),
            nn.Conv2d(2 * image_width, image_width, 1),
            nn.LeakyReLU(0.2),
            nn.Dropout(dropout),
            nn.Conv2d(image_width, 1, 1),
        )
        _init(self)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Logits (N,1,h,w), one per code cell, that (x, z) is a data pair (x, E(x))."""
        _check_size(x, self.size_multiple)
        return self.joint(torch.cat([self.image_path(x), self.code_path(z)], dim=1))


class EncodeGenerate(nn.Module):
    """The adaptation network: a virtual frame's code, rendered by the generator, G(E(v))."""

    def __init__(self, encoder: Encoder, generator: Generator):
        super().__init__()
        self.encoder, self.generator = encoder, generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.generator(self.encoder(x))
