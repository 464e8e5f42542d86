"""The shared adaptation path: label-size outputs, resume, staleness, gather, sharding."""

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_frame
from torch import nn

from sggan.adapt import main as adapt_main
from sggan.adaptation import (
    AdaptOptions,
    _resize_to_labels,
    _SourceFrames,
    adapt_frames,
    check_working_size,
    output_path,
    to_network,
    to_uint8,
)
from sggan.cli import UserError
from sggan.data.io import (
    DataError,
    Frame,
    image_size,
    read_frame_list,
    read_image,
    remove_stale,
    shard,
    write_frame_list,
    write_image,
)
from sggan.gather import gather


class Invert(nn.Module):
    def forward(self, x):
        return -x


def test_real_gta_frame_is_written_at_label_size(sample_files, tmp_path):
    frame = Frame(sample_files.gta_id, sample_files.gta_image, sample_files.gta_label)
    options = AdaptOptions(working_size=(256, 512), batch_size=1)
    assert adapt_frames(Invert(), [frame], tmp_path, options, size_multiple=256, progress=False) == 1
    out = read_image(tmp_path / f"{frame.id}.png")
    assert out.shape == (1052, 1914, 3)
    # inverting twice through a resize round trip keeps the picture: mean colour is mirrored
    source_mean = read_image(frame.image).reshape(-1, 3).mean(0)
    np.testing.assert_allclose(out.reshape(-1, 3).mean(0), 255 - source_mean, atol=2.0)


def test_size_mismatch_follows_the_label_and_batches_mix_sizes(tmp_path):
    frames = [
        make_frame(tmp_path / "src", "a", (40, 70), (40, 70)),
        make_frame(tmp_path / "src", "b", (44, 66), (42, 68), seed=1),
    ]  # image/label differ
    options = AdaptOptions(working_size=(32, 64), batch_size=2)
    adapt_frames(Invert(), frames, tmp_path / "out", options, progress=False)
    assert image_size(tmp_path / "out/a.png") == (40, 70)
    assert image_size(tmp_path / "out/b.png") == (42, 68)
    assert gather(frames, tmp_path / "out")[1].image == tmp_path / "out/b.png"


def test_rerun_skips_finished_frames_and_stale_ones_are_redone(tmp_path):
    frames = [make_frame(tmp_path / "src", f"{i}", (16, 32), (16, 32), seed=i) for i in range(3)]
    options = AdaptOptions(working_size=(16, 32))
    assert adapt_frames(Invert(), frames, tmp_path / "out", options, progress=False) == 3
    assert adapt_frames(Invert(), frames, tmp_path / "out", options, progress=False) == 0
    weights = tmp_path / "generator.pt"
    weights.write_bytes(b"newer weights")
    assert remove_stale([output_path(tmp_path / "out", f) for f in frames], weights) == 3
    assert adapt_frames(Invert(), frames, tmp_path / "out", options, progress=False) == 3


