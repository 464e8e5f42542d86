"""SG-GAN training on a few tiny frames: outputs, resume = uninterrupted, data pipeline."""

import numpy as np
import pytest
import torch
from conftest import SGGAN_TINY as TINY
from conftest import read_log, write_frames

from sggan.data.io import read_image, read_label
from sggan.data.labels import boundary_band, group_lut
from sggan.losses import boundary_mask
from sggan.runs import load_checkpoint
from sggan.training import HistoryPool, UnpairedCrops, resize_frame
from sggan.translators import build_translator


@pytest.fixture
def frames(tmp_path):
    return write_frames(tmp_path / "v", 4, True, 0), write_frames(tmp_path / "r", 5, False, 1)


def test_training_writes_checkpoint_generator_samples_and_loss_log(frames, tmp_path):
    source, target = frames
    run = tmp_path / "run"
    translator = build_translator("sggan", TINY)
    translator.train(source, target, run, torch.device("cpu"), seed=0)

    assert (run / "checkpoint.pt").is_file() and (run / "generator.pt").is_file()
    checkpoint = load_checkpoint(run / "checkpoint.pt")
    progress = checkpoint["progress"]
    assert (progress["epoch"], progress["iteration"], progress["step"]) == (2, 0, 6)
    assert len(checkpoint["state"]["pool_r"]["entries"]) == 2
    samples = sorted(p.name for p in (run / "samples").glob("*.png"))
    assert samples == ["step0000002.png", "step0000004.png", "step0000006.png"]
    grid = read_image(run / "samples" / "step0000006.png")
    assert grid.shape == (2 * 16, 3 * 32, 3)  # input | adapted | cycled, both directions
    rows = read_log(run / "loss_log.csv")
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [(r["alpha"], r["beta"]) for r in rows] == [("1", "0")] * 3 + [("0.9", "0.1")] * 3
    assert all(float(r["g_total"]) > 0 and float(r["d_r"]) > 0 and float(r["grad_v"]) > 0 for r in rows)

    generator = translator.generator(run, torch.device("cpu"))
    assert not generator.training
    x = torch.rand(1, 3, 24, 48) * 2 - 1
    assert generator(x).shape == x.shape
    assert translator.size_multiple() == 8
    # a finished run is not trained again
    before = (run / "generator.pt").stat().st_mtime_ns
    translator.train(source, target, run, torch.device("cpu"), seed=0)
    assert (run / "generator.pt").stat().st_mtime_ns == before


def test_resume_refuses_a_changed_architecture(frames, tmp_path):
    source, target = frames
    run = tmp_path / "run"
    (run).mkdir()
    build_translator("sggan", {**TINY, "epochs": 1}).train(source, target, run, torch.device("cpu"), seed=0)
    (run / "generator.pt").unlink()
    with pytest.raises(ValueError, match="ndf: 4 -> 8"):
        build_translator("sggan", {**TINY, "ndf": 8}).train(source, target, run, torch.device("cpu"), seed=0)


def test_ablation_configs_build_standard_discriminator_and_drop_the_gradient_term(frames, tmp_path):
    source, target = frames
    params = {
        **TINY,
        "epochs": 1,
        "max_iterations_per_epoch": 1,
        "semantic_discriminator": False,
        "use_gradient_loss": False,
    }
    build_translator("sggan", params).train(source, target, tmp_path / "ablation", torch.device("cpu"), seed=0)
    checkpoint = load_checkpoint(tmp_path / "ablation" / "checkpoint.pt")
    assert checkpoint["state"]["nets"]["d_r.net.11.weight"].shape[0] == 1
    row = read_log(tmp_path / "ablation" / "loss_log.csv")[0]
    g_total = sum(float(row[k]) for k in ("g_adv_r", "g_adv_v")) + 10 * (float(row["cycle_v"]) + float(row["cycle_r"]))
    assert float(row["g_total"]) == pytest.approx(g_total, rel=1e-4)  # no gradient term inside


def test_config_rejects_crops_that_the_unet_cannot_take():
    with pytest.raises(ValueError, match=r"crop_size \[12, 32\] must be a multiple of 8"):
        build_translator("sggan", {**TINY, "crop_size": [12, 32]})
    with pytest.raises(ValueError, match="unknown parameter"):
        build_translator("sggan", {"epoch": 3})
    with pytest.raises(ValueError, match="boundary must be one of"):
        build_translator("sggan", {**TINY, "boundary": "edges"})


