"""The 70x70 PatchGAN discriminator of the reference CycleGAN code.

junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py, ``NLayerDiscriminator`` with the
defaults ``--netD basic --n_layers_D 3 --norm instance``:

    C64 - C128 - C256 - C512 - 1 channel

4x4 convolutions with one pixel of zero padding, strides 2, 2, 2, 1, 1; instance norm (not
affine, no running statistics: ``get_norm_layer('instance')``) after the second to fourth, leaky
ReLU 0.2 after the first four. Every convolution has a bias (the first and last by torch's
default, the others because ``use_bias`` is true with instance norm). Weights N(0, 0.02), biases
0 (``init_weights``, 'normal'). Each output sees a 70x70 input patch; a 256x256 input gives
30x30 outputs, 256x512 gives 30x62.

SG-GAN's own discriminator (sggan.models.patchgan) differs: bias-free convolutions, affine
instance norm and TensorFlow "SAME" padding, as the original TensorFlow code builds it.
"""

from __future__ import annotations

import torch
from torch import nn

from sggan.models.resnet import init_normal

KERNEL, PADDING = 4, 1
STRIDES = (2, 2, 2, 1, 1)


class CycleGANPatchDiscriminator(nn.Module):
    def __init__(self, ndf: int = 64, in_channels: int = 3):
        super().__init__()
        widths = (in_channels, ndf, 2 * ndf, 4 * ndf, 8 * ndf, 1)
        layers: list[nn.Module] = []
        for index, stride in enumerate(STRIDES):
            c_in, c_out = widths[index], widths[index + 1]
            layers.append(nn.Conv2d(c_in, c_out, KERNEL, stride, PADDING, bias=True))
            if 0 < index < len(STRIDES) - 1:
                layers.append(nn.InstanceNorm2d(c_out, affine=False, track_running_stats=False))
            if index < len(STRIDES) - 1:
                layers.append(nn.LeakyReLU(0.2))
        self.net = nn.Sequential(*layers)
        init_normal(self)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> realism map (N, 1, h, w), one value per 70x70 patch."""
        return self.net(image)


def receptive_field() -> int:
    """Side of the input patch one output sees: 1 + sum over layers of (kernel - 1) x input stride."""
    field, jump = 1, 1
    for stride in STRIDES:
        field += (KERNEL - 1) * jump
        jump *= stride
    return field
