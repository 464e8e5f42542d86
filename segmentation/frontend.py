"""The front-end of Yu & Koltun's dilated segmentation network ("Dilation", ICLR 2016).

VGG-16 with pool4 and pool5 removed, conv5 dilated by 2, fc6 as a 7x7 convolution dilated by 4,
fc7 as a 1x1 convolution, dropout 0.5 after both, and a final 1x1 convolution to the classes.
Every convolution is *valid* (no padding): the network's input is the frame reflect-padded by
MARGIN = 186 pixels outside it, and each output pixel sees exactly the 380x380 window around the
8x8 block it stands for. Output stride 8: an input of 372 + 8k pixels gives k outputs.

    >>> output_size(628), output_size(1396)   # the paper's training crop, a 1024-row frame + margin
    (32, 128)

``width`` scales every channel count (64, 128, 256, 512 and the 4096 of fc6/fc7) so that a toy
configuration trains on a CPU; width 1.0 is the paper's network, 134.3 M parameters for 19
classes. The layer names follow the original Caffe network's (conv1_1 ... conv5_3, fc6, fc7,
final): :mod:`segmentation.vgg_init` maps torchvision's ImageNet VGG-16 onto them, and the
``final`` layer's 1/8-resolution class scores are what :mod:`segmentation.context` consumes
(:mod:`segmentation.model` puts the parts together).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from sggan.data.labels import NUM_CLASSES

MARGIN = 186  # reflect padding on every side of the frame: (380 receptive field - 8 block) / 2
STRIDE = 8  # pool1..pool3

# (block, convolutions, channels at width 1.0, dilation, max-pool after the block)
VGG_BLOCKS = [
    (1, 2, 64, 1, True),
    (2, 2, 128, 1, True),
    (3, 3, 256, 1, True),
    (4, 3, 512, 1, False),
    (5, 3, 512, 2, False),
]
FC_CHANNELS = 4096


def scaled(channels: int, width: float) -> int:
    return max(1, round(channels * width))


class FrontEnd(nn.Module):
    """(N, 3, 372 + 8h, 372 + 8w) normalised image -> (N, num_classes, h, w) class scores."""

    def __init__(self, num_classes: int = NUM_CLASSES, width: float = 1.0):
        super().__init__()
        self.num_classes = num_classes
        self.width = width
        layers = OrderedDict()
        channels = 3
        for block, count, out_channels, dilation, pool in VGG_BLOCKS:
            out_channels = scaled(out_channels, width)
            for index in range(1, count + 1):
                layers[f"conv{block}_{index}"] = nn.Conv2d(channels, out_channels, 3, dilation=dilation)
                layers[f"relu{block}_{index}"] = nn.ReLU(inplace=True)
                channels = out_channels
            if pool:
                layers[f"pool{block}"] = nn.MaxPool2d(2, stride=2)
        self.features = nn.Sequential(layers)
        fc = scaled(FC_CHANNELS, width)
        self.classifier = nn.Sequential(
            OrderedDict(
                [
                    ("fc6", nn.Conv2d(channels, fc, 7, dilation=4)),
                    ("relu6", nn.ReLU(inplace=True)),
                    ("drop6", nn.Dropout(0.5)),
                    ("fc7", nn.Conv2d(fc, fc, 1)),
                    ("relu7", nn.ReLU(inplace=True)),
                    ("drop7", nn.Dropout(0.5)),
                    ("final", nn.Conv2d(fc, num_classes, 1)),
                ]
            )
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Training from scratch (no BatchNorm in VGG): He initialisation keeps the activations'
        # scale through 16 ReLU layers; the final layer starts small so early scores are ~uniform.
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(module.bias)
        nn.init.normal_(self.classifier.final.weight, std=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def output_size(input_size: int) -> int:
    """Output side for an input side, following every layer (floor pooling, like nn.MaxPool2d).

    Valid convolutions eat 2*dilation*(k-1)/2 pixels each, pools halve:
    conv1 -4, /2, conv2 -4, /2, conv3 -6, /2, conv4 -6, conv5 (dilation 2) -12, fc6 (7x7,
    dilation 4) -24. For n = 372 + 8k every step is exact and the result is (n - 372) / 8;
    628 -> 32 (the paper's crop), 1396 -> 128.
    """
    n = input_size
    for _, count, _, dilation, pool in VGG_BLOCKS:
        n -= count * 2 * dilation
        if pool:
            n //= 2
    n -= 6 * 4  # fc6
    if n < 1:
        raise ValueError(
            f"input side {input_size} is too small for the front-end; the minimum is "
            f"{input_size_for(1)} (one output pixel)"
        )
    return n


def input_size_for(output: int) -> int:
    """The input side that gives ``output`` pixels: each one is an 8-pixel block plus the margins."""
    return STRIDE * output + 2 * MARGIN


def reflect_index(index: torch.Tensor, size: int) -> torch.Tensor:
    """Map any integer coordinates into [0, size) by mirror reflection about the edge pixels.

    The same as reflect padding (``np.pad(mode="reflect")``) repeated as often as needed: toy
    frames can be smaller than the 186-pixel margin, which one reflect pad cannot cover.
    """
    if size == 1:
        return torch.zeros_like(index)
    period = 2 * (size - 1)
    index = index.remainder(period)
    return torch.where(index >= size, period - index, index)


def pad_window(images: torch.Tensor, top: int, left: int, height: int, width: int) -> torch.Tensor:
    """The network input for output pixels [top, top + height) x [left, left + width) of a frame.

    Rows top - MARGIN .. top + height + MARGIN of (N, C, H, W) ``images``, any outside the frame
    mirrored (``reflect_index``); columns likewise. Windows of one frame cut this way are pieces
    of the same reflect-padded frame, so their outputs tile exactly (see model.frame_scores).
    """
    rows = reflect_index(torch.arange(top - MARGIN, top + height + MARGIN, device=images.device), images.shape[-2])
    cols = reflect_index(torch.arange(left - MARGIN, left + width + MARGIN, device=images.device), images.shape[-1])
    return images.index_select(-2, rows).index_select(-1, cols)


def pad_frame(images: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Reflect-pad (N, C, H, W) by MARGIN on every side and to ``height`` x ``width`` inside it.

    Rows -MARGIN .. height + MARGIN of the frame (extra rows past the frame are mirrored too).
    """
    return pad_window(images, 0, 0, height, width)


def upsample(logits: torch.Tensor) -> torch.Tensor:
    """Bilinear x8. With align_corners=False output pixel k of the network, which is centred on
    pixel 8k + 3.5 of the frame, lands exactly there: no shift between scores and labels."""
    return F.interpolate(logits, scale_factor=STRIDE, mode="bilinear", align_corners=False)
