import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import cityscapes_reference
from PIL import Image

from eval.evaluate import (
    _format,
    _listing,
    encoding_problem,
    evaluate,
    evaluate_frames,
    frame_confusions_path,
    main,
    match_predictions,
    read_frame_confusions,
    read_label_ids,
)
from sggan.data.io import DataError, read_label, write_label_ids
from sggan.data.labels import LABEL_ID, LABEL_TO_TRAIN, NUM_CLASSES, TRAIN_CLASSES

FRAMES = ["aachen_000000_000019", "aachen_000001_000019", "bochum_000000_000313"]
# "train" never occurs anywhere; "motorcycle" is only predicted on ignored ground truth:
# both must come out NaN, here and in cityscapesscripts
ABSENT, ONLY_ON_IGNORED = LABEL_ID["train"], LABEL_ID["motorcycle"]


def _gt_path(root: Path, key: str) -> Path:
    return root / "gtFine" / "val" / key.split("_")[0] / f"{key}_gtFine_labelIds.png"


def make_tree(root: Path, size=(24, 40), seed=0) -> tuple[Path, Path]:
    """A tiny gtFine/val tree and a prediction folder (one file nested), random label ids 0..33."""
    rng = np.random.default_rng(seed)
    ids = np.array([i for i in range(34) if i not in (ABSENT, ONLY_ON_IGNORED)], dtype=np.uint8)
    pred_dir = root / "pred"
    for n, key in enumerate(FRAMES):
        gt = rng.choice(ids, size=size)
        pred = np.where(rng.random(size) < 0.5, gt, rng.choice(ids, size=size)).astype(np.uint8)
        pred[gt == LABEL_ID["unlabeled"]] = ONLY_ON_IGNORED
        write_label_ids(_gt_path(root, key), gt)
        sub = pred_dir / "nested" if n == 2 else pred_dir
        write_label_ids(sub / f"{key}_leftImg8bit.png", pred, palette=n == 1)  # palette PNGs work too
    return pred_dir, root / "gtFine" / "val"


def test_agrees_with_cityscapesscripts(tmp_path):
    pred_dir, gt_dir = make_tree(tmp_path)
    ours = evaluate(pred_dir, gt_dir, workers=1, progress=False)
    theirs = cityscapes_reference(pred_dir, gt_dir)
    for name in TRAIN_CLASSES:
        expected = theirs["classScores"][name]
        if math.isnan(expected):
            assert ours["per_class_iou"][name] is None, name
        else:
            assert ours["per_class_iou"][name] / 100 == pytest.approx(expected, abs=1e-6), name
    assert ours["per_class_iou"]["train"] is None and ours["per_class_iou"]["motorcycle"] is None
    assert ours["class_iou"] / 100 == pytest.approx(theirs["averageScoreClasses"], abs=1e-6)
    # the confusion matrix is theirs, restricted to evaluated labels, in train-id order
    label_ids = [LABEL_ID[name] for name in TRAIN_CLASSES]
    their_conf = np.array(theirs["confMatrix"])[np.ix_(label_ids, label_ids)]
    assert np.array_equal(np.array(ours["confusion_matrix"]), their_conf)
    assert ours["num_images"] == 3
    assert ours["num_pixels"] == sum(np.array(theirs["confMatrix"])[label_ids].sum(axis=1))


def test_pixel_and_class_accuracy_from_the_matrix(tmp_path):
    pred_dir, gt_dir = make_tree(tmp_path)
    ours = evaluate(pred_dir, gt_dir, workers=1, progress=False)
    conf = np.array(ours["confusion_matrix"])
    gt_pixels = conf.sum(axis=1) + np.array(ours["void_predictions"])
    assert gt_pixels.sum() == ours["num_pixels"]
    assert ours["pixel_acc"] == pytest.approx(100 * np.trace(conf) / ours["num_pixels"])
    present = gt_pixels > 0
    assert ours["class_acc"] == pytest.approx(100 * np.mean(np.diag(conf)[present] / gt_pixels[present]))


