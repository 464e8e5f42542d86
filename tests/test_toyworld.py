import numpy as np
import pytest
from PIL import Image

from sggan.data.io import read_image, read_label
from sggan.data.labels import LABEL_ID, MAX_LABEL_ID
from sggan.data.toyworld import (
    CITYSCAPES_SIZE,
    GTA_SIZE,
    REAL,
    VIRTUAL,
    Canvas,
    cityscapes_frame,
    cityscapes_name,
    generate_toy_world,
    gta_frame,
    main,
    render,
    scaled_size,
)


def test_scaled_sizes_keep_the_real_aspect_ratios():
    assert scaled_size(GTA_SIZE, 8) == (132, 239)  # 1052/8 = 131.5 -> 132, 1914/8 = 239.25 -> 239
    assert scaled_size(CITYSCAPES_SIZE, 8) == (128, 256)
    assert scaled_size(GTA_SIZE, 16) == (66, 120)  # 65.75, 119.625
    assert scaled_size(GTA_SIZE, 4) == (263, 478)  # 263, 478.5 rounds to even
    with pytest.raises(ValueError):
        scaled_size(GTA_SIZE, 0)


def test_cityscapes_names_alternate_cities_one_sequence_each():
    assert cityscapes_name("train", 0) == ("toyburg", "toyburg_000000_000019")
    assert cityscapes_name("train", 1) == ("mockstadt", "mockstadt_000000_000019")
    assert cityscapes_name("train", 2) == ("toyburg", "toyburg_000001_000019")
    assert cityscapes_name("val", 3) == ("fakefurt", "fakefurt_000003_000019")


def test_generate_writes_the_real_layouts(tmp_path):
    generate_toy_world(tmp_path, seed=3, scale=16, gta_frames=2, cityscapes_train=3, cityscapes_val=1)
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == [
        "README.txt",
        "cityscapes/gtFine/train/mockstadt/mockstadt_000000_000019_gtFine_labelIds.png",
        "cityscapes/gtFine/train/toyburg/toyburg_000000_000019_gtFine_labelIds.png",
        "cityscapes/gtFine/train/toyburg/toyburg_000001_000019_gtFine_labelIds.png",
        "cityscapes/gtFine/val/fakefurt/fakefurt_000000_000019_gtFine_labelIds.png",
        "cityscapes/leftImg8bit/train/mockstadt/mockstadt_000000_000019_leftImg8bit.png",
        "cityscapes/leftImg8bit/train/toyburg/toyburg_000000_000019_leftImg8bit.png",
        "cityscapes/leftImg8bit/train/toyburg/toyburg_000001_000019_leftImg8bit.png",
        "cityscapes/leftImg8bit/val/fakefurt/fakefurt_000000_000019_leftImg8bit.png",
        "gta/images/00001.png",
        "gta/images/00002.png",
        "gta/labels/00001.png",
        "gta/labels/00002.png",
        "ideal/images/00001.png",
        "ideal/images/00002.png",
    ]
    with Image.open(tmp_path / "gta/labels/00001.png") as gta_label:
        assert gta_label.mode == "P" and gta_label.size == (120, 66)
    with Image.open(tmp_path / "cityscapes/gtFine/val/fakefurt/fakefurt_000000_000019_gtFine_labelIds.png") as cs_label:
        assert cs_label.mode == "L" and cs_label.size == (128, 64)
    assert read_image(tmp_path / "gta/images/00002.png").shape == (66, 120, 3)
    assert read_image(tmp_path / "ideal/images/00002.png").shape == (66, 120, 3)
    cs_image = tmp_path / "cityscapes/leftImg8bit/train/toyburg/toyburg_000001_000019_leftImg8bit.png"
    assert read_image(cs_image).shape == (64, 128, 3)
    assert "scale 1/16" in (tmp_path / "README.txt").read_text()


def test_frames_are_deterministic_per_seed_and_index(tmp_path):
    generate_toy_world(tmp_path / "a", seed=5, scale=16, gta_frames=2, cityscapes_train=1, cityscapes_val=0)
    generate_toy_world(tmp_path / "b", seed=5, scale=16, gta_frames=1, cityscapes_train=1, cityscapes_val=0)
    for rel in (
        "gta/images/00001.png",
        "gta/labels/00001.png",
        "ideal/images/00001.png",
        "cityscapes/leftImg8bit/train/toyburg/toyburg_000000_000019_leftImg8bit.png",
    ):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    assert not np.array_equal(gta_frame(5, 1, 16)[1], gta_frame(6, 1, 16)[1])
    assert not np.array_equal(gta_frame(5, 1, 16)[1], gta_frame(5, 2, 16)[1])


