import math

import numpy as np
import pytest

from eval import metrics
from eval.metrics import confusion_matrix, label_confusion_matrix, label_id_histogram, scores
from sggan.data.labels import LABEL_ID, LABEL_TO_TRAIN, NUM_CLASSES, TRAIN_CLASSES


def test_confusion_matrix_by_hand_ignores_gt_255():
    gt = np.array([[0, 0, 1], [1, 2, 255]])
    pred = np.array([[0, 1, 1], [2, 2, 0]])  # the 0 on the ignored pixel must not count
    conf = confusion_matrix(gt, pred, num_classes=3)
    assert conf.tolist() == [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0]]


def test_scores_by_hand():
    conf = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0]])
    s = scores(conf, ["a", "b", "c"])
    assert s["pixel_acc"] == pytest.approx(100 * 3 / 5)
    assert s["class_acc"] == pytest.approx(100 * (1 / 2 + 1 / 2 + 1) / 3)
    # IoU: a 1/(2+1-1), b 1/(2+2-1), c 1/(1+2-1)
    assert s["per_class_iou"] == pytest.approx({"a": 50.0, "b": 100 / 3, "c": 50.0})
    assert s["class_iou"] == pytest.approx(100 * (1 / 2 + 1 / 3 + 1 / 2) / 3)


def test_void_predictions_are_misses_and_absent_classes_are_nan():
    gt = np.array([[0, 0], [1, 255]])
    pred = np.array([[0, 7], [3, 3]])  # 7 is no class (void); 3 on the ignored pixel is not counted
    conf = confusion_matrix(gt, pred, num_classes=4)
    assert conf.tolist() == [[1, 0, 0, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]
    s = scores(conf, ["a", "b", "c", "d"])
    assert s["pixel_acc"] == pytest.approx(100 / 3)
    iou = s["per_class_iou"]
    assert iou["a"] == pytest.approx(50.0)  # the void pixel is a false negative of "a"
    assert iou["b"] == 0.0 and iou["d"] == 0.0  # "d" only predicted: IoU 0, not NaN
    assert math.isnan(iou["c"])  # absent from ground truth and prediction
    assert s["class_iou"] == pytest.approx(50.0 / 3)  # mean over a, b, d
    acc = s["per_class_acc"]
    assert math.isnan(acc["c"]) and math.isnan(acc["d"])  # no ground-truth pixels
    assert s["class_acc"] == pytest.approx(25.0)  # mean of 1/2 and 0


def test_square_matrix_equals_zero_void_column():
    square = np.array([[5, 1], [2, 3]])
    with_void = np.hstack([square, np.zeros((2, 1), dtype=int)])
    assert scores(square) == scores(with_void)
    assert scores(square)["pixel_acc"] == pytest.approx(100 * 8 / 11)
    assert scores(square)["class_iou"] == pytest.approx(100 * (5 / 8 + 3 / 6) / 2)


def test_empty_matrix_gives_nan_everywhere():
    s = scores(np.zeros((3, 4), dtype=int))
    assert math.isnan(s["pixel_acc"]) and math.isnan(s["class_acc"]) and math.isnan(s["class_iou"])


def test_gt_outside_train_ids_is_an_error():
    with pytest.raises(ValueError, match=r"\[19\]"):
        confusion_matrix(np.array([0, 19]), np.array([0, 0]))


def test_label_id_path_matches_train_id_path():
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 34, size=(37, 53), dtype=np.uint8)
    pred = rng.integers(0, 34, size=(37, 53), dtype=np.uint8)
    expected = confusion_matrix(LABEL_TO_TRAIN[gt], LABEL_TO_TRAIN[pred])
    conf = label_confusion_matrix(gt, pred)
    assert conf.shape == (NUM_CLASSES, NUM_CLASSES + 1)
    assert np.array_equal(conf, expected)
    assert conf.sum() == np.count_nonzero(LABEL_TO_TRAIN[gt] != 255)


