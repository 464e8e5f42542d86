import json

import numpy as np
import pytest
from PIL import Image

from sggan.data.check import POLICY, check_frames, inspect_frame, main, run_check
from sggan.data.io import DataError, Frame, read_frame_list, write_image, write_label_ids
from sggan.data.labels import LABEL_TO_TRAIN, PALETTE
from sggan.data.readers import GTA5Root

H, W = 6, 8


def _noise(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _sky_over_road():
    label = np.full((H, W), 7, np.uint8)  # road
    label[:3] = 23  # sky: 24 pixels of each
    return label


def _defective_gta_tree(root):
    """Eight ids, one clean, one to resize, six with a defect each."""
    images, labels = root / "images", root / "labels"
    write_image(images / "00001.png", _noise((H, W, 3), 1))
    write_label_ids(labels / "00001.png", _sky_over_road(), palette=True)
    write_image(images / "00002.png", _noise((H, W, 3), 2))  # no label
    write_image(images / "00003.png", _noise((8, 10, 3), 3))  # size mismatch
    write_label_ids(labels / "00003.png", np.full((H, W), 11, np.uint8), palette=True)
    write_image(images / "00004.png", np.zeros((H, W, 3), np.uint8))  # blank
    write_label_ids(labels / "00004.png", _sky_over_road(), palette=True)
    write_image(images / "00005.png", _noise((H, W, 3), 5))
    out_of_range = _sky_over_road()
    out_of_range[5, 7] = 200
    write_label_ids(labels / "00005.png", out_of_range, palette=True)
    (images / "00006.png").write_bytes(b"\x89PNG garbage, not an image")  # corrupt image
    write_label_ids(labels / "00006.png", _sky_over_road(), palette=True)
    write_label_ids(labels / "00007.png", _sky_over_road(), palette=True)  # no image
    write_image(images / "00008.png", _noise((H, W, 3), 8))
    (labels / "00008.png").write_bytes(b"garbage")  # corrupt label
    return GTA5Root(root)


def _reasons(report):
    return {entry["id"]: entry["reasons"] for entry in report["excluded"]}


def test_each_defect_is_reported_and_handled_by_the_policy(tmp_path):
    root = _defective_gta_tree(tmp_path)
    report = check_frames(root.frames(), "gta", root.missing(), workers=1, progress=False)
    assert report["policy"] == POLICY
    assert report["candidates"] == 8 and report["pairs"] == 6
    assert _reasons(report) == {
        "00002": ["no_label"],
        "00004": ["blank"],
        "00005": ["label_out_of_range"],
        "00006": ["corrupt"],
        "00007": ["no_image"],
        "00008": ["corrupt"],
    }
    assert report["kept"] == 2 and report["excluded_count"] == 6
    assert report["excluded_fraction"] == pytest.approx(6 / 8)
    assert report["excluded_by_reason"] == {
        "blank": 1,
        "corrupt": 2,
        "label_out_of_range": 1,
        "no_image": 1,
        "no_label": 1,
    }
    assert report["resized"] == [{"id": "00003", "image_size": [8, 10], "label_size": [6, 8]}]
    assert report["label_values_out_of_range"] == {"200": 1}
    # only kept frames count: 00001 (24 sky + 24 road) and 00003 (48 building)
    assert report["label_pixel_counts"] == {"7": 24, "11": 48, "23": 24}
    assert report["label_frame_counts"] == {"7": 1, "11": 1, "23": 1}
    details = {entry["id"]: entry["details"][0] for entry in report["excluded"]}
    assert "values [200] above the largest label id 33" in details["00005"]
    assert str(tmp_path / "images" / "00006.png") in details["00006"]
    assert str(tmp_path / "labels" / "00008.png") in details["00008"]


def test_a_process_pool_gives_the_same_report(tmp_path):
    root = _defective_gta_tree(tmp_path)
    serial = check_frames(root.frames(), "gta", root.missing(), workers=1, progress=False)
    pooled = check_frames(root.frames(), "gta", root.missing(), workers=2, progress=False)
    assert pooled == serial


def test_too_many_exclusions_fail_naming_the_report(tmp_path):
    _defective_gta_tree(tmp_path / "gta")
    report_path, frames_out = tmp_path / "report.json", tmp_path / "frames.tsv"
    with pytest.raises(DataError) as err:
        run_check("gta", tmp_path / "gta", report_path, frames_out, progress=False)
    assert str(report_path) in str(err.value) and "6 of 8 frames excluded" in str(err.value)
    assert json.loads(report_path.read_text())["excluded_count"] == 6
    assert not frames_out.exists()


def test_tolerated_exclusions_write_the_kept_frames(tmp_path):
    _defective_gta_tree(tmp_path / "gta")
    frames_out = tmp_path / "frames.tsv"
    run_check("gta", tmp_path / "gta", tmp_path / "report.json", frames_out, max_excluded_fraction=0.75, progress=False)
    frames = read_frame_list(frames_out)
    assert [f.id for f in frames] == ["00001", "00003"]
    assert frames[1] == Frame("00003", tmp_path / "gta/images/00003.png", tmp_path / "gta/labels/00003.png")


def test_blank_means_every_channel_nearly_constant(tmp_path):
    label = tmp_path / "label.png"
    write_label_ids(label, _sky_over_road())
    grey = np.full((H, W, 3), 128, np.uint8)
    write_image(tmp_path / "grey.png", grey)
    assert [p["reason"] for p in inspect_frame(Frame("g", tmp_path / "grey.png", label))["problems"]] == ["blank"]
    grey[0, 0, 2] = 255  # one bright pixel: blue std = 127 * sqrt(47) / 48 = 18.1
    write_image(tmp_path / "dot.png", grey)
    assert inspect_frame(Frame("d", tmp_path / "dot.png", label))["problems"] == []


def test_clean_fixtures_pass(sample_files, tmp_path):
    gta = run_check("gta", sample_files.root / "gta", tmp_path / "gta.json", tmp_path / "gta.tsv", progress=False)
    assert gta["kept"] == 1 and gta["excluded"] == [] and gta["resized"] == []
    assert gta["label_values_out_of_range"] == {}
    assert sum(gta["label_pixel_counts"].values()) == 1914 * 1052
    cityscapes = run_check(
        "cityscapes",
        sample_files.root / "cityscapes",
        tmp_path / "cs.json",
        tmp_path / "cs.tsv",
        split="train",
        progress=False,
    )
    assert cityscapes["kept"] == 1 and cityscapes["excluded"] == []
    assert [f.id for f in read_frame_list(tmp_path / "cs.tsv")] == [sample_files.cityscapes_id]


def test_cli_exits_with_the_error(tmp_path, capsys):
    _defective_gta_tree(tmp_path / "gta")
    args = [
        "--dataset",
        "gta",
        "--root",
        str(tmp_path / "gta"),
        "--report",
        str(tmp_path / "r.json"),
        "--frames-out",
        str(tmp_path / "f.tsv"),
        "--workers",
        "1",
    ]
    with pytest.raises(DataError, match="r.json"):
        main(args)
    main(args + ["--max-excluded-fraction", "0.8"])
    assert "kept 2 of 8 frames" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--dataset", "cityscapes", "--root", str(tmp_path), "--report", "r", "--frames-out", "f"])


def _gta_pair(root, frame_id, label_writer):
    write_image(root / "images" / f"{frame_id}.png", _noise((H, W, 3), int(frame_id)))
    (root / "labels").mkdir(parents=True, exist_ok=True)
    label_writer(root / "labels" / f"{frame_id}.png")


def test_gta_labels_must_encode_label_ids(tmp_path):
    """A re-quantised palette, a JPEG named .png and a grey label are excluded by reason; a palette
    or RGB label in Cityscapes colours is kept with the right ids."""
    ids = _sky_over_road()
    _gta_pair(tmp_path, "00001", lambda p: write_label_ids(p, ids, palette=True))
    # an editor re-quantised the palette: same picture, indices 0 (road colour) and 1 (sky colour)
    requantised = Image.fromarray((ids == 23).astype(np.uint8), "P")
    requantised.putpalette([*PALETTE[7], *PALETTE[23]])
    _gta_pair(tmp_path, "00002", lambda p: requantised.save(p, format="PNG"))
    _gta_pair(tmp_path, "00003", lambda p: Image.fromarray(ids).save(p, format="JPEG", quality=95))
    _gta_pair(tmp_path, "00004", lambda p: write_label_ids(p, ids))  # grey: cannot be verified
    _gta_pair(tmp_path, "00005", lambda p: Image.fromarray(PALETTE[ids]).save(p, format="PNG"))  # RGB colours
    off_colour = PALETTE[ids].copy()
    off_colour[0, 0] += 1  # one pixel no longer a Cityscapes colour
    _gta_pair(tmp_path, "00006", lambda p: Image.fromarray(off_colour).save(p, format="PNG"))
    root = GTA5Root(tmp_path)
    report = check_frames(root.frames(), "gta", root.missing(), progress=False, dataset="gta")
    assert _reasons(report) == {
        "00002": ["label_encoding"],
        "00003": ["label_encoding"],
        "00004": ["label_encoding"],
        "00006": ["label_encoding"],
    }
    details = {entry["id"]: entry["details"][0] for entry in report["excluded"]}
    assert "index 0 is (128, 64, 128), label id 0's colour is (0, 0, 0)" in details["00002"]
    assert "is a JPEG file, not a PNG" in details["00003"]
    assert "grey PNG" in details["00004"]
    assert "1 pixels in colours that are not Cityscapes label colours" in details["00006"]
    # the two kept labels (palette and RGB) count 24 road and 24 sky pixels each
    assert report["label_pixel_counts"] == {"7": 48, "23": 48}
    with pytest.raises(DataError, match="4 of 6 frames excluded.*label_encoding: 4"):
        run_check("gta", tmp_path, tmp_path / "r.json", tmp_path / "f.tsv", max_excluded_fraction=0.5, progress=False)


def test_the_gta_palette_variant_of_static_is_accepted(tmp_path):
    ids = _sky_over_road()
    ids[0, 0] = 4  # static, which the Playing-for-Data palette colours (20, 20, 20)
    palette = PALETTE.copy()
    palette[4] = (20, 20, 20)

    def write(path):
        image = Image.fromarray(ids, "P")
        image.putpalette(palette.reshape(-1).tolist())
        image.save(path, format="PNG")

    _gta_pair(tmp_path, "00001", write)
    root = GTA5Root(tmp_path)
    assert check_frames(root.frames(), "gta", progress=False, dataset="gta")["excluded"] == []


def _cityscapes_pair(root, frame_id, label_ids, suffix="_gtFine_labelIds.png"):
    city = frame_id.split("_")[0]
    write_image(root / "leftImg8bit" / "train" / city / f"{frame_id}_leftImg8bit.png", _noise((H, W, 3)))
    write_label_ids(root / "gtFine" / "train" / city / f"{frame_id}{suffix}", label_ids)


def test_cityscapes_train_ids_where_label_ids_belong_are_named(tmp_path):
    train_ids = LABEL_TO_TRAIN[_sky_over_road()]  # road 0, sky 10
    train_ids[0, 0] = 255
    for n in range(3):
        _cityscapes_pair(tmp_path, f"aachen_000000_00001{n}", train_ids)
    with pytest.raises(DataError, match="3 of 3 labels hold Cityscapes trainIds .* where labelIds belong"):
        run_check("cityscapes", tmp_path, tmp_path / "r.json", tmp_path / "f.tsv", split="train", progress=False)
    assert json.loads((tmp_path / "r.json").read_text())["excluded_by_reason"] == {
        "label_out_of_range": 3,
        "train_ids": 3,
    }
    # the converted files under their own name, and no labelIds
    other = tmp_path / "other"
    _cityscapes_pair(other, "aachen_000000_000019", train_ids, suffix="_gtFine_labelTrainIds.png")
    with pytest.raises(DataError, match=r"holds trainIds \(\*_gtFine_labelTrainIds.png\) but no labelIds"):
        run_check("cityscapes", other, tmp_path / "r.json", tmp_path / "f.tsv", split="train", progress=False)


def test_empty_folders_are_an_error_not_kept_0_of_0(tmp_path):
    (tmp_path / "gta" / "images").mkdir(parents=True)
    (tmp_path / "gta" / "labels").mkdir()
    with pytest.raises(DataError, match="no frame has both an image and a label"):
        run_check("gta", tmp_path / "gta", tmp_path / "r.json", tmp_path / "f.tsv", progress=False)
    (tmp_path / "cs" / "leftImg8bit" / "val").mkdir(parents=True)
    (tmp_path / "cs" / "gtFine" / "val").mkdir(parents=True)
    with pytest.raises(DataError, match=r"cityscapes val .*no frame has both"):
        run_check("cityscapes", tmp_path / "cs", tmp_path / "r.json", tmp_path / "f.tsv", split="val", progress=False)
    assert not (tmp_path / "f.tsv").exists()