def test_layouts_use_cityscapes_label_ids_and_real_frames_carry_the_hood():
    ego = LABEL_ID["ego vehicle"]
    for index in range(4):
        _, gta_labels, _ = gta_frame(0, index, 8)
        _, cs_labels = cityscapes_frame(0, "train", index, 8)
        for labels in (gta_labels, cs_labels):
            assert labels.max() <= MAX_LABEL_ID
            present = set(np.unique(labels).tolist())
            assert {LABEL_ID[name] for name in ("sky", "road", "sidewalk", "building")} <= present
        assert ego not in gta_labels
        assert cs_labels[-1, cs_labels.shape[1] // 2] == ego
        assert cs_labels[0, cs_labels.shape[1] // 2] != ego


def test_the_scenes_contain_the_street_furniture():
    seen = set()
    for index in range(10):
        seen |= set(np.unique(gta_frame(1, index, 8)[1]).tolist())
    expected = {
        "road",
        "sidewalk",
        "building",
        "wall",
        "fence",
        "pole",
        "traffic light",
        "traffic sign",
        "vegetation",
        "terrain",
        "sky",
        "person",
        "rider",
        "car",
        "bicycle",
    }
    assert {LABEL_ID[name] for name in expected} <= seen


def _class_mean(images, labels, name):
    pixels = np.concatenate([img[lab == LABEL_ID[name]] for img, lab in zip(images, labels)]).astype(float)
    return pixels.mean(axis=0)


def test_real_style_shifts_classes_in_different_directions():
    frames = [gta_frame(2, index, 8) for index in range(6)]
    virtual = [f[0] for f in frames]
    ideal = [f[2] for f in frames]
    labels = [f[1] for f in frames]
    road_v, road_r = _class_mean(virtual, labels, "road"), _class_mean(ideal, labels, "road")
    sky_v, sky_r = _class_mean(virtual, labels, "sky"), _class_mean(ideal, labels, "sky")
    pole_v, pole_r = _class_mean(virtual, labels, "pole"), _class_mean(ideal, labels, "pole")
    assert road_r.mean() < road_v.mean() - 40  # road much darker
    assert sky_r.mean() > sky_v.mean()  # while the sky gets lighter
    assert sky_r[2] - sky_r[0] > 20 > sky_v[2] - sky_v[0]  # and blue instead of warm
    assert pole_v.mean() < road_v.mean() and pole_r.mean() > road_r.mean()  # brightness order swaps


def test_virtual_is_flat_and_real_is_textured():
    canvas = Canvas.empty(40, 60)
    canvas.rect(canvas.part("road"), 0, 0, 60, 40)
    flat = render(canvas, VIRTUAL, np.random.default_rng(0))
    textured = render(canvas, REAL, np.random.default_rng(0))
    assert flat.reshape(-1, 3).std(axis=0).max() == 0
    assert textured.reshape(-1, 3).std(axis=0).min() > 3


def test_objects_of_one_class_vary_in_colour():
    canvas = Canvas.empty(10, 20)
    canvas.rect(canvas.part("car"), 0, 0, 10, 10)
    canvas.rect(canvas.part("car"), 10, 0, 20, 10)
    image = render(canvas, VIRTUAL, np.random.default_rng(1))
    assert not np.array_equal(image[5, 2], image[5, 15])
    assert (canvas.labels == LABEL_ID["car"]).all()
    assert set(np.unique(canvas.instances)) == {0, 1}


def test_cli_writes_the_world(tmp_path):
    main(
        [
            "--out",
            str(tmp_path),
            "--seed",
            "1",
            "--scale",
            "16",
            "--gta-frames",
            "1",
            "--cityscapes-train",
            "1",
            "--cityscapes-val",
            "1",
        ]
    )
    assert read_label(tmp_path / "gta/labels/00001.png").shape == (66, 120)
    assert (tmp_path / "cityscapes/leftImg8bit/val/fakefurt/fakefurt_000000_000019_leftImg8bit.png").is_file()
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--scale", "0"])
