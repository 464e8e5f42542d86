import numpy as np
import pytest
import torch

from segmentation.data import MEAN, TrainCrops, crop_sample, pad_collate, read_aligned, stride_labels, to_network
from segmentation.frontend import MARGIN
from sggan.data.io import Frame, write_image, write_label_ids
from sggan.data.labels import IGNORE, LABEL_TO_TRAIN, to_train_ids

# label ids of road, car, sky, an ignored id (ego vehicle = 1) and an out-of-range value
IDS = np.array([7, 26, 23, 1, 250], dtype=np.uint8)


def write_frame(folder, name, label_hw, image_hw, seed):
    rng = np.random.default_rng(seed)
    label = IDS[rng.integers(0, len(IDS), label_hw)]
    image = rng.integers(0, 256, (*image_hw, 3), dtype=np.uint8)
    write_image(folder / f"{name}.png", image)
    write_label_ids(folder / f"{name}_label.png", label, palette=True)
    return Frame(name, folder / f"{name}.png", folder / f"{name}_label.png")


@pytest.fixture
def frames(tmp_path):
    return [
        write_frame(tmp_path, "big", (40, 64), (40, 64), 0),
        write_frame(tmp_path, "resized", (24, 40), (20, 36), 1),  # image smaller than its label
        write_frame(tmp_path, "small", (12, 20), (12, 20), 2),
    ]  # smaller than the crop


def test_crops_have_the_margin_and_train_ids(frames):
    crops = TrainCrops(frames, crop=16, seed=0)
    for sample in range(9):  # three epochs over three frames
        image, label = crops[sample]
        assert image.shape == (16 + 2 * MARGIN, 16 + 2 * MARGIN, 3) and image.dtype == torch.uint8
        assert label.shape == (16, 16) and label.dtype == torch.uint8
        assert set(label.unique().tolist()) <= {0, 13, 10, IGNORE}  # road, car, sky train ids
    # every frame once per epoch, and a sample is the same whenever it is drawn
    assert sorted(crops.frame_index(k) for k in range(3)) == [0, 1, 2]
    image, label = crops[4]
    fresh = TrainCrops(frames, crop=16, seed=0)
    assert torch.equal(fresh[4][0], image) and torch.equal(fresh[4][1], label)


def test_image_is_resized_to_the_label_geometry(frames):
    image, train_ids = read_aligned(frames[1])
    assert image.shape == (24, 40, 3) and train_ids.shape == (24, 40)
    assert (train_ids == IGNORE).any()  # ego vehicle and the out-of-range id are ignored
    assert LABEL_TO_TRAIN[250] == IGNORE


def test_small_frames_are_padded_with_ignore():
    label_ids = np.full((12, 20), 7, np.uint8)
    image = np.zeros((12, 20, 3), np.uint8)
    _, label = crop_sample(image, to_train_ids(label_ids), 16, np.random.default_rng(0))
    assert (label[:12] != IGNORE).sum() == 12 * 16  # flipped or not, 12 rows of road
    assert (label[12:] == IGNORE).all()


@pytest.mark.parametrize("seed", range(4))
def test_image_window_is_aligned_with_the_labels(seed):
    # the image encodes its pixel's row, column and label id, so any misalignment shows
    height, width, crop = 200, 230, 24
    rng = np.random.default_rng(seed)
    label_ids = IDS[rng.integers(0, 3, (height, width))]
    rows, cols = np.mgrid[:height, :width]
    image = np.stack([rows, cols, label_ids], axis=2).astype(np.uint8)
    image_crop, label_crop = crop_sample(image, to_train_ids(label_ids), crop, np.random.default_rng(seed))
    inner = image_crop[MARGIN : MARGIN + crop, MARGIN : MARGIN + crop]
    assert (to_train_ids(inner[:, :, 2]) == label_crop).all()
    # the margin is the reflect-padded frame (one reflection suffices for a 200+ pixel frame)
    top, left = int(inner[:, :, 0].min()), int(inner[:, :, 1].min())
    side = crop + 2 * MARGIN
    expect_rows = np.pad(np.arange(height), MARGIN, mode="reflect")[top : top + side]
    expect_cols = np.pad(np.arange(width), MARGIN, mode="reflect")[left : left + side]
    if inner[0, 0, 1] != left:  # flipped
        expect_cols = expect_cols[::-1]
    assert (image_crop[:, :, 0] == expect_rows[:, None]).all()
    assert (image_crop[:, :, 1] == expect_cols[None, :]).all()


def test_normalisation():
    x = to_network(torch.full((1, 2, 3, 3), 255, dtype=torch.uint8), torch.device("cpu"))
    assert x.shape == (1, 3, 2, 3)
    assert torch.allclose(x[0, :, 0, 0], torch.tensor([(1 - m) / s for m, s in zip(MEAN, (0.229, 0.224, 0.225))]))


def test_class_balanced_samples_show_the_drawn_class(frames):
    # frame "big" alone has class 13 (car) in its counts: every car draw must pick it
    balance = np.zeros((3, 19), dtype=np.int64)
    balance[:, 0] = 100  # road everywhere
    balance[0, 13] = 5
    crops = TrainCrops(frames, crop=16, seed=0, balance=balance)
    draws = [crops.draw(k) for k in range(40)]
    assert {focus for _, focus in draws} == {0, 13}  # classes drawn uniformly among those present
    for k, (frame, focus) in enumerate(draws):
        if focus == 13:
            assert frame == 0
            assert (crops[k][1] == 13).any()  # the crop window holds a pixel of the class
    again = TrainCrops(frames, crop=16, seed=0, balance=balance)
    assert [again.draw(k) for k in range(40)] == draws
    with pytest.raises(ValueError, match="class counts for 2 frames"):
        TrainCrops(frames, crop=16, seed=0, balance=balance[:2])


def test_focus_window_contains_a_pixel_of_the_class():
    train_ids = np.zeros((100, 120), np.uint8)
    train_ids[90, 3] = 7  # one pixel of class 7, in a corner
    image = np.zeros((100, 120, 3), np.uint8)
    for seed in range(10):
        _, label = crop_sample(image, train_ids, 24, np.random.default_rng(seed), focus=7)
        assert (label == 7).sum() == 1


def test_stride_labels_pick_each_block_centre():
    train_ids = np.arange(20 * 30, dtype=np.int64).reshape(20, 30) % 19
    labels = stride_labels(train_ids.astype(np.uint8), 3, 4)  # the frame padded to 24 x 32
    assert labels.shape == (3, 4)
    assert labels[1, 2] == train_ids[12, 20]
    assert labels[2, 3] == train_ids[19, 28]  # rows 16..23 / columns 24..31: clipped to the frame


def test_pad_collate_marks_the_padding():
    small = (torch.ones(19, 2, 3, dtype=torch.float16), torch.zeros(2, 3, dtype=torch.uint8))
    large = (torch.ones(19, 4, 5, dtype=torch.float16), torch.zeros(4, 5, dtype=torch.uint8))
    scores, labels, valid = pad_collate([small, large])
    assert scores.shape == (2, 19, 4, 5) and labels.shape == (2, 4, 5) and valid.shape == (2, 1, 4, 5)
    assert valid[0].sum() == 6 and valid[1].sum() == 20
    assert (labels[0][valid[0, 0] == 0] == IGNORE).all() and (scores[0][:, 2:, :] == 0).all()