def test_hand_made_frame(tmp_path):
    road, car, sky, unlabeled = (LABEL_ID[n] for n in ("road", "car", "sky", "unlabeled"))
    gt = np.array([[road, road, car], [sky, unlabeled, car]], dtype=np.uint8)
    pred = np.array([[road, car, car], [unlabeled, road, car]], dtype=np.uint8)
    write_label_ids(tmp_path / "gt" / "ulm" / "ulm_000000_000001_gtFine_labelIds.png", gt)
    write_label_ids(tmp_path / "pred" / "ulm_000000_000001.png", pred)
    s = evaluate(tmp_path / "pred", tmp_path / "gt", workers=1, progress=False)
    assert s["pixel_acc"] == pytest.approx(60.0)  # 3 of 5 evaluated pixels
    # road 1/(2+1-1); car 2/(2+3-2); sky 0/1 (predicted void): IoU mean over 3 present classes
    assert s["per_class_iou"]["road"] == pytest.approx(50.0)
    assert s["per_class_iou"]["car"] == pytest.approx(200 / 3)
    assert s["per_class_iou"]["sky"] == 0.0
    assert s["class_iou"] == pytest.approx((50 + 200 / 3 + 0) / 3)
    assert s["class_acc"] == pytest.approx((50 + 100 + 0) / 3)
    assert s["void_predictions"][TRAIN_CLASSES.index("sky")] == 1
    assert sum(v is None for v in s["per_class_iou"].values()) == NUM_CLASSES - 3


def test_cli_writes_json_with_a_worker_pool(tmp_path):
    pred_dir, gt_dir = make_tree(tmp_path)
    out = tmp_path / "scores" / "s.json"
    assert (
        main(
            [
                "--predictions",
                str(pred_dir),
                "--ground-truth",
                str(gt_dir),
                "--out",
                str(out),
                "--workers",
                "2",
                "--no-progress",
            ]
        )
        == 0
    )
    written = json.loads(out.read_text())
    assert written == json.loads(json.dumps(evaluate(pred_dir, gt_dir, workers=1, progress=False)))
    assert len(written["confusion_matrix"]) == NUM_CLASSES
    assert all(len(row) == NUM_CLASSES for row in written["confusion_matrix"])
    assert written["predictions"] == str(pred_dir) and written["ground_truth"] == str(gt_dir)
    assert not list(out.parent.glob(".*tmp*"))  # atomic write left nothing behind


def test_cli_writes_each_frames_matrix_beside_the_scores(tmp_path):
    pred_dir, gt_dir = make_tree(tmp_path)
    out = tmp_path / "scores" / "s.json"
    assert (
        main(
            [
                "--predictions",
                str(pred_dir),
                "--ground-truth",
                str(gt_dir),
                "--out",
                str(out),
                "--workers",
                "2",
                "--no-progress",
            ]
        )
        == 0
    )
    assert frame_confusions_path(out) == tmp_path / "scores" / "s.frames.npz"
    frames, per_frame = read_frame_confusions(frame_confusions_path(out))
    assert frames == sorted(FRAMES) and per_frame.shape == (3, NUM_CLASSES, NUM_CLASSES + 1)
    written = json.loads(out.read_text())
    # in frame order, each matrix is that frame's alone; together they are the score file's matrix
    for key, conf in zip(frames, per_frame):
        single = tmp_path / "single" / key
        single.mkdir(parents=True)
        (single / f"{key}.png").symlink_to(next(pred_dir.rglob(f"{key}*.png")))
        gt_single = tmp_path / "gt_single" / key
        gt_single.mkdir(parents=True)
        (gt_single / f"{key}_gtFine_labelIds.png").symlink_to(_gt_path(tmp_path, key))
        alone = evaluate(single, gt_single, workers=1, progress=False)
        assert np.array_equal(conf[:, :NUM_CLASSES], alone["confusion_matrix"])
    assert np.array_equal(per_frame.sum(axis=0)[:, :NUM_CLASSES], written["confusion_matrix"])
    assert np.array_equal(per_frame.sum(axis=0)[:, NUM_CLASSES], written["void_predictions"])
    assert not list(out.parent.glob(".*tmp*"))
    np.savez(tmp_path / "bad.npz", frames=np.array(frames), confusion=per_frame[:, :, :NUM_CLASSES])
    with pytest.raises(DataError, match="expected \\(3, 19, 20\\) int64"):
        read_frame_confusions(tmp_path / "bad.npz")
    with pytest.raises(DataError, match="written by python -m eval.evaluate"):
        read_frame_confusions(tmp_path / "none.npz")


