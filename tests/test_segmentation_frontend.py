import numpy as np
import pytest
import torch

from segmentation.frontend import MARGIN, FrontEnd, input_size_for, output_size, reflect_index
from segmentation.model import DilatedNet, predict_logits


def test_output_size_arithmetic_of_the_paper_sizes():
    assert output_size(628) == 32  # the paper's training crop
    assert output_size(1396) == 128  # 1024 rows + 2 x 186
    assert input_size_for(32) == 628 and MARGIN == 186
    with pytest.raises(ValueError, match="too small"):
        output_size(379)


@pytest.mark.parametrize("height, width", [(380, 388), (396, 381), (403, 420)])
def test_output_size_matches_a_forward_pass(height, width):
    torch.manual_seed(0)
    model = FrontEnd(num_classes=19, width=1 / 32).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, height, width))
    assert out.shape == (1, 19, output_size(height), output_size(width))
    if (height - 372) % 8 == 0:
        assert out.shape[2] == (height - 372) // 8


def test_parameter_count_of_the_paper_network():
    with torch.device("meta"):  # no 540 MB allocation
        model = FrontEnd(num_classes=19, width=1.0)
    count = sum(p.numel() for p in model.parameters())
    assert count == 134_338_387
    assert round(count / 1e6, 1) == 134.3


def test_width_scales_every_layer():
    model = FrontEnd(num_classes=5, width=0.25)
    assert model.features.conv1_1.out_channels == 16
    assert model.features.conv5_3.out_channels == 128
    assert model.features.conv5_3.dilation == (2, 2)
    assert model.classifier.fc6.out_channels == 1024 and model.classifier.fc6.dilation == (4, 4)
    assert model.classifier.final.out_channels == 5
    assert all(m.padding == (0, 0) for m in model.modules() if isinstance(m, torch.nn.Conv2d))


def test_reflect_index_is_repeated_reflect_padding():
    size = 5
    small = np.arange(size)
    got = reflect_index(torch.arange(-3, size + 3), size).numpy()
    assert (got == np.pad(small, 3, mode="reflect")).all()
    # a margin wider than the frame mirrors again at each edge
    far = reflect_index(torch.arange(-20, size + 20), size).numpy()
    assert far.min() == 0 and far.max() == size - 1
    assert (far[20:25] == small).all() and (np.abs(np.diff(far)) == 1).all()
    assert (reflect_index(torch.arange(-3, 4), 1) == 0).all()


@pytest.mark.parametrize("arch", ["frontend", "dilation10"])
def test_predict_logits_covers_the_whole_frame(arch):
    torch.manual_seed(0)
    model = DilatedNet(arch, num_classes=19, width=1 / 32).eval()
    frames = torch.randn(2, 3, 13, 21)  # neither side a multiple of 8
    with torch.no_grad():
        logits = predict_logits(model, frames)
        again = predict_logits(model, frames[1:])
    assert logits.shape == (2, 19, 13, 21) and logits.dtype == torch.float32
    assert torch.allclose(logits[1:], again, atol=1e-5)  # frames are independent, eval mode has no dropout


@pytest.mark.parametrize("side, scores", [(628, 32), (1396, 128)])
def test_dilation10_sizes_on_the_meta_device(side, scores):
    # the paper's sizes at full width, shapes only: the context module keeps the front-end's
    # 1/8-resolution size and the fixed upsampling multiplies it by 8
    with torch.device("meta"):
        model = DilatedNet("dilation10", num_classes=19, width=1.0)
        x = torch.empty(1, 3, side, side)
    assert model.scores(x).shape == (1, 19, scores, scores)
    assert model(x).shape == (1, 19, 8 * scores, 8 * scores)  # 1396 in -> 1024 out
    count = sum(p.numel() for p in model.parameters())
    assert count == 134_338_387 + 29_792  # front-end + basic context module