def test_gather_names_missing_and_missized_frames(tmp_path):
    frames = [make_frame(tmp_path / "src", f"{i}", (16, 32), (16, 32), seed=i) for i in range(3)]
    adapt_frames(Invert(), frames[:2], tmp_path / "out", AdaptOptions(working_size=(16, 32)), progress=False)
    write_image(tmp_path / "out/1.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DataError) as err:
        gather(frames, tmp_path / "out")
    assert "2: missing" in str(err.value) and "1:" in str(err.value) and "8x8" in str(err.value)


def test_shards_partition_the_list():
    items = [Frame(str(i), Path("i"), Path("l")) for i in range(10)]
    parts = [shard(items, k, 3) for k in range(3)]
    assert sorted(f.id for p in parts for f in p) == sorted(f.id for f in items)
    with pytest.raises(UserError, match="--shard 3 is out of range for --num-shards 3; use 0 to 2"):
        shard(items, 3, 3)


def test_working_size_must_suit_the_generator():
    check_working_size((256, 512), 256)
    with pytest.raises(ValueError, match="multiple of 256"):
        check_working_size((1052, 1914), 256)


def test_pixel_conversion_round_trips():
    images = torch.randint(0, 256, (2, 5, 7, 3), dtype=torch.uint8)
    x = to_network(images, torch.device("cpu"), channels_last=False)
    assert x.shape == (2, 3, 5, 7) and x.min() >= -1 and x.max() <= 1
    assert torch.equal(to_uint8(x), images)


def test_identity_command_copies_frames_and_writes_the_shard_list(tmp_path):
    frames = [make_frame(tmp_path / "src", f"{i}", (20, 30), (20, 30), seed=i) for i in range(4)]
    write_frame_list(tmp_path / "frames.tsv", frames)
    for index in range(2):
        adapt_main(
            [
                "--model",
                "identity",
                "--frames",
                str(tmp_path / "frames.tsv"),
                "--out",
                str(tmp_path / "out"),
                "--shard",
                str(index),
                "--num-shards",
                "2",
                "--working-size",
                "16",
                "32",
                "--done",
                str(tmp_path / f"shard{index}.tsv"),
                "--device",
                "cpu",
            ]
        )
    assert len(read_frame_list(tmp_path / "shard0.tsv")) == 2
    for frame in frames:
        assert np.array_equal(read_image(tmp_path / "out" / f"{frame.id}.png"), read_image(frame.image))


# ----------------------------------------------------------------- the resizes, against NumPy
def numpy_bilinear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """(h, w, ...) -> (height, width, ...) float64: bilinear with half-pixel centres, edges clamped
    (OpenCV's INTER_LINEAR and torch's align_corners=False), written out by hand."""

    def taps(out_size: int, in_size: int):
        src = np.clip((np.arange(out_size) + 0.5) * in_size / out_size - 0.5, 0, in_size - 1)
        low = np.floor(src).astype(int)
        return low, np.minimum(low + 1, in_size - 1), src - low

    y0, y1, wy = taps(height, image.shape[0])
    x0, x1, wx = taps(width, image.shape[1])
    image = image.astype(np.float64)
    wy, wx = wy.reshape(-1, 1, *[1] * (image.ndim - 2)), wx.reshape(1, -1, *[1] * (image.ndim - 2))
    top = image[y0][:, x0] * (1 - wx) + image[y0][:, x1] * wx
    bottom = image[y1][:, x0] * (1 - wx) + image[y1][:, x1] * wx
    return top * (1 - wy) + bottom * wy


def test_source_frames_are_resized_bilinearly_to_the_working_size_and_carry_the_label_size(tmp_path):

    small = make_frame(tmp_path, "small", (12, 20), (10, 14))  # image, label (H, W): all differ
    exact = make_frame(tmp_path, "exact", (16, 32), (9, 7), seed=1)
    frames = _SourceFrames([small, exact], (16, 32))
    image, label_hw, index = frames[0]
    assert image.shape == (16, 32, 3) and image.dtype == torch.uint8 and index == 0
    assert label_hw.tolist() == [10, 14]
    expected = numpy_bilinear(read_image(small.image), 16, 32)
    assert np.abs(image.numpy() - expected).max() <= 1.0  # OpenCV's fixed-point weights
    image, label_hw, index = frames[1]  # already at the working size: the pixels as they are
    assert np.array_equal(image.numpy(), read_image(exact.image)) and label_hw.tolist() == [9, 7] and index == 1


def test_translated_batches_return_to_each_labels_size_bilinearly():

    torch.manual_seed(0)
    y = torch.rand(3, 3, 8, 16) * 2 - 1

    def expected(k: int, height: int, width: int) -> np.ndarray:
        resized = numpy_bilinear(y[k].permute(1, 2, 0).double().numpy(), height, width)
        return np.clip(np.round((resized + 1) * 127.5), 0, 255)

    def check(sizes):
        frames = _resize_to_labels(y, torch.tensor(sizes))
        assert len(frames) == len(sizes)
        for k, (frame, (height, width)) in enumerate(zip(frames, sizes)):
            assert frame.shape == (height, width, 3) and frame.dtype == np.uint8
            difference = np.abs(frame.astype(np.float64) - expected(k, height, width))
            assert difference.max() <= 1 and (difference > 0).mean() < 0.01  # float32 ties only

    check([[10, 14]] * 3)  # one size for the batch
    check([[10, 14], [6, 20], [8, 16]])  # mixed sizes, one of them the working size


def test_pixel_conversions_by_hand():
    images = torch.tensor([[[[0, 51, 255], [102, 127, 128]]]], dtype=torch.uint8)  # (1, 1, 2, 3): H 1, W 2
    x = to_network(images, torch.device("cpu"), channels_last=False)
    expected = torch.tensor([[[[-1.0, -0.2]], [[-0.6, -0.003921569]], [[1.0, 0.003921569]]]])
    assert x.shape == (1, 3, 1, 2) and torch.allclose(x, expected, atol=1e-6)
    assert to_network(images, torch.device("cpu"), channels_last=True).is_contiguous(memory_format=torch.channels_last)
    # (x + 1) * 127.5, rounded half to even, clamped: -2 -> 0, 0 -> 127.5 -> 128, 0.1 -> 140.25 -> 140
    y = torch.tensor([-2.0, -1.0, 0.0, 0.1, 1.0, 2.0]).reshape(1, 3, 1, 2)
    assert to_uint8(y).shape == (1, 1, 2, 3)
    assert to_uint8(y)[0, 0].T.tolist() == [[0, 0], [128, 140], [255, 255]]
