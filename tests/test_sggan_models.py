"""U-Net generator and (semantic-aware) PatchGAN discriminator."""

import pytest
import torch

from sggan.models import PatchDiscriminator, UNetGenerator
from sggan.models.unet import encoder_widths


@pytest.mark.parametrize("size", [(32, 64), (64, 32), (32, 32)])
def test_generator_keeps_shape_for_multiples_of_two_to_the_depth(size):
    torch.manual_seed(0)
    net = UNetGenerator(ngf=4, depth=5).train()
    x = torch.rand(2, 3, *size) * 2 - 1
    y = net(x)
    assert y.shape == x.shape
    assert y.abs().max() <= 1.0  # tanh output


def test_generator_rejects_other_sizes_with_a_clear_error():
    net = UNetGenerator(ngf=4, depth=4)
    with pytest.raises(ValueError, match="multiples of 16"):
        net(torch.zeros(1, 3, 16, 24))


def test_paper_generator_widths_and_layers():
    assert encoder_widths(64, 8) == [64, 128, 256, 512, 512, 512, 512, 512]
    net = UNetGenerator(ngf=64, depth=8)
    assert len(net.down) == 8 and len(net.up) == 8
    # instance norm on every encoder layer, including the first (as the original code)
    assert all(isinstance(layer[-1], torch.nn.InstanceNorm2d) for layer in net.down)
    assert isinstance(net.down[0][0], torch.nn.Conv2d)  # no activation before the first conv
    dropouts = [any(isinstance(m, torch.nn.Dropout) for m in layer) for layer in net.up]
    assert dropouts == [True, True, True] + [False] * 5


def test_eval_mode_is_deterministic_and_train_mode_uses_dropout():
    torch.manual_seed(0)
    net = UNetGenerator(ngf=4, depth=4)
    x = torch.rand(1, 3, 16, 32)
    net.eval()
    assert torch.equal(net(x), net(x))
    net.train()
    assert not torch.equal(net(x), net(x))


def test_discriminator_output_is_exactly_one_eighth():
    net = PatchDiscriminator(ndf=4, num_groups=8)
    for height, width in [(32, 64), (40, 24)]:
        mask = torch.zeros(1, 8, height // 8, width // 8)
        mask[:, 0] = 1
        assert net(torch.zeros(1, 3, height, width), mask).shape == (1, 1, height // 8, width // 8)


def test_standard_patchgan_has_one_channel_and_no_mask():
    net = PatchDiscriminator(ndf=4, num_groups=8, semantic=False)
    assert net.last_conv.out_channels == 1
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 1, 4, 4)


def test_semantic_discriminator_needs_a_matching_mask():
    net = PatchDiscriminator(ndf=4, num_groups=8)
    with pytest.raises(ValueError, match="group mask"):
        net(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match="group mask has shape"):
        net(torch.zeros(1, 3, 32, 32), torch.zeros(1, 8, 2, 2))


@pytest.mark.parametrize("group", [0, 5])
def test_mask_routes_gradient_only_to_that_groups_channel(group):
    torch.manual_seed(0)
    net = PatchDiscriminator(ndf=4, num_groups=8)
    mask = torch.zeros(1, 8, 4, 8)
    mask[:, group] = 1
    net(torch.rand(1, 3, 32, 64), mask).pow(2).mean().backward()
    grad = net.last_conv.weight.grad  # (out=8, in, 4, 4)
    per_channel = grad.abs().flatten(1).sum(1)
    assert per_channel[group] > 0
    assert torch.count_nonzero(per_channel) == 1


def test_mask_selects_each_pixels_group_channel():
    torch.manual_seed(0)
    net = PatchDiscriminator(ndf=4, num_groups=3)
    x = torch.rand(1, 3, 16, 16)
    logits = net.net(x)  # (1, 3, 2, 2)
    groups = torch.tensor([[0, 1], [2, 1]])
    mask = torch.nn.functional.one_hot(groups, 3).permute(2, 0, 1)[None].float()
    expected = logits.gather(1, groups[None, None])
    assert torch.allclose(net(x, mask), expected)


def test_weights_follow_the_original_initialisation():
    torch.manual_seed(0)
    net = UNetGenerator(ngf=16, depth=5)
    conv = net.down[2][1]
    assert conv.bias is None
    assert conv.weight.abs().max() <= 0.04 + 1e-7  # truncated at two standard deviations
    assert 0.012 < conv.weight.std().item() < 0.02
    norm = net.down[2][2]
    assert abs(norm.weight.mean().item() - 1.0) < 0.02 and norm.bias.abs().max() == 0
