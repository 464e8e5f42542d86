"""Segmentation metrics from one confusion matrix, with cityscapesscripts' conventions.

The matrix has one row per train class (ground truth) and one column per train class (prediction)
plus a last *void* column: ground-truth pixels predicted as anything that is not an evaluated
class (Cityscapes' "unlabeled", "parking", an out-of-range train id...). cityscapesscripts counts
such pixels as false negatives of the ground-truth class and as nobody's false positive; the void
column keeps exactly that. Ground-truth pixels of ignored labels (train id 255) are not counted.

    pixel accuracy = trace / evaluated pixels
    class accuracy = mean over classes of TP / ground-truth pixels
    class IoU      = mean over classes of TP / (TP + FP + FN)

A class whose denominator is zero (absent from ground truth and prediction, or for class accuracy
absent from ground truth) is NaN and left out of the mean, as cityscapesscripts' averages do.
All scores are percentages.
"""

from __future__ import annotations

import cv2
import numpy as np

from sggan.data.labels import IGNORE, LABEL_TO_TRAIN, MAX_LABEL_ID, NUM_CLASSES, TRAIN_CLASSES


def confusion_matrix(
    gt_train_ids: np.ndarray, pred_train_ids: np.ndarray, num_classes: int = NUM_CLASSES
) -> np.ndarray:
    """(num_classes, num_classes + 1) int64 counts; rows ground truth, last column void predictions.

    Ground-truth pixels equal to 255 are ignored; any other value outside 0..num_classes-1 is an
    error (it means the map is not in train ids). Predictions outside 0..num_classes-1 are void.
    """
    gt = np.asarray(gt_train_ids).ravel()
    pred = np.asarray(pred_train_ids).ravel()
    if gt.shape != pred.shape:
        raise ValueError(f"ground truth has {gt.size} pixels but prediction has {pred.size}")
    keep = gt != IGNORE
    gt, pred = gt[keep].astype(np.int64), pred[keep].astype(np.int64)
    if gt.size and (gt.min() < 0 or gt.max() >= num_classes):
        bad = np.unique(gt[(gt < 0) | (gt >= num_classes)])
        raise ValueError(
            f"ground truth holds values {bad.tolist()} that are neither train ids "
            f"0..{num_classes - 1} nor the ignore label {IGNORE}"
        )
    pred = np.where((pred >= 0) & (pred < num_classes), pred, num_classes)
    counts = np.bincount(gt * (num_classes + 1) + pred, minlength=num_classes * (num_classes + 1))
    return counts.reshape(num_classes, num_classes + 1)


# label id -> row/column in the train-id matrix; ignored labels go to the extra index NUM_CLASSES,
# which is the void column for predictions and a dropped row for ground truth.
_LABEL_TO_INDEX = np.where(
    LABEL_TO_TRAIN[: MAX_LABEL_ID + 1] == IGNORE, NUM_CLASSES, LABEL_TO_TRAIN[: MAX_LABEL_ID + 1]
).astype(np.intp)


_EXACT_FLOAT32 = 2**24  # float32 integers are exact below this


def label_id_histogram(gt_label_ids: np.ndarray, pred_label_ids: np.ndarray) -> np.ndarray:
    """(256, 256) int64 counts of (ground-truth label id, predicted label id) pairs of two uint8 maps.

    Counting label-id pairs (rather than mapping both maps to train ids first) lets the caller see
    out-of-range ids for free. OpenCV's 2-D histogram of two uint8 maps counts in int32 and
    releases the GIL, about twice as fast as a bincount of 16-bit keys; it returns float32, which
    holds every count exactly below 2**24, so larger maps take the bincount.
    """
    if gt_label_ids.dtype != np.uint8 or pred_label_ids.dtype != np.uint8:
        raise ValueError(f"label maps must be uint8, got {gt_label_ids.dtype} and {pred_label_ids.dtype}")
    if gt_label_ids.shape != pred_label_ids.shape:
        raise ValueError(f"ground truth {gt_label_ids.shape} and prediction {pred_label_ids.shape} differ in size")
    if 0 < gt_label_ids.size < _EXACT_FLOAT32:
        maps = [np.ascontiguousarray(m if m.ndim == 2 else m.reshape(1, -1)) for m in (gt_label_ids, pred_label_ids)]
        return cv2.calcHist(maps, [0, 1], None, [256, 256], [0, 256, 0, 256]).astype(np.int64)
    keys = (gt_label_ids.astype(np.uint16) << 8) | pred_label_ids
    return np.bincount(keys.ravel(), minlength=256 * 256).reshape(256, 256)


