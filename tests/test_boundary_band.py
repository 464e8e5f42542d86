"""SG-GAN's boundary band B (sggan.data.labels.boundary_band) against an independent re-statement
of the original code's steps: colours from cityscapesscripts (or the official colour PNG),
scipy's bytescale, PIL's bilinear resize, [-1, 1], reflect padding and the original's
depthwise [-1, 0, 1] kernels as a float32 torch convolution (Peilun-Li/SG-GAN model.py 65-78)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from cityscapesscripts.helpers.labels import labels as cityscapes_labels
from conftest import SHARED_SAMPLES
from PIL import Image

from sggan.data.labels import boundary_band
from sggan.data.toyworld import cityscapes_frame, gta_frame
from sggan.losses import boundary_mask
from sggan.training import resize_frame

SIZE = (256, 512)


def colours_of(label_ids: np.ndarray) -> np.ndarray:
    table = np.zeros((256, 3), dtype=np.uint8)
    for label in cityscapes_labels:
        if label.id >= 0:
            table[label.id] = label.color
    return table[label_ids]


def original_band(colour_image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The original's B from a colour label image, step by step in float32 as TensorFlow ran it."""
    data = colour_image.astype(np.float64)  # utils.imread: .astype(np.float)
    cmin, cmax = data.min(), data.max()  # scipy.misc.imresize -> toimage -> bytescale
    scale = 255.0 / (cmax - cmin if cmax > cmin else 1)
    bytes_ = (((data - cmin) * scale).clip(0, 255) + 0.5).astype(np.uint8)
    resized = np.asarray(Image.fromarray(bytes_).resize((size[1], size[0]), Image.BILINEAR))
    seg = torch.from_numpy(resized / 127.5 - 1.0).float().permute(2, 0, 1)[None]
    seg = F.pad(seg, (1, 1, 1, 1), mode="reflect")
    kx = torch.tensor([[0.0, 0.0, 0.0], [-1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    ky = torch.tensor([[0.0, -1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    kernels = torch.stack([kx, ky])[:, None].repeat(3, 1, 1, 1)  # depthwise, multiplier 2
    response = F.conv2d(seg, kernels, groups=3).abs().sum(dim=1)[0]
    return (response.sign().abs() > 0).numpy()


def test_hand_computed_band_at_full_size_and_half_size():
    labels = np.full((4, 8), 7, dtype=np.uint8)  # road | building at column 4
    labels[:, 4:] = 11
    band = boundary_band(labels, (4, 8))
    expected = np.zeros((4, 8), dtype=bool)
    expected[:, 3:5] = True  # the central difference sees the edge from both of its sides
    np.testing.assert_array_equal(band, expected)
    # Halving: PIL's bilinear filter spans 4 source columns per output column (2j-1 .. 2j+2), so
    # output columns 3 and 4 blend road and building, and their neighbours 2 and 5 differ from them.
    small = boundary_band(np.repeat(np.repeat(labels, 2, 0), 2, 1), (4, 8))
    expected[:, 2:6] = True
    np.testing.assert_array_equal(small, expected)


def test_uniform_frame_has_no_band():
    assert not boundary_band(np.full((30, 50), 23, dtype=np.uint8), (16, 32)).any()


@pytest.mark.parametrize("domain", ["gta", "cityscapes"])
def test_toy_frames_match_the_original_steps(domain):
    labels = gta_frame(0, 3, 8)[1] if domain == "gta" else cityscapes_frame(0, "train", 3, 8)[1]
    band = boundary_band(labels, (128, 256))
    assert band.shape == (128, 256) and band.dtype == bool
    np.testing.assert_array_equal(band, original_band(colours_of(labels), (128, 256)))
    nearest = resize_frame(np.zeros((*labels.shape, 3), np.uint8), labels, (128, 256))[1]
    narrow = boundary_mask(torch.from_numpy(nearest.astype(np.int64))[None])[0, 0].numpy() > 0
    if labels.shape != (128, 256):
        # resized: wider than the label-id band after a nearest resize, which blends nothing
        assert band.mean() > 1.3 * narrow.mean()
    else:
        # the toy Cityscapes frames are already 128x256: nothing blends, and B is the label-id
        # band less the edges between classes of one colour (unlabeled, ego vehicle, static...)
        assert not (band & ~narrow).any() and band.mean() > 0.9 * narrow.mean()


def test_gta_sample_frame(sample_files):
    label = Image.open(sample_files.gta_label)
    ids = np.asarray(label)
    band = boundary_band(ids, SIZE)
    np.testing.assert_array_equal(band, original_band(colours_of(ids), SIZE))
    if sample_files == SHARED_SAMPLES:
        assert band.mean() == pytest.approx(0.174, abs=0.001)
    # the label file's own palette ("static" is (20,20,20) there) moves a handful of pixels
    from_palette = original_band(np.asarray(label.convert("RGB")), SIZE)
    assert (from_palette != band).mean() < 0.0005


def test_cityscapes_sample_frame_against_the_official_colour_image(sample_files):
    ids = np.asarray(Image.open(sample_files.cityscapes_label))
    colour_file = sample_files.cityscapes_label.with_name(
        sample_files.cityscapes_label.name.replace("_labelIds", "_color")
    )
    # the toy world writes no colour labels: there the colours of cityscapesscripts' table stand in
    colour = np.asarray(Image.open(colour_file).convert("RGB")) if colour_file.exists() else colours_of(ids)
    band = boundary_band(ids, SIZE)
    np.testing.assert_array_equal(band, original_band(colour, SIZE))  # what the original read
    if sample_files == SHARED_SAMPLES:
        assert colour_file.exists() and band.mean() == pytest.approx(0.163, abs=0.001)