def test_cli_names_the_missing_prediction(tmp_path):
    pred_dir, gt_dir = make_tree(tmp_path)
    (pred_dir / "aachen_000001_000019_leftImg8bit.png").unlink()
    out = tmp_path / "s.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "eval.evaluate",
            "--predictions",
            str(pred_dir),
            "--ground-truth",
            str(gt_dir),
            "--out",
            str(out),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "1 of 3 ground-truth frames have no prediction" in done.stderr
    assert "aachen_000001_000019" in done.stderr
    assert not out.exists()


def test_duplicate_predictions_are_named(tmp_path):
    pred_dir, gt_dir = make_tree(tmp_path)
    extra = pred_dir / "aachen_000000_000019_color.png"
    extra.write_bytes((pred_dir / "aachen_000000_000019_leftImg8bit.png").read_bytes())
    with pytest.raises(DataError, match="several predictions") as err:
        evaluate(pred_dir, gt_dir, workers=1, progress=False)
    assert str(extra) in str(err.value)


def test_size_mismatch_names_both_files(tmp_path):
    pred_dir, gt_dir = make_tree(tmp_path)
    pred = pred_dir / "aachen_000000_000019_leftImg8bit.png"
    write_label_ids(pred, np.zeros((12, 20), dtype=np.uint8))
    with pytest.raises(DataError, match="ground truth's size") as err:
        evaluate(pred_dir, gt_dir, workers=1, progress=False)
    assert str(pred) in str(err.value)
    assert str(_gt_path(tmp_path, "aachen_000000_000019")) in str(err.value)


def test_train_ids_with_255_and_colour_predictions_are_rejected(tmp_path):
    pred_dir, gt_dir = make_tree(tmp_path)
    pred = pred_dir / "aachen_000000_000019_leftImg8bit.png"
    write_label_ids(pred, np.full((24, 40), 255, dtype=np.uint8))
    with pytest.raises(DataError, match=r"ids \[255\]"):
        evaluate(pred_dir, gt_dir, workers=1, progress=False)
    Image.new("RGB", (40, 24), (1, 2, 3)).save(pred)  # colour labels decode by exact Cityscapes colour only
    with pytest.raises(DataError, match="not Cityscapes label colours"):
        evaluate(pred_dir, gt_dir, workers=1, progress=False)


def _as_train_ids(pred_dir: Path) -> None:
    """Rewrite every prediction in train ids (ignored classes as 255), as most segmentation code writes."""
    for path in pred_dir.rglob("*.png"):
        write_label_ids(path, LABEL_TO_TRAIN[read_label(path)])


def test_train_id_predictions_are_scored_with_the_flag_and_refused_without(tmp_path):
    pred_dir, gt_dir = make_tree(tmp_path)
    as_label_ids = evaluate(pred_dir, gt_dir, workers=1, progress=False)
    _as_train_ids(pred_dir)
    with pytest.raises(DataError, match="looks like train ids, not label ids.*pass --encoding trainid"):
        evaluate(pred_dir, gt_dir, workers=1, progress=False)
    as_train_ids = evaluate(pred_dir, gt_dir, workers=1, progress=False, encoding="trainid")
    # the same predictions, so the same scores (ignored classes were misses either way)
    for key in ("pixel_acc", "class_acc", "class_iou", "confusion_matrix", "void_predictions"):
        assert as_train_ids[key] == as_label_ids[key], key
    assert as_train_ids["encoding"] == "trainid" and as_label_ids["encoding"] == "labelid"