def test_label_id_path_by_hand():
    road, car, parking, unlabeled = (LABEL_ID[n] for n in ("road", "car", "parking", "unlabeled"))
    gt = np.array([[road, road, car, unlabeled]], dtype=np.uint8)
    pred = np.array([[road, parking, car, car]], dtype=np.uint8)
    conf = label_confusion_matrix(gt, pred)
    r, c = TRAIN_CLASSES.index("road"), TRAIN_CLASSES.index("car")
    assert conf[r, r] == 1 and conf[r, NUM_CLASSES] == 1  # parking is not evaluated: a miss
    assert conf[c, c] == 1
    assert conf.sum() == 3  # the unlabeled ground-truth pixel is ignored
    s = scores(conf)
    assert s["per_class_iou"]["road"] == pytest.approx(50.0)
    assert s["per_class_iou"]["car"] == pytest.approx(100.0)
    assert s["class_iou"] == pytest.approx(75.0)


def test_label_ids_out_of_range_are_rejected():
    gt = np.array([[7, 7]], dtype=np.uint8)
    with pytest.raises(ValueError, match=r"prediction \[255\]"):
        label_confusion_matrix(gt, np.array([[7, 255]], dtype=np.uint8))
    with pytest.raises(ValueError, match=r"ground truth \[40\]"):
        label_confusion_matrix(np.array([[7, 40]], dtype=np.uint8), gt)


# Killed mutants of benchmarks/mutation.py (docs/mutation.md)


def test_per_class_accuracy_by_hand():
    conf = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0]])
    assert scores(conf, ["a", "b", "c"])["per_class_acc"] == pytest.approx({"a": 50.0, "b": 50.0, "c": 100.0})


def test_classes_without_names_are_numbered():
    s = scores(np.eye(3, dtype=np.int64))
    assert list(s["per_class_iou"]) == ["0", "1", "2"] and list(s["per_class_acc"]) == ["0", "1", "2"]
    assert list(scores(np.eye(NUM_CLASSES, dtype=np.int64))["per_class_iou"]) == TRAIN_CLASSES


def test_the_first_id_past_cityscapes_is_out_of_range():
    # 33 (bicycle) is the largest label id; 34 must be refused, not silently left out of the matrix
    gt = np.array([[33, 33]], dtype=np.uint8)
    assert label_confusion_matrix(gt, gt).sum() == 2
    with pytest.raises(ValueError, match=r"prediction \[34\]"):
        label_confusion_matrix(gt, np.array([[33, 34]], dtype=np.uint8))
    with pytest.raises(ValueError, match=r"ground truth \[34\]"):
        label_confusion_matrix(np.array([[33, 34]], dtype=np.uint8), gt)


@pytest.mark.parametrize("gt_dtype, pred_dtype", [(np.uint8, np.int32), (np.int32, np.uint8)])
def test_both_label_maps_must_be_uint8(gt_dtype, pred_dtype):
    with pytest.raises(ValueError, match="must be uint8"):
        label_confusion_matrix(np.full((1, 2), 7, gt_dtype), np.full((1, 2), 7, pred_dtype))


@pytest.mark.parametrize("shape", [(37, 53), (5, 7, 11), (64,)])
def test_label_id_histogram_counts_every_pair_as_a_bincount(shape, monkeypatch):
    rng = np.random.default_rng(1)
    gt = rng.integers(0, 256, size=shape, dtype=np.uint8)
    pred = np.where(rng.random(shape) < 0.5, gt, rng.integers(0, 256, size=shape)).astype(np.uint8)
    expected = np.zeros((256, 256), dtype=np.int64)
    np.add.at(expected, (gt.ravel(), pred.ravel()), 1)
    fast = label_id_histogram(gt, pred)
    assert fast.dtype == np.int64 and np.array_equal(fast, expected)
    monkeypatch.setattr(metrics, "_EXACT_FLOAT32", 1)  # maps too large for float32 counts: bincount
    assert np.array_equal(label_id_histogram(gt, pred), expected)


def test_a_stack_scores_like_each_matrix_on_its_own():
    # the bootstrap scores stacks; sums over the wrong axis survived the single-matrix tests
    from eval.metrics import score_arrays

    rng = np.random.default_rng(0)
    stack = rng.integers(0, 20, (2, 3, 4, 5))  # (2, 3) matrices of 4 classes with a void column
    stack[0, 1, 2] = 0  # a class absent from one matrix's ground truth: NaN there
    together = score_arrays(stack)
    for index in np.ndindex(2, 3):
        alone = scores(stack[index], ["a", "b", "c", "d"])
        for key in ("pixel_acc", "class_acc", "class_iou"):
            assert together[key][index] == pytest.approx(alone[key]), (index, key)
        assert np.allclose(together["per_class_iou"][index], list(alone["per_class_iou"].values()), equal_nan=True)
