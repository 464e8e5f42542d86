"""The decoded ground truth (python -m eval.ground_truth) scores exactly as its folder does."""

import numpy as np
import pytest
from test_evaluate import FRAMES, make_tree

from eval import ground_truth
from eval.evaluate import evaluate_frames
from eval.evaluate import main as evaluate_main
from sggan.cli import run
from sggan.data.io import DataError, read_label


def test_decoded_file_holds_each_frames_label_ids(tmp_path):
    _, gt_dir = make_tree(tmp_path)
    out = tmp_path / "val.npz"
    assert ground_truth.main(["--ground-truth", str(gt_dir), "--out", str(out), "--workers", "2"]) == 0
    decoded = ground_truth.DecodedGroundTruth(out)
    assert decoded.frames == sorted(FRAMES) and decoded.source == str(gt_dir)
    for key in FRAMES:
        # an independent decoder (Pillow, through read_label) of each original PNG
        (png,) = gt_dir.rglob(f"{key}_gtFine_labelIds.png")
        assert np.array_equal(decoded.read(key), read_label(png)), key


def test_scores_and_frame_matrices_equal_the_folders(tmp_path):
    pred_dir, gt_dir = make_tree(tmp_path)
    ground_truth.decode(gt_dir, tmp_path / "val.npz")
    from_folder = evaluate_frames(pred_dir, gt_dir, workers=1, progress=False)
    from_file = evaluate_frames(pred_dir, tmp_path / "val.npz", workers=2, progress=False)
    assert from_file[1] == from_folder[1]
    assert np.array_equal(from_file[2], from_folder[2]) and from_file[2].sum() > 0
    assert from_file[0] == from_folder[0]  # every score and the source folder named in the JSON


def test_a_wrong_ground_truth_file_is_one_error(tmp_path, capsys):
    pred_dir, _ = make_tree(tmp_path)
    np.savez(tmp_path / "other.npz", confusion=np.zeros(3))
    argv = ["--predictions", str(pred_dir), "--out", str(tmp_path / "s.json"), "--ground-truth"]
    with pytest.raises(SystemExit) as exit_info:
        run(lambda: evaluate_main([*argv, str(tmp_path / "other.npz")]))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "is not a ground-truth file of python -m eval.ground_truth" in err
    with pytest.raises(DataError, match="does not exist; write it with python -m eval.ground_truth"):
        ground_truth.DecodedGroundTruth(tmp_path / "missing.npz")


def test_a_truncated_or_foreign_file_is_one_error_not_a_traceback(tmp_path):
    _, gt_dir = make_tree(tmp_path)
    ground_truth.decode(gt_dir, tmp_path / "val.npz")
    data = (tmp_path / "val.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])  # a copy that stopped halfway
    with pytest.raises(DataError, match="cannot be read as decoded ground truth"):
        ground_truth.open_ground_truth(tmp_path / "cut.npz")
    (tmp_path / "labels.txt").write_text("not labels")
    with pytest.raises(DataError, match="is neither a gtFine split folder nor a .npz"):
        ground_truth.open_ground_truth(tmp_path / "labels.txt")


def test_the_cli_decodes_with_its_defaults_and_refuses_a_missing_flag(tmp_path, capsys):
    _, gt_dir = make_tree(tmp_path)
    out = tmp_path / "gt.npz"
    assert ground_truth.main(["--ground-truth", str(gt_dir), "--out", str(out)]) == 0  # one thread by default
    assert capsys.readouterr().err == f"ground_truth: 3 frames of {gt_dir} decoded -> {out}\n"
    assert evaluate_frames(tmp_path / "pred", out, workers=1, progress=False)[1] == sorted(FRAMES)
    flags = ["--ground-truth", str(gt_dir), "--out", str(out)]
    for k in (0, 2):
        with pytest.raises(SystemExit) as exit:
            ground_truth.main(flags[:k] + flags[k + 2 :])
        assert exit.value.code == 2 and f"required: {flags[k]}" in capsys.readouterr().err