def test_label_id_predictions_are_refused_under_the_train_id_flag(tmp_path):
    pred_dir, gt_dir = make_tree(tmp_path)
    with pytest.raises(DataError, match=r"not train ids .* leave out --encoding trainid"):
        evaluate(pred_dir, gt_dir, workers=1, progress=False, encoding="trainid")


def test_label_id_predictions_of_few_classes_are_not_taken_for_train_ids(tmp_path):
    pred_dir, gt_dir = make_tree(tmp_path)
    for path in pred_dir.rglob("*.png"):  # only road, sidewalk and building: values 7, 8, 11 <= 18
        write_label_ids(path, np.resize(np.array([7, 8, 11], np.uint8), (24, 40)))
    assert evaluate(pred_dir, gt_dir, workers=1, progress=False)["num_images"] == 3


def test_empty_ground_truth_folder_is_an_error(tmp_path):
    (tmp_path / "gt").mkdir()
    with pytest.raises(DataError, match="no \\*_gtFine_labelIds.png"):
        evaluate(tmp_path, tmp_path / "gt", workers=1, progress=False)


def test_ground_truth_of_several_splits_is_an_error(tmp_path):
    pred_dir, _ = make_tree(tmp_path)
    copy = tmp_path / "gtFine" / "train" / "aachen" / "aachen_000000_000019_gtFine_labelIds.png"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(_gt_path(tmp_path, "aachen_000000_000019").read_bytes())
    with pytest.raises(DataError, match="two ground-truth files"):
        evaluate(pred_dir, tmp_path / "gtFine", workers=1, progress=False)


# ------------------------------------------------------- the refusals and what they say, by hand
def test_listing_names_ten_then_counts_the_rest():
    assert _listing([f"f{i}" for i in range(10)]) == ", ".join(f"f{i}" for i in range(10))
    assert _listing([f"f{i}" for i in range(13)]) == ", ".join(f"f{i}" for i in range(10)) + " ... and 3 more"


def test_missing_and_unused_predictions_are_counted(tmp_path):
    pred_dir, _ = make_tree(tmp_path)
    (pred_dir / "munich_000000_000001_leftImg8bit.png").write_bytes(b"")  # frames of another split
    (pred_dir / "nested" / "ulm_000000_000001_x.png").write_bytes(b"")
    matches, unused = match_predictions(pred_dir, FRAMES)
    assert sorted(matches) == FRAMES and unused == 2
    assert match_predictions(pred_dir, FRAMES[:1]) == ({FRAMES[0]: pred_dir / f"{FRAMES[0]}_leftImg8bit.png"}, 4)
    (pred_dir / f"{FRAMES[1]}_leftImg8bit.png").unlink()
    with pytest.raises(
        DataError,
        match=rf"^1 of 3 ground-truth frames have no prediction {{frame}}\*.png under {pred_dir}: {FRAMES[1]}$",
    ):
        match_predictions(pred_dir, FRAMES)
    with pytest.raises(DataError, match=r"prediction folder .*nowhere does not exist"):
        match_predictions(tmp_path / "nowhere", FRAMES)


def test_the_cli_reports_unused_files_and_the_three_scores(tmp_path, capsys):
    pred_dir, gt_dir = make_tree(tmp_path)
    for path in pred_dir.rglob("*.png"):  # predictions equal to the ground truth score 100
        key = path.name[: len("aachen_000000_000019")]
        path.write_bytes(_gt_path(tmp_path, key).read_bytes())
    (pred_dir / "munich_000000_000001_leftImg8bit.png").write_bytes(b"")
    out = tmp_path / "s.json"
    assert (
        main(["--predictions", str(pred_dir), "--ground-truth", str(gt_dir), "--out", str(out), "--no-progress"]) == 0
    )
    err = capsys.readouterr().err
    assert f"evaluate: 1 PNG files under {pred_dir} match no ground-truth frame and were not used" in err
    assert err.endswith(f"evaluate: 3 images: pixel acc 100.00, class acc 100.00, class IoU 100.00 -> {out}\n")
    result = json.loads(out.read_text())
    assert result["encoding"] == "labelid" and result["classes"] == TRAIN_CLASSES
    assert set(result) == {
        "pixel_acc", "class_acc", "class_iou", "per_class_iou", "per_class_acc", "classes", "confusion_matrix",
        "void_predictions", "num_pixels", "num_images", "predictions", "ground_truth", "encoding",
    }  # fmt: skip
    assert set(result["per_class_acc"]) == set(TRAIN_CLASSES)


