import urllib.error

import pytest
import torch
from torchvision.models import VGG16_Weights, vgg16

from segmentation import vgg_init
from segmentation.frontend import FrontEnd
from segmentation.vgg_init import FRONTEND_CONVS, VGG16_CONV_INDICES, init_from_imagenet


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    """A randomly initialised torchvision VGG-16 state dict on disk (550 MB; no download)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("vgg") / "vgg16-random.pth"
    torch.save(vgg16(weights=None).state_dict(), path)
    return path


def uninitialised_frontend() -> FrontEnd:
    # built on the meta device and given memory without running the 134 M-parameter initialisation
    with torch.device("meta"):
        frontend = FrontEnd(num_classes=19, width=1.0)
    return frontend.to_empty(device="cpu")


def test_every_vgg_tensor_lands_where_it_belongs(vgg_file):
    frontend = uninitialised_frontend()
    with torch.no_grad():
        frontend.classifier.final.weight.fill_(0.25)
    init_from_imagenet(frontend, vgg_file)
    vgg = torch.load(vgg_file, weights_only=True)
    assert len(VGG16_CONV_INDICES) == len(FRONTEND_CONVS) == 13
    for index, name in zip(VGG16_CONV_INDICES, FRONTEND_CONVS):
        conv = frontend.features.get_submodule(name)
        assert torch.equal(conv.weight, vgg[f"features.{index}.weight"]), name
        assert torch.equal(conv.bias, vgg[f"features.{index}.bias"]), name
    fc6, fc7 = frontend.classifier.fc6, frontend.classifier.fc7
    assert vgg["classifier.0.weight"].shape == (4096, 25088) and fc6.weight.shape == (4096, 512, 7, 7)
    assert torch.equal(fc6.weight, vgg["classifier.0.weight"].view(4096, 512, 7, 7))
    # channel-major: row j, input (c, y, x) of the linear layer is column c * 49 + y * 7 + x
    assert fc6.weight[5, 300, 2, 6] == vgg["classifier.0.weight"][5, 300 * 49 + 2 * 7 + 6]
    assert torch.equal(fc6.bias, vgg["classifier.0.bias"])
    assert fc7.weight.shape == (4096, 4096, 1, 1)
    assert torch.equal(fc7.weight[:, :, 0, 0], vgg["classifier.3.weight"])
    assert torch.equal(fc7.bias, vgg["classifier.3.bias"])
    # ImageNet's 1000-class layer is not used: the 19-class layer keeps its own start
    assert (frontend.classifier.final.weight == 0.25).all()


def test_fc6_as_a_convolution_computes_the_linear_layer(vgg_file):
    # on a 7x7 pool5-sized input the converted fc6 (without its dilation) is VGG's first linear layer
    vgg = torch.load(vgg_file, weights_only=True)
    state = vgg_init.frontend_state_from_vgg16(vgg)
    pool5 = torch.randn(1, 512, 7, 7)
    as_conv = torch.nn.functional.conv2d(pool5, state["classifier.fc6.weight"], state["classifier.fc6.bias"])
    as_linear = torch.nn.functional.linear(pool5.flatten(1), vgg["classifier.0.weight"], vgg["classifier.0.bias"])
    assert torch.allclose(as_conv.flatten(1), as_linear, atol=1e-4)


def test_narrow_networks_refuse_imagenet_weights(vgg_file):
    with pytest.raises(ValueError, match="width-1 front-end only"):
        init_from_imagenet(FrontEnd(width=0.0625), vgg_file)


def test_offline_machine_gets_told_what_to_do(monkeypatch):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(type(VGG16_Weights.IMAGENET1K_V1), "get_state_dict", no_network)
    with pytest.raises(RuntimeError) as error:
        vgg_init.load_vgg16_state(None)
    message = str(error.value)
    assert "vgg16-397923af.pth" in message and "--init-weights" in message and "--init scratch" in message


def test_a_wrong_weights_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.pth"):
        vgg_init.load_vgg16_state(tmp_path / "nowhere.pth")
    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="not a torchvision VGG-16"):
        init_from_imagenet(uninitialised_frontend(), tmp_path / "other.pth")


def test_mapping_follows_torchvisions_own_layer_order_and_shapes():
    # The oracle is torchvision's VGG-16 module structure, not the mapping's index tables: its
    # n-th convolution (and n-th linear layer, fc6/fc7) must land in the front-end's n-th
    # convolution, with the front-end's shapes. Every tensor is a distinct constant (expanded,
    # so no memory), which shows where it went.
    with torch.device("meta"):
        reference, frontend = vgg16(weights=None), FrontEnd(num_classes=19, width=1.0)
    vgg = {}
    for value, (key, tensor) in enumerate(reference.state_dict().items()):
        vgg[key] = torch.tensor(float(value)).expand(tensor.shape)
    state = vgg_init.frontend_state_from_vgg16(vgg)

    def value(key):  # the first and the last element
        tensor = state[key]
        return tensor[(0,) * tensor.dim()].item(), tensor[tuple(n - 1 for n in tensor.shape)].item()

    vgg_convs = [n for n, m in reference.features.named_modules() if isinstance(m, torch.nn.Conv2d)]
    vgg_linears = [n for n, m in reference.classifier.named_modules() if isinstance(m, torch.nn.Linear)]
    ours = [n for n, m in frontend.features.named_modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(vgg_convs) == len(ours) == 13 and len(vgg_linears) == 3
    pairs = [(f"features.{v}", f"features.{o}") for v, o in zip(vgg_convs, ours)]
    pairs += [(f"classifier.{vgg_linears[0]}", "classifier.fc6"), (f"classifier.{vgg_linears[1]}", "classifier.fc7")]
    shapes = frontend.state_dict()
    for source, target in pairs:
        for kind in ("weight", "bias"):
            key = f"{target}.{kind}"
            expect = float(list(vgg).index(f"{source}.{kind}"))
            assert value(key) == (expect, expect), (key, source)
            assert state[key].shape == shapes[key].shape, key
    assert set(state) == set(shapes) - {"classifier.final.weight", "classifier.final.bias"}
