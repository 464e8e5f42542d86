import argparse

import pytest
import torch
from torch import nn

from segmentation.model import DilatedNet, frame_scores, predict_logits, tile_size


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    model = DilatedNet("dilation10", num_classes=19, width=1 / 32).eval()
    # scores of a useful size (not the final layer's 0.001 start), and a context module that
    # mixes its inputs (not the identity)
    nn.init.normal_(model.frontend.classifier.final.weight, std=1.0)
    for module in model.context.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.normal_(module.weight, std=0.2)
    return model


@pytest.mark.parametrize("tile", [8, 16, 24, 40])
def test_tiles_give_the_whole_frame_scores(model, tile):
    # in float64 the convolutions' summation order (which differs with the input size) is far
    # below the differences between classes: tiled and whole must agree to 1e-9
    net = model.double()
    torch.manual_seed(1)
    frames = torch.randn(1, 3, 45, 70, dtype=torch.float64)  # tiles of every size at the bottom/right edges
    with torch.no_grad():
        whole = frame_scores(net.frontend, frames)
        tiled = frame_scores(net.frontend, frames, tile)
        assert whole.shape == tiled.shape == (1, 19, 6, 9)
        assert torch.allclose(whole, tiled, rtol=0, atol=1e-9)
        whole_logits, tiled_logits = predict_logits(net, frames), predict_logits(net, frames, tile)
    assert whole_logits.shape == (1, 19, 45, 70)
    assert torch.allclose(whole_logits, tiled_logits, rtol=0, atol=1e-9)
    assert torch.equal(whole_logits.argmax(1), tiled_logits.argmax(1))


def test_tiles_in_float32_give_the_same_labels_up_to_ties(model):
    net = model.float()
    torch.manual_seed(2)
    frames = torch.randn(1, 3, 45, 70)
    with torch.no_grad():
        whole, tiled = predict_logits(net, frames), predict_logits(net, frames, 16)
    assert (whole - tiled).abs().max() <= 1e-5 * whole.abs().max()
    top2 = whole.topk(2, dim=1).values
    clear = (top2[:, 0] - top2[:, 1]) > 1e-5 * whole.abs().max() * 10
    assert torch.equal(whole.argmax(1)[clear], tiled.argmax(1)[clear])


def test_tiles_must_be_whole_blocks(model):
    with pytest.raises(ValueError, match="multiple of 8"):
        frame_scores(model.frontend, torch.zeros(1, 3, 16, 16), tile=12)
    assert tile_size("16") == 16
    for bad in ("12", "0", "-8"):
        with pytest.raises(argparse.ArgumentTypeError, match="positive multiple of 8"):
            tile_size(bad)


def test_channels_last_on_the_cpu_is_the_same_training_step(model):
    """The CPU runs the network channels-last (about twice as fast): same loss and gradients."""
    import copy

    from segmentation.model import use_channels_last

    assert use_channels_last(torch.device("cpu"), amp=False)
    assert not use_channels_last(torch.device("cuda"), amp=False)
    # eval: dropout draws its mask in memory order, so the layouts would drop different units
    dense = copy.deepcopy(model).eval()
    fast = copy.deepcopy(model).eval().to(memory_format=torch.channels_last)
    torch.manual_seed(1)
    x = torch.randn(1, 3, 372 + 48, 372 + 64)
    labels = torch.randint(0, 19, (1, 48, 64))
    losses = []
    for net, image in ((dense, x), (fast, x.contiguous(memory_format=torch.channels_last))):
        loss = nn.functional.cross_entropy(net(image), labels)
        loss.backward()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    for (name, a), b in zip(dense.named_parameters(), fast.parameters()):
        # summation order differs: agreement to float32 rounding of the largest terms
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-4, atol=1e-5 * a.grad.abs().max().item(), msg=name)
