"""Inference against independent oracles: the label ids on disk are the arg-max of known scores,
and every window the front-end sees sits where frame coordinates say it should."""

import argparse
import os
import time

import numpy as np
import pytest
import torch
from cityscapesscripts.helpers.labels import trainId2label
from PIL import Image
from torch import nn

from segmentation.frontend import MARGIN, STRIDE, FrontEnd, pad_frame, pad_window
from segmentation.model import DilatedNet, frame_scores
from segmentation.predict import load_model, main, output_path, predict_frames
from sggan.cli import UserError
from sggan.data.io import DataError, Frame, read_frame_list, read_label, write_frame_list

CLASSES = 19


class KnownScores(nn.Module):
    """A stand-in network whose front-end returns given 1/8-resolution scores, one tensor per call
    (one frame per call), upsampled by repeating each score over its 8x8 block."""

    def __init__(self, scores: list[torch.Tensor]):
        super().__init__()
        self.queue = list(scores)
        self.inputs = []
        self.frontend = self._frontend
        self.context = nn.Identity()
        self.upsample = lambda s: s.repeat_interleave(STRIDE, -2).repeat_interleave(STRIDE, -1)

    def _frontend(self, x: torch.Tensor) -> torch.Tensor:
        self.inputs.append(tuple(x.shape))
        return self.queue.pop(0)[None]