def test_the_cli_passes_the_encoding_and_refuses_a_missing_flag_or_an_unknown_encoding(tmp_path, capsys):
    pred_dir, gt_dir = make_tree(tmp_path)
    flags = ["--predictions", str(pred_dir), "--ground-truth", str(gt_dir), "--out", str(tmp_path / "s.json")]
    as_label_ids = evaluate(pred_dir, gt_dir)  # the default workers
    _as_train_ids(pred_dir)
    assert main([*flags, "--encoding", "trainid", "--no-progress"]) == 0
    assert json.loads((tmp_path / "s.json").read_text())["class_iou"] == as_label_ids["class_iou"]
    for k in (0, 2, 4):
        with pytest.raises(SystemExit) as exit:
            main(flags[:k] + flags[k + 2 :])
        assert exit.value.code == 2 and f"required: {flags[k]}" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*flags, "--encoding", "colour"])
    assert "invalid choice: 'colour'" in capsys.readouterr().err


def test_format_of_the_summary():
    assert _format(None) == "n/a" and _format(12.346) == "12.35" and _format(0.0) == "0.00"


def test_encoding_checks_at_the_edges_of_the_train_ids():
    counts = np.zeros(256, np.int64)
    counts[[0, 18, 19, 255]] = 1  # 19 (traffic light's label id) is no train id
    assert "holds values [19] that are not train ids" in encoding_problem(counts, "trainid", "p.png")
    counts[:] = 0
    counts[list(range(19, 33))] = 1
    assert "holds values [19, 20, 21, 22, 23, 24, 25, 26] that" in encoding_problem(counts, "trainid", "p.png")
    counts[:] = 0
    counts[[7, 9, 19]] = 1  # label ids with one above 18: never taken for train ids
    assert encoding_problem(counts, "labelid", "p.png") is None
    counts[19] = 0
    counts[[1, 2, 3, 4, 5, 6]] = 1
    assert "with [1, 2, 3, 4, 5], which no label-id prediction holds" in encoding_problem(counts, "labelid", "p.png")


def test_unreadable_predictions_are_named(tmp_path):
    Image.new("L", (8, 4)).save(tmp_path / "jpeg.png", format="JPEG")  # a JPEG named .png
    with pytest.raises(DataError, match="jpeg.png"):
        read_label_ids(tmp_path / "jpeg.png")
    (tmp_path / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n cut")
    with pytest.raises(DataError, match="cut.png"):
        read_label_ids(tmp_path / "cut.png")
    Image.fromarray(np.full((4, 8), 300, np.uint16)).save(tmp_path / "deep.png")
    with pytest.raises(DataError, match=r"label .*deep.png is uint16; expected an 8-bit PNG of Cityscapes label ids"):
        read_label_ids(tmp_path / "deep.png")
    pred_dir, gt_dir = make_tree(tmp_path / "tree")
    assert evaluate_frames(pred_dir, gt_dir, workers=1, progress=False)[2].dtype == np.int64
    write_label_ids(pred_dir / f"{FRAMES[0]}_leftImg8bit.png", np.zeros((5, 7), np.uint8))
    with pytest.raises(DataError, match=r"is 7x5 but ground truth .* is 40x24;"):
        evaluate(pred_dir, gt_dir, workers=1, progress=False)