def test_crops_are_seeded_per_item_and_masks_follow_the_labels(frames):
    source, target = frames
    lut, names = group_lut("sggan")
    dataset = UnpairedCrops(source, target, (20, 36), (16, 32), True, lut, len(names), seed=7)
    dataset.set_epoch(1, [3, 2, 1, 0], [4, 3, 2, 1, 0])
    assert len(dataset) == 4
    first, again = dataset[2], dataset[2]
    for x, y in zip(first, again):
        assert torch.equal(x, y)
    image, boundary, mask, r_image, r_boundary, r_mask = first
    assert image.shape == (3, 16, 32) and mask.shape == (8, 2, 4) and boundary.shape == (0,)
    assert -1 <= image.min() and image.max() <= 1
    assert torch.equal(mask.sum(0), torch.ones(2, 4))  # one group per cell
    # whole frames, no flip: the mask is the one-hot group of the label at each cell centre (nearest)
    whole = UnpairedCrops(source, target, (16, 32), (16, 32), False, lut, len(names), seed=7)
    label = torch.from_numpy(resize_frame(read_image(source[0].image), read_label(source[0].label), (16, 32))[1])
    groups = torch.from_numpy(lut)[label[4::8, 4::8].long()]
    assert torch.equal(whole[0][2].argmax(0), groups.long())


@pytest.mark.parametrize("flip", [False, True])
def test_boundary_maps_are_cropped_and_flipped_with_the_frame(frames, flip):
    source, target = frames
    lut, names = group_lut("sggan")
    colour = UnpairedCrops(source, target, (20, 36), (16, 32), flip, lut, len(names), seed=3, boundary="colour")
    ids = UnpairedCrops(source, target, (20, 36), (16, 32), flip, lut, len(names), seed=3, boundary="label_ids")
    for index in range(4):
        image, band, _, _, r_band, _ = colour[index]
        assert band.shape == (1, 16, 32) and r_band.shape == (1, 16, 32)
        # B of the whole frame at the load size, in the crop window whose image this is
        full = torch.from_numpy(boundary_band(read_label(source[index].label), (20, 36))).float()
        loaded = (
            torch.from_numpy(
                resize_frame(read_image(source[index].image), read_label(source[index].label), (20, 36))[0]
            )
            .permute(2, 0, 1)
            .float()
            .div(127.5)
            .sub(1.0)
        )
        windows = [
            (top, left, mirrored)
            for top in range(5)
            for left in range(5)
            for mirrored in (False, True)
            if torch.equal(
                image,
                loaded[:, top : top + 16, left : left + 32].flip(-1)
                if mirrored
                else loaded[:, top : top + 16, left : left + 32],
            )
        ]
        assert windows
        top, left, mirrored = windows[0]
        window = full[top : top + 16, left : left + 32]
        assert torch.equal(band[0], window.flip(-1) if mirrored else window)
        # label_ids: central differences of the same crop's label ids (nearest resize), reflect-padded
        assert torch.equal(ids[index][0], image)
        label = torch.from_numpy(
            resize_frame(read_image(source[index].image), read_label(source[index].label), (20, 36))[1].astype(np.int64)
        )[top : top + 16, left : left + 32]
        assert torch.equal(ids[index][1], boundary_mask((label.flip(-1) if mirrored else label)[None])[0])


def test_history_pool_keeps_masks_with_their_images_and_restores_its_state():
    pool = HistoryPool(3, seed=0)
    images = [torch.full((1, 3, 2, 2), float(i)) for i in range(20)]
    masks = [torch.full((1, 8, 1, 1), float(i)) for i in range(20)]
    for i in range(3):
        out_image, out_mask = pool.query(images[i], masks[i])
        assert torch.equal(out_image, images[i])  # filling: returns what it stores
    state = pool.state_dict()
    outputs = [pool.query(images[i], masks[i]) for i in range(3, 20)]
    for image, mask in outputs:
        assert image[0, 0, 0, 0] == mask[0, 0, 0, 0]  # an image always comes with its own mask
    assert any(image[0, 0, 0, 0] < i + 3 for i, (image, _) in enumerate(outputs))  # history is used
    replay = HistoryPool(3, seed=99)
    replay.load_state_dict(state, torch.device("cpu"))
    for i, (image, _) in zip(range(3, 20), outputs):
        assert torch.equal(replay.query(images[i], masks[i])[0], image)
