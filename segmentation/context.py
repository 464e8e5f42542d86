"""The context module of Dilation10 and the network's fixed x8 bilinear upsampling.

Yu & Koltun's context module refines the front-end's 1/8-resolution class scores with a stack of
3x3 convolutions whose dilations grow exponentially, so that the last layers see the whole
frame. For Cityscapes ("Dilation10", the original's models/dilation10_cityscapes_deploy.prototxt)
the layers are

    ctx_conv1_1, ctx_conv1_2   3x3, dilation 1
    ctx_conv2_1 .. ctx_conv7_1 3x3, dilations 2, 4, 8, 16, 32, 64
    ctx_fc1                    3x3, dilation 1
    ctx_final                  1x1

with a ReLU after every layer but ctx_final, and zero padding equal to the dilation, so each
layer keeps the size of its input (unlike the front-end, whose convolutions are valid). Every
layer has C = 19 channels in and out: this is the paper's *basic* context module (the *large*
one widens the inner layers by a channel multiplier; the Cityscapes network does not use it).
It has 29,792 parameters, and each output sees 259 x 259 scores (2,072 pixels at stride 8).

Identity initialisation (the paper's Eq. 3): every kernel is zero except its centre tap, which is
1 from channel a to channel a, and the biases are zero. The module then starts as the identity on
non-negative scores (relu(x) in general, as the original's ReLUs clip negative scores), so
training from it can only start where the front-end left off.

Upsampling: the original ends with a Deconvolution layer (16x16 kernel, stride 8, pad 4, one
group per class, bilinear filler, learning rate 0). Inside the frame that is exactly bilinear
interpolation with output pixel 8k + 3.5 on score k, which is F.interpolate(align_corners=False);
in the last 4 rows/columns at a border the deconvolution fades the scores towards zero (it sees
zeros outside) where interpolation repeats the edge. The scaling is positive, so the arg-max
labels are the same; only the loss on those border pixels differs slightly.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from segmentation.frontend import upsample
from sggan.data.labels import NUM_CLASSES

# (layer name, dilation) of the 3x3 layers of Dilation10, before the final 1x1
DILATION10 = [
    ("ctx_conv1_1", 1),
    ("ctx_conv1_2", 1),
    ("ctx_conv2_1", 2),
    ("ctx_conv3_1", 4),
    ("ctx_conv4_1", 8),
    ("ctx_conv5_1", 16),
    ("ctx_conv6_1", 32),
    ("ctx_conv7_1", 64),
    ("ctx_fc1", 1),
]


class ContextModule(nn.Module):
    """(N, C, h, w) class scores -> (N, C, h, w) refined class scores (the basic context module)."""

    def __init__(self, num_classes: int = NUM_CLASSES, layers: list[tuple[str, int]] = DILATION10):
        super().__init__()
        self.num_classes = num_classes
        modules = OrderedDict()
        for name, dilation in layers:
            modules[name] = nn.Conv2d(num_classes, num_classes, 3, padding=dilation, dilation=dilation)
            modules[name.replace("conv", "relu") if "conv" in name else f"{name}_relu"] = nn.ReLU(inplace=True)
        modules["ctx_final"] = nn.Conv2d(num_classes, num_classes, 1)
        self.layers = nn.Sequential(modules)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                identity_(module)

    def forward(self, scores: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        """``valid``: (N, 1, h, w) 1 inside each frame, 0 on the padding of a batch of frames of
        different sizes; zeroing the padding after every layer makes each frame's result what it
        would be alone (the zeros its own padding would give), whatever it is batched with."""
        if valid is None:
            return self.layers(scores)
        x = scores * valid
        for layer in self.layers:
            x = layer(x)
            if isinstance(layer, nn.Conv2d):  # (a ReLU keeps zeros zero)
                x = x * valid
        return x


@torch.no_grad()
def identity_(conv: nn.Conv2d) -> None:
    """Zero weights but a 1 at the centre tap from each channel to itself; zero bias."""
    if conv.in_channels != conv.out_channels or conv.groups != 1:
        raise ValueError("identity initialisation needs as many output as input channels")
    conv.weight.zero_()
    centre_h, centre_w = (k // 2 for k in conv.kernel_size)
    conv.weight[:, :, centre_h, centre_w] = torch.eye(conv.in_channels)
    if conv.bias is not None:
        conv.bias.zero_()


def receptive_field(layers: list[tuple[str, int]] = DILATION10) -> int:
    """Side of the score window one output of the context module sees: 1 + 2 * sum of dilations."""
    return 1 + 2 * sum(dilation for _, dilation in layers)


class BilinearUpsample(nn.Module):
    """The network's fixed last layer: scores at stride 8 -> scores per pixel (no parameters).

    Computed in float32: under bf16 autocast the scores would otherwise be rounded to 8 bits of
    mantissa before the loss and the arg-max.
    """

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        return upsample(scores.float())
