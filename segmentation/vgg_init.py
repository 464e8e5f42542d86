"""ImageNet initialisation of the front-end from torchvision's VGG-16 (``IMAGENET1K_V1``).

The front-end is VGG-16 made dense, so the weights carry over one to one (as the original did
from the Caffe VGG-16):

    torchvision                        front-end
    features.{0,2}                  -> conv1_1, conv1_2
    features.{5,7}                  -> conv2_1, conv2_2
    features.{10,12,14}             -> conv3_1 .. conv3_3
    features.{17,19,21}             -> conv4_1 .. conv4_3
    features.{24,26,28}             -> conv5_1 .. conv5_3   (now dilated 2: pool4 is gone)
    classifier.0  4096 x 25088      -> fc6  4096 x 512 x 7 x 7 (now dilated 4: pool5 is gone)
    classifier.3  4096 x 4096       -> fc7  4096 x 4096 x 1 x 1
    classifier.6  (ImageNet's 1000 classes): dropped; ``final`` keeps its N(0, 0.001) start

classifier.0 acts on the flattened (512, 7, 7) pool5 output, channel-major, so reshaping its rows
to (512, 7, 7) gives the equivalent convolution. These weights expect RGB in [0, 1] normalised
by the ImageNet mean and std, which is what segmentation.data.to_network feeds the network.
(The original's Caffe VGG-16 took BGR 0-255 minus the mean pixel; torchvision's are a different
training of the same architecture, 71.6% top-1.)

The weights come through torchvision's own mechanism (``VGG16_Weights.IMAGENET1K_V1``: a download
into torch.hub's cache, checked against its hash, reused afterwards) or from a local copy of that
file (``--init-weights PATH``) on a machine without network.
"""

from __future__ import annotations

from pathlib import Path

import torch

from segmentation.frontend import FrontEnd

# torchvision's indices of VGG-16's convolutions inside ``features``, in order
VGG16_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
FRONTEND_CONVS = (
    "conv1_1",
    "conv1_2",
    "conv2_1",
    "conv2_2",
    "conv3_1",
    "conv3_2",
    "conv3_3",
    "conv4_1",
    "conv4_2",
    "conv4_3",
    "conv5_1",
    "conv5_2",
    "conv5_3",
)


def frontend_state_from_vgg16(vgg: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torchvision vgg16 state dict -> the FrontEnd state dict entries it provides (all but ``final``)."""
    missing = [key for key in expected_vgg16_keys() if key not in vgg]
    if missing:
        raise ValueError(f"not a torchvision VGG-16 state dict: {len(missing)} keys missing, e.g. {missing[:3]}")
    state = {}
    for index, name in zip(VGG16_CONV_INDICES, FRONTEND_CONVS):
        state[f"features.{name}.weight"] = vgg[f"features.{index}.weight"]
        state[f"features.{name}.bias"] = vgg[f"features.{index}.bias"]
    fc6, fc7 = vgg["classifier.0.weight"], vgg["classifier.3.weight"]
    state["classifier.fc6.weight"] = fc6.reshape(fc6.shape[0], -1, 7, 7)
    state["classifier.fc6.bias"] = vgg["classifier.0.bias"]
    state["classifier.fc7.weight"] = fc7.reshape(*fc7.shape, 1, 1)
    state["classifier.fc7.bias"] = vgg["classifier.3.bias"]
    return state


def expected_vgg16_keys() -> list[str]:
    keys = [f"features.{i}.{p}" for i in VGG16_CONV_INDICES for p in ("weight", "bias")]
    return keys + [f"classifier.{i}.{p}" for i in (0, 3) for p in ("weight", "bias")]


def load_vgg16_state(path: str | Path | None = None) -> dict[str, torch.Tensor]:
    """The ImageNet VGG-16 state dict: from ``path``, or fetched by torchvision (cached)."""
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"VGG-16 weights {path} do not exist; it should be torchvision's {weights_url()} (a state dict)"
            )
        return torch.load(path, map_location="cpu", weights_only=True)
    from torchvision.models import VGG16_Weights

    try:
        return VGG16_Weights.IMAGENET1K_V1.get_state_dict(progress=False, check_hash=True)
    except Exception as err:  # no network: URLError, socket errors, HTTP errors, a broken proxy ...
        checkpoints = Path(torch.hub.get_dir()) / "checkpoints"
        raise RuntimeError(
            f"could not fetch torchvision's ImageNet VGG-16 weights ({weights_url()}): {err}.\n"
            f"On a machine without network: download that file elsewhere, then either pass it with "
            f"--init-weights PATH (segmentation.init_weights in the pipeline config) or copy it into "
            f"{checkpoints}/ where torchvision looks first. To train without ImageNet weights, use "
            f"--init scratch."
        ) from err


def weights_url() -> str:
    from torchvision.models import VGG16_Weights

    return VGG16_Weights.IMAGENET1K_V1.url


def init_from_imagenet(frontend: FrontEnd, path: str | Path | None = None) -> None:
    """Copy the ImageNet VGG-16 weights into a width-1 front-end (``final`` keeps its own start)."""
    if frontend.width != 1.0:
        raise ValueError(
            f"ImageNet weights fit the width-1 front-end only (this one is {frontend.width}); "
            f"use --init scratch for narrower networks"
        )
    state = frontend_state_from_vgg16(load_vgg16_state(path))
    missing, unexpected = frontend.load_state_dict(state, strict=False)
    if unexpected or set(missing) != {"classifier.final.weight", "classifier.final.bias"}:
        raise ValueError(f"VGG-16 weights do not fit the front-end: missing {missing}, unexpected {unexpected}")
