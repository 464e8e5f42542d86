import math

import pytest
import torch
from torch import nn

from segmentation.context import DILATION10, BilinearUpsample, ContextModule, receptive_field


def test_layers_are_the_cityscapes_dilation10_context():
    context = ContextModule(num_classes=19)
    convs = [(name, m) for name, m in context.layers.named_children() if isinstance(m, nn.Conv2d)]
    assert [name for name, _ in convs] == [
        "ctx_conv1_1",
        "ctx_conv1_2",
        "ctx_conv2_1",
        "ctx_conv3_1",
        "ctx_conv4_1",
        "ctx_conv5_1",
        "ctx_conv6_1",
        "ctx_conv7_1",
        "ctx_fc1",
        "ctx_final",
    ]
    assert [m.dilation[0] for _, m in convs] == [1, 1, 2, 4, 8, 16, 32, 64, 1, 1]
    assert [m.kernel_size for _, m in convs] == [(3, 3)] * 9 + [(1, 1)]
    assert all(m.padding[0] == m.dilation[0] * (m.kernel_size[0] // 2) for _, m in convs)  # same size
    assert all(m.in_channels == m.out_channels == 19 for _, m in convs)  # basic context: no multiplier
    relus = [m for m in context.layers if isinstance(m, nn.ReLU)]
    assert len(relus) == 9 and not isinstance(context.layers[-1], nn.ReLU)  # none after ctx_final
    assert sum(p.numel() for p in context.parameters()) == 29_792
    assert receptive_field(DILATION10) == 259


def test_identity_at_initialisation():
    torch.manual_seed(0)
    context = ContextModule(num_classes=19)
    scores = torch.rand(2, 19, 17, 30) * 10  # non-negative, like scores after a ReLU
    with torch.no_grad():
        assert torch.equal(context(scores), scores)
        signed = torch.randn(1, 19, 9, 5)  # the original's ReLUs clip negative scores
        assert torch.equal(context(signed), signed.clamp(min=0))


@pytest.mark.parametrize("height, width", [(1, 1), (3, 5), (16, 32), (130, 70)])
def test_context_keeps_the_size(height, width):
    context = ContextModule(num_classes=4)
    with torch.no_grad():
        assert context(torch.rand(1, 4, height, width)).shape == (1, 4, height, width)


def test_each_output_sees_259_scores():
    # positive weights and inputs keep every ReLU open: the gradient of one output is non-zero
    # exactly on its receptive field
    context = ContextModule(num_classes=2).double()
    for module in context.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.uniform_(module.weight, 0.01, 0.1)
    scores = torch.rand(1, 2, 1, 301, dtype=torch.float64, requires_grad=True)
    context(scores)[0, 0, 0, 150].backward()
    touched = (scores.grad[0].abs().sum(0)[0] > 0).nonzero().flatten()
    assert touched.min() == 150 - 129 and touched.max() == 150 + 129 and len(touched) == 259


def caffe_bilinear_deconvolution(channels: int) -> nn.ConvTranspose2d:
    """The original's upsampling layer: 16x16 kernel, stride 8, pad 4, one group per class, bilinear filler."""
    deconv = nn.ConvTranspose2d(channels, channels, 16, stride=8, padding=4, groups=channels, bias=False)
    f = math.ceil(16 / 2)
    c = (2 * f - 1 - f % 2) / (2 * f)
    taps = 1 - (torch.arange(16) / f - c).abs()
    with torch.no_grad():
        deconv.weight.copy_((taps[:, None] * taps[None, :]).expand(channels, 1, 16, 16))
    return deconv


def test_upsampling_is_the_original_deconvolution_inside_the_frame():
    torch.manual_seed(0)
    scores = torch.randn(2, 19, 6, 9)
    with torch.no_grad():
        ours = BilinearUpsample()(scores)
        caffe = caffe_bilinear_deconvolution(19)(scores)
    assert ours.shape == caffe.shape == (2, 19, 48, 72)
    assert torch.allclose(ours[..., 4:-4, 4:-4], caffe[..., 4:-4, 4:-4], atol=1e-5)
    # at the borders the deconvolution fades towards zero, by a positive factor: same labels
    assert torch.equal(ours.argmax(1), caffe.argmax(1))


def test_a_padded_batch_gives_each_frame_its_own_result():
    from segmentation.data import pad_collate

    torch.manual_seed(0)
    context = ContextModule(num_classes=3)
    for module in context.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.normal_(module.weight, std=0.3)
            nn.init.normal_(module.bias, std=0.3)  # biases would leak into the padding without the mask
    frames = [torch.rand(3, 5, 7), torch.rand(3, 9, 4)]
    scores, _, valid = pad_collate([(f, torch.zeros(f.shape[1:], dtype=torch.uint8)) for f in frames])
    with torch.no_grad():
        batched = context(scores, valid)
        for i, frame in enumerate(frames):
            alone = context(frame[None])
            assert torch.allclose(batched[i, :, : frame.shape[1], : frame.shape[2]], alone[0], atol=1e-6)
        assert (batched * (1 - valid)).abs().max() == 0
