import os
import stat

import numpy as np
import pytest
from PIL import Image

from sggan.data.io import DataError, atomic_write_text, image_size, read_image, read_label, write_image
from sggan.data.readers import CityscapesRoot, GTA5Root


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")  # the readers pair names; they never decode


def test_gta_fixture_frame(sample_files):
    root = GTA5Root(sample_files.root / "gta")
    frames = root.frames()
    assert [f.id for f in frames] == [sample_files.gta_id]
    assert frames[0].image == sample_files.gta_image
    assert frames[0].label == sample_files.gta_label
    assert image_size(frames[0].image) == (1052, 1914)
    with Image.open(frames[0].label) as img:
        assert img.mode == "P"
    labels = read_label(frames[0].label)
    assert labels.shape == (1052, 1914)
    assert labels.max() <= 33 and len(np.unique(labels)) > 5
    assert root.missing() == {"no_label": [], "no_image": []}


def test_cityscapes_fixture_frame(sample_files):
    root = CityscapesRoot(sample_files.root / "cityscapes")
    frames = root.frames("train")
    assert [f.id for f in frames] == [sample_files.cityscapes_id]
    assert frames[0].image == sample_files.cityscapes_image
    assert frames[0].label == sample_files.cityscapes_label
    assert sample_files.cityscapes_image.name.endswith("_000019_leftImg8bit.png")
    assert sample_files.cityscapes_label.name.endswith("_000019_gtFine_labelIds.png")
    assert image_size(frames[0].image) == (1024, 2048)
    labels = read_label(frames[0].label)
    assert labels.shape == (1024, 2048)
    assert labels.max() <= 33 and 7 in labels  # label ids (road = 7), not train ids or colours
    assert root.missing("train") == {"no_label": [], "no_image": []}


def test_missing_gta_root_names_the_path_and_the_download(tmp_path):
    with pytest.raises(DataError) as err:
        GTA5Root(tmp_path / "gta5")
    message = str(err.value)
    assert str(tmp_path / "gta5") in message
    assert "images/NNNNN.png" in message and "1914x1052" in message
    assert "https://download.visinf.tu-darmstadt.de/data/from_games/" in message


def test_gta_root_without_labels_names_the_labels_folder(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(DataError, match="labels is not a folder"):
        GTA5Root(tmp_path)


def test_missing_cityscapes_root_names_the_path_and_csdownload(tmp_path):
    (tmp_path / "leftImg8bit").mkdir()
    with pytest.raises(DataError) as err:
        CityscapesRoot(tmp_path)
    message = str(err.value)
    assert str(tmp_path / "gtFine") in message
    assert "csDownload leftImg8bit_trainvaltest.zip gtFine_trainvaltest.zip" in message


def test_gta_ids_pair_images_with_labels(tmp_path):
    for name in ("00001", "00002", "00003"):
        _touch(tmp_path / "images" / f"{name}.png")
    for name in ("00002", "00003", "00004"):
        _touch(tmp_path / "labels" / f"{name}.png")
    _touch(tmp_path / "labels" / ".00001.png.abc.tmp.png")  # a half-written atomic write
    _touch(tmp_path / "images" / "notes.txt")
    root = GTA5Root(tmp_path)
    assert [(f.id, f.image.name, f.label.name) for f in root.frames()] == [
        ("00002", "00002.png", "00002.png"),
        ("00003", "00003.png", "00003.png"),
    ]
    assert root.missing() == {"no_label": ["00001"], "no_image": ["00004"]}


def test_cityscapes_ids_pair_images_with_labels(tmp_path):
    for stem in ("bonn_000000_000019", "bonn_000001_000019", "koeln_000000_000019"):
        city = stem.split("_")[0]
        _touch(tmp_path / "leftImg8bit" / "val" / city / f"{stem}_leftImg8bit.png")
    for stem in ("bonn_000000_000019", "koeln_000000_000019", "koeln_000002_000019"):
        city = stem.split("_")[0]
        _touch(tmp_path / "gtFine" / "val" / city / f"{stem}_gtFine_labelIds.png")
        _touch(tmp_path / "gtFine" / "val" / city / f"{stem}_gtFine_color.png")
    root = CityscapesRoot(tmp_path)
    frames = root.frames("val")
    assert [f.id for f in frames] == ["bonn_000000_000019", "koeln_000000_000019"]
    assert frames[1].label == tmp_path / "gtFine/val/koeln/koeln_000000_000019_gtFine_labelIds.png"
    assert root.missing("val") == {"no_label": ["bonn_000001_000019"], "no_image": ["koeln_000002_000019"]}


def test_unknown_cityscapes_split_is_a_clear_error(tmp_path):
    (tmp_path / "leftImg8bit" / "train").mkdir(parents=True)
    (tmp_path / "gtFine" / "train").mkdir(parents=True)
    root = CityscapesRoot(tmp_path)
    assert root.frames("train") == []
    with pytest.raises(DataError, match=r"no split folder .*leftImg8bit/val \(splits present .*: train\)"):
        root.frames("val")
    (tmp_path / "leftImg8bit" / "val").mkdir()
    with pytest.raises(DataError, match=r"gtFine/val"):
        root.missing("val")


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_atomic_outputs_get_the_umask_s_usual_mode(tmp_path, umask):
    previous = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "out.txt", "x")
        write_image(tmp_path / "out.png", np.zeros((2, 2, 3), np.uint8))
        (tmp_path / "by_open.txt").write_text("x")  # what open() gives, independently
    finally:
        os.umask(previous)
    expected = 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "by_open.txt").stat().st_mode) == expected
    assert stat.S_IMODE((tmp_path / "out.txt").stat().st_mode) == expected
    assert stat.S_IMODE((tmp_path / "out.png").stat().st_mode) == expected


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_image_size_is_that_of_the_decoded_image_under_any_exif_orientation(tmp_path, orientation):
    # a camera JPEG stored sideways: OpenCV turns it upright, so its size must count turned too, or
    # adaptation would resize a folder image's output back to the wrong shape
    path = tmp_path / "photo.jpg"
    image = Image.fromarray(np.zeros((20, 40, 3), np.uint8))
    exif = image.getexif()
    exif[0x0112] = orientation
    image.save(path, exif=exif.tobytes())
    assert image_size(path) == read_image(path).shape[:2] == ((40, 20) if orientation in (6, 8) else (20, 40))
