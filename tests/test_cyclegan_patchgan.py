"""The reference CycleGAN code's 70x70 PatchGAN (models/networks.py NLayerDiscriminator, basic)."""

import copy

import torch
from torch import nn

from sggan.models import CycleGANPatchDiscriminator
from sggan.models.cyclegan_patchgan import receptive_field


def test_layers_match_the_reference_code():
    net = CycleGANPatchDiscriminator(ndf=64)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(3, 64), (64, 128), (128, 256), (256, 512), (512, 1)]
    assert [c.stride for c in convs] == [(2, 2), (2, 2), (2, 2), (1, 1), (1, 1)]
    assert all(c.kernel_size == (4, 4) and c.padding == (1, 1) and c.bias is not None for c in convs)
    norms = [m for m in net.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert len(norms) == 3 and not any(n.affine or n.track_running_stats for n in norms)
    kinds = [type(m).__name__ for m in net.net]
    assert kinds == ["Conv2d", "LeakyReLU"] + ["Conv2d", "InstanceNorm2d", "LeakyReLU"] * 3 + ["Conv2d"]
    assert all(m.negative_slope == 0.2 for m in net.net if isinstance(m, nn.LeakyReLU))
    assert all(torch.count_nonzero(c.bias) == 0 for c in convs)
    assert 0.015 < convs[3].weight.std().item() < 0.025  # N(0, 0.02)
    # 2,764,737 parameters at ndf 64 (the reference code prints 2.765 M for D_A)
    assert sum(p.numel() for p in net.parameters()) == 2764737


def test_output_sizes():
    net = CycleGANPatchDiscriminator(ndf=4)
    assert net(torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)
    assert net(torch.zeros(2, 3, 256, 512)).shape == (2, 1, 30, 62)


def test_each_output_sees_a_70x70_patch():
    assert receptive_field() == 70
    # Without the norms (which couple all pixels), the input pixels that move one output are
    # exactly its receptive field: positive weights, so nothing cancels.
    net = copy.deepcopy(CycleGANPatchDiscriminator(ndf=2))
    for index, module in enumerate(net.net):
        if isinstance(module, nn.InstanceNorm2d):
            net.net[index] = nn.Identity()
    for conv in net.modules():
        if isinstance(conv, nn.Conv2d):
            nn.init.constant_(conv.weight, 0.1)
    image = torch.ones(1, 3, 160, 160, requires_grad=True)
    out = net(image)
    out[0, 0, 8, 8].backward()
    rows, cols = torch.nonzero(image.grad[0].abs().sum(0), as_tuple=True)
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (70, 70)
    # each layer maps output o to the inputs from o * stride - 1 (padding 1): 8 -> 7 -> 6 -> 11 -> 21 -> 41
    assert (rows.min().item(), cols.min().item()) == (41, 41)