def fold_label_histogram(histogram: np.ndarray) -> np.ndarray:
    """Label-id pair counts -> the (NUM_CLASSES, NUM_CLASSES + 1) train-id confusion matrix.

    Ids above Cityscapes' largest label id must have zero counts (check with
    ``out_of_range_ids`` first); cityscapesscripts rejects them too.
    """
    size = MAX_LABEL_ID + 1
    conf = np.zeros((NUM_CLASSES + 1, NUM_CLASSES + 1), dtype=np.int64)
    np.add.at(conf, (_LABEL_TO_INDEX[:, None], _LABEL_TO_INDEX[None, :]), histogram[:size, :size])
    return conf[:NUM_CLASSES]  # the last row is ground truth that is ignored in evaluation


def out_of_range_ids(histogram: np.ndarray) -> tuple[list[int], list[int]]:
    """Label ids above Cityscapes' largest id seen in the ground truth and in the prediction."""
    size = MAX_LABEL_ID + 1
    gt_bad = np.nonzero(histogram[size:].sum(axis=1))[0] + size
    pred_bad = np.nonzero(histogram[:, size:].sum(axis=0))[0] + size
    return gt_bad.tolist(), pred_bad.tolist()


def label_confusion_matrix(gt_label_ids: np.ndarray, pred_label_ids: np.ndarray) -> np.ndarray:
    """Train-id confusion matrix from two Cityscapes label-id maps (uint8, ids 0..33)."""
    histogram = label_id_histogram(gt_label_ids, pred_label_ids)
    gt_bad, pred_bad = out_of_range_ids(histogram)
    if gt_bad or pred_bad:
        raise ValueError(
            f"label ids above {MAX_LABEL_ID} (not Cityscapes label ids): ground truth {gt_bad}, prediction {pred_bad}"
        )
    return fold_label_histogram(histogram)


def _nan_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def _nan_mean_percent(values: np.ndarray) -> np.ndarray:
    """100 x the mean over the last axis of the values that are not NaN; NaN where all are."""
    present = ~np.isnan(values)
    count = present.sum(axis=-1)
    total = np.where(present, values, 0.0).sum(axis=-1)
    return 100.0 * _nan_ratio(total, count)


def score_arrays(conf: np.ndarray) -> dict[str, np.ndarray]:
    """The scores of a stack of confusion matrices at once (the bootstrap's thousands of pooled ones).

    ``conf`` is (..., C, C) or (..., C, C + 1) with a void column, rows ground truth; counts may be
    real (weighted). Returns percentages: pixel_acc, class_acc and class_iou of shape (...), and
    per_class_iou and per_class_acc of shape (..., C).
    """
    conf = np.asarray(conf, dtype=np.float64)
    num_classes = conf.shape[-2]
    if conf.ndim < 2 or conf.shape[-1] not in (num_classes, num_classes + 1):
        raise ValueError(f"confusion matrix must be (C, C) or (C, C + 1), got {conf.shape[-2:]}")
    tp = np.diagonal(conf[..., :num_classes], axis1=-2, axis2=-1)
    gt_pixels = conf.sum(axis=-1)  # void predictions are misses: they count here
    predicted = conf[..., :num_classes].sum(axis=-2)  # ...but not here
    iou = _nan_ratio(tp, gt_pixels + predicted - tp)
    acc = _nan_ratio(tp, gt_pixels)
    return {
        "pixel_acc": 100.0 * _nan_ratio(tp.sum(axis=-1), gt_pixels.sum(axis=-1)),
        "class_acc": _nan_mean_percent(acc),
        "class_iou": _nan_mean_percent(iou),
        "per_class_iou": 100.0 * iou,
        "per_class_acc": 100.0 * acc,
    }


def scores(conf: np.ndarray, class_names: list[str] | None = None) -> dict:
    """Pixel accuracy, class accuracy, class IoU and per-class values (percent) of a confusion matrix.

    ``conf`` is (C, C) or (C, C + 1) with a void column, rows ground truth.
    """
    conf = np.asarray(conf, dtype=np.int64)
    num_classes = conf.shape[0]
    if conf.shape not in ((num_classes, num_classes), (num_classes, num_classes + 1)):
        raise ValueError(f"confusion matrix must be (C, C) or (C, C + 1), got {conf.shape}")
    names = class_names or (TRAIN_CLASSES if num_classes == NUM_CLASSES else [str(c) for c in range(num_classes)])
    result = score_arrays(conf)
    return {
        "pixel_acc": float(result["pixel_acc"]),
        "class_acc": float(result["class_acc"]),
        "class_iou": float(result["class_iou"]),
        "per_class_iou": {name: float(v) for name, v in zip(names, result["per_class_iou"])},
        "per_class_acc": {name: float(v) for name, v in zip(names, result["per_class_acc"])},
    }