def test_predictions_on_disk_are_the_arg_max_label_ids(tmp_path):
    # frames whose sides are not multiples of 8: the last block row and column stick out
    sizes = [(20, 36), (17, 9)]
    rng = np.random.default_rng(0)
    frames, scores = [], []
    for k, (height, width) in enumerate(sizes):
        Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(tmp_path / f"{k}.png")
        Image.fromarray(np.zeros((height, width), np.uint8)).save(tmp_path / f"{k}_gt.png")
        frames.append(Frame(f"f{k}", tmp_path / f"{k}.png", tmp_path / f"{k}_gt.png"))
        # distinct random scores: no ties, and arg-max and arg-min differ almost everywhere
        scores.append(torch.from_numpy(rng.normal(size=(CLASSES, -(-height // 8), -(-width // 8)))).float())
    net = KnownScores(scores)
    assert predict_frames(net, frames, tmp_path / "out", torch.device("cpu"), progress=False) == 2

    to_label_id = np.array([trainId2label[t].id for t in range(CLASSES)])
    for k, (height, width) in enumerate(sizes):
        # the network saw the frame with its margin, padded to whole 8x8 blocks
        assert net.inputs[k] == (1, 3, 2 * MARGIN + 8 * -(-height // 8), 2 * MARGIN + 8 * -(-width // 8))
        written = np.array(Image.open(tmp_path / "out" / f"f{k}_labelIds.png"))
        expected = np.empty((height, width), np.int64)
        for y in range(height):
            for x in range(width):
                expected[y, x] = to_label_id[int(np.argmax(scores[k][:, y // 8, x // 8].numpy()))]
        assert written.shape == (height, width)
        assert (written == expected).all()


def position_image(height: int, width: int) -> torch.Tensor:
    """(1, 2, H, W): channel 0 holds each pixel's row, channel 1 its column."""
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return torch.stack([rows, cols]).float()[None]


def mirrored(coords: np.ndarray, size: int) -> np.ndarray:
    """Frame coordinates of positions outside [0, size) under repeated reflect padding."""
    pad = 2 * MARGIN
    return np.pad(np.arange(size), pad, mode="reflect")[coords + pad]


@pytest.mark.parametrize("top, left, height, width", [(0, 0, 16, 24), (8, 16, 8, 8), (24, 0, 16, 40)])
def test_padded_window_holds_the_frame_around_its_output_pixels(top, left, height, width):
    frame_h, frame_w = 45, 60  # smaller than the margin: reflected more than once
    window = pad_window(position_image(frame_h, frame_w), top, left, height, width)[0]
    assert window.shape == (2, height + 2 * MARGIN, width + 2 * MARGIN)
    # window pixel (i, j) is frame pixel (top - MARGIN + i, left - MARGIN + j), mirrored into the frame
    rows = mirrored(np.arange(top - MARGIN, top + height + MARGIN), frame_h)
    cols = mirrored(np.arange(left - MARGIN, left + width + MARGIN), frame_w)
    assert (window[0].numpy() == rows[:, None]).all()
    assert (window[1].numpy() == cols[None, :]).all()
    # output pixel (0, 0) of the window stands for frame pixel (top, left)
    assert window[0, MARGIN, MARGIN] == top and window[1, MARGIN, MARGIN] == left


class BlockCorner(nn.Module):
    """A stand-in front-end whose score (i, j) is what the real one's 380x380 field of view
    starts with: input pixel (8i, 8j), with its 8x8 block at (8i + MARGIN, 8j + MARGIN)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = ((side - 2 * MARGIN) // STRIDE for side in x.shape[-2:])
        corner = x[..., 0 : STRIDE * h : STRIDE, 0 : STRIDE * w : STRIDE]
        block = x[..., MARGIN : MARGIN + STRIDE * h : STRIDE, MARGIN : MARGIN + STRIDE * w : STRIDE]
        return torch.cat([corner, block], dim=1)


@pytest.mark.parametrize("tile", [None, 8, 16])
def test_frame_scores_line_up_with_frame_coordinates(tile):
    frame_h, frame_w = 37, 50  # neither a multiple of 8
    scores = frame_scores(BlockCorner(), position_image(frame_h, frame_w), tile)[0].numpy()
    blocks_h, blocks_w = -(-frame_h // 8), -(-frame_w // 8)
    assert scores.shape == (4, blocks_h, blocks_w)
    block_rows, block_cols = np.arange(blocks_h) * 8, np.arange(blocks_w) * 8
    # score (i, j) covers frame block (8i, 8j) (mirrored where the last block sticks out) ...
    assert (scores[2] == mirrored(block_rows, frame_h)[:, None]).all()
    assert (scores[3] == mirrored(block_cols, frame_w)[None, :]).all()
    # ... and its field of view starts MARGIN pixels before it
    assert (scores[0] == mirrored(block_rows - MARGIN, frame_h)[:, None]).all()
    assert (scores[1] == mirrored(block_cols - MARGIN, frame_w)[None, :]).all()


def test_each_score_of_the_real_front_end_sees_the_window_centred_on_its_block():
    torch.manual_seed(0)
    frontend = FrontEnd(num_classes=2, width=1 / 32).eval()
    # made linear (average pools, no ReLUs) so that every pixel in view moves the score
    for name, layer in frontend.features.named_children():
        if isinstance(layer, nn.MaxPool2d):
            setattr(frontend.features, name, nn.AvgPool2d(2, stride=2))
        elif isinstance(layer, nn.ReLU):
            setattr(frontend.features, name, nn.Identity())
    frontend.classifier.relu6 = frontend.classifier.relu7 = nn.Identity()
    blocks = 3
    x = torch.randn(1, 3, 2 * MARGIN + 8 * blocks, 2 * MARGIN + 8 * blocks, requires_grad=True)
    out = frontend(x)
    assert out.shape[-2:] == (blocks, blocks)
    out[0, :, 1, 2].sum().backward()
    seen = x.grad[0].abs().sum(0).nonzero()
    # block (1, 2) is input rows 8 + MARGIN .. 15 + MARGIN, columns 16 + MARGIN .. 23 + MARGIN:
    # the field of view is 380 pixels, MARGIN on each side of it
    assert seen[:, 0].min() == 8 and seen[:, 0].max() == 8 + 379
    assert seen[:, 1].min() == 16 and seen[:, 1].max() == 16 + 379


def test_pad_frame_is_the_window_of_the_whole_frame():
    image = position_image(30, 41)
    padded = pad_frame(image, 32, 48)
    assert padded.shape[-2:] == (32 + 2 * MARGIN, 48 + 2 * MARGIN)
    assert (padded[0, 0].numpy() == mirrored(np.arange(-MARGIN, 32 + MARGIN), 30)[:, None]).all()
    assert (padded[0, 1].numpy() == mirrored(np.arange(-MARGIN, 48 + MARGIN), 41)[None, :]).all()


def test_load_model_names_a_missing_or_foreign_file_and_the_command_that_writes_it(tmp_path):
    with pytest.raises(DataError, match=r"missing.pt does not exist; it is written by `python -m segmentation.train`$"):
        load_model(tmp_path / "missing.pt", torch.device("cpu"))
    fix = r"it is not a model.pt written by `python -m segmentation.train`, or it is truncated; train it again$"
    (tmp_path / "truncated.pt").write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(UserError, match=r"truncated.pt is corrupt or incomplete .*; " + fix):
        load_model(tmp_path / "truncated.pt", torch.device("cpu"))
    # weights only: a file that would run arbitrary code when unpickled is refused, not loaded
    torch.save({"model_config": argparse.Namespace(arch="frontend"), "model": {}}, tmp_path / "foreign.pt")
    with pytest.raises(UserError, match=r"foreign.pt is corrupt or incomplete .*; " + fix):
        load_model(tmp_path / "foreign.pt", torch.device("cpu"))


def test_main_predicts_its_shard_with_the_saved_model_and_lists_what_it_wrote(tmp_path, capsys):
    """The command line's wiring: the shard's frames only, through the saved network (whole or in
    tiles, the same labels), each at its label's size, the shard's list, and a rerun that skips."""
    rng = np.random.default_rng(1)
    frames = []
    for k in range(4):
        height, width = (20, 28) if k != 3 else (12, 16)  # frame 3: a label larger than its image
        Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(tmp_path / f"{k}.png")
        Image.fromarray(np.zeros((20, 28), np.uint8)).save(tmp_path / f"{k}_gt.png")
        frames.append(Frame(f"f{k}", tmp_path / f"{k}.png", tmp_path / f"{k}_gt.png"))
    write_frame_list(tmp_path / "frames.tsv", frames)
    torch.manual_seed(0)
    model = DilatedNet("frontend", CLASSES, width=1 / 16).eval()
    torch.save({"model": model.state_dict(), "model_config": model.config()}, tmp_path / "model.pt")

    cli = ["--model", str(tmp_path / "model.pt"), "--frames", str(tmp_path / "frames.tsv"), "--device", "cpu"]
    shard = ["--shard", "1", "--num-shards", "2", "--done", str(tmp_path / "done.tsv")]
    main([*cli, "--out", str(tmp_path / "whole"), *shard])
    assert "predicted 2 frames (0 already there) into" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "whole").iterdir()) == ["f1_labelIds.png", "f3_labelIds.png"]
    assert read_frame_list(tmp_path / "done.tsv") == [
        Frame(f.id, output_path(tmp_path / "whole", f), f.label) for f in frames[1::2]
    ]
    main([*cli, "--out", str(tmp_path / "tiled"), "--tile", "8", "--workers", "1"])
    predict_frames(model, frames, tmp_path / "direct", torch.device("cpu"), progress=False)
    for f in frames:
        direct = read_label(output_path(tmp_path / "direct", f))
        assert direct.shape == (20, 28) and len(np.unique(direct)) > 1
        assert np.array_equal(read_label(output_path(tmp_path / "tiled", f)), direct)
        if f in frames[1::2]:
            assert np.array_equal(read_label(output_path(tmp_path / "whole", f)), direct)
    capsys.readouterr()
    main([*cli[:4], "--out", str(tmp_path / "whole"), *shard])  # a rerun (on --device auto) skips what is there
    assert "predicted 0 frames (2 already there)" in capsys.readouterr().err
    os.utime(tmp_path / "model.pt", (time.time() + 10, time.time() + 10))  # a retrained model
    main([*cli, "--out", str(tmp_path / "whole"), *shard])
    assert "predicted 2 frames (0 already there)" in capsys.readouterr().err
    flags = [*cli[:4], "--out", str(tmp_path / "whole")]
    for k in (0, 2, 4):  # each of --model, --frames, --out is required
        with pytest.raises(SystemExit) as exit:
            main(flags[:k] + flags[k + 2 :])
        assert exit.value.code == 2 and f"required: {flags[k]}" in capsys.readouterr().err
