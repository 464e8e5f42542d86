"""Bootstrap confidence intervals for Table 2, from the per-frame confusion matrices of eval.evaluate.

Segmentation scores are ratios of pixel counts pooled over the validation set (class IoU is not a
mean over frames), so one bootstrap draw resamples the validation frames with replacement, sums
the drawn frames' confusion matrices and scores the pooled matrix. With several training seeds
each seed's network is scored on the same drawn frames, and the draw's value is the mean over
seeds, as in the table. Intervals are percentile intervals over the draws.

* :func:`confidence_intervals`: draws resample frames only. The interval says how far the
  seeds' mean would move on another validation set of the same size, for these trained networks;
  how far it moves from one training run to the next is the sd over seeds, shown beside it.
* :func:`paired_difference`: a metric of method A minus method B. Draws resample frames (the
  same frames for both methods: what makes it paired, as both are scored on one validation set)
  and seeds (the same seed indices for both, as seed s of every method shares its seeded
  randomness). With three seeds the seed part of the interval is coarse (a bootstrap of three
  values knows ten resamples and understates their spread by a factor sqrt(2/3)); the frame part
  dominates whenever the validation set is the smaller source of variation.

    confusions: (seeds, frames, C, C + 1) counts, rows ground truth, last column void predictions
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eval.metrics import score_arrays

SUMMARY_METRICS = ("pixel_acc", "class_acc", "class_iou")


@dataclass(frozen=True)
class BootstrapConfig:
    draws: int = 2000  # resamples; the 2.5% tail then rests on 50 of them
    level: float = 0.95
    seed: int = 0  # of the resampling itself, so a table is reproducible


@dataclass(frozen=True)
class Difference:
    """A minus B of one metric: on all frames and seeds, and its paired bootstrap interval."""

    estimate: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return bool(self.low > 0 or self.high < 0)


def _check(confusions: np.ndarray) -> np.ndarray:
    confusions = np.asarray(confusions)
    if confusions.ndim != 4 or confusions.shape[-1] not in (confusions.shape[-2], confusions.shape[-2] + 1):
        raise ValueError(
            f"confusions must be (seeds, frames, C, C) or (seeds, frames, C, C + 1), got {confusions.shape}"
        )
    if confusions.shape[0] == 0 or confusions.shape[1] == 0:
        raise ValueError(f"confusions hold no seed or no frame: {confusions.shape}")
    return confusions


def draw_counts(draws: np.ndarray, num_items: int) -> np.ndarray:
    """(B, n) resampled indices -> (B, num_items) float: how often each item is in each draw."""
    draws = np.asarray(draws, dtype=np.int64)
    keys = draws + num_items * np.arange(draws.shape[0])[:, None]  # one bincount for all draws
    return np.bincount(keys.ravel(), minlength=draws.shape[0] * num_items).reshape(-1, num_items).astype(float)


def _weighted_nanmean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean over axis 1 of (B, S, ...) values with (B, S) weights, leaving NaNs out (a class absent
    from one seed's pooled matrix); NaN where nothing is left."""
    weights = weights.reshape(weights.shape + (1,) * (values.ndim - 2))
    present = ~np.isnan(values)
    total = (np.where(present, values, 0.0) * weights).sum(axis=1)
    weight = (present * weights).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / np.where(weight > 0, weight, 1.0), np.nan)


def resampled_scores(
    confusions: np.ndarray, frame_draws: np.ndarray, seed_draws: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """The seeds' mean of every metric in each draw.

    ``frame_draws`` (B, frames) and ``seed_draws`` (B, seeds) are resampled indices; without
    ``seed_draws`` every draw keeps each seed once. Returns pixel_acc, class_acc, class_iou of
    shape (B,) and per_class_iou, per_class_acc of shape (B, C), in percent.
    """
    confusions = _check(confusions)
    num_seeds, num_frames = confusions.shape[:2]
    frame_weights = draw_counts(frame_draws, num_frames)
    seed_weights = (
        np.ones((frame_weights.shape[0], num_seeds)) if seed_draws is None else draw_counts(seed_draws, num_seeds)
    )
    flat = confusions.reshape(num_seeds, num_frames, -1).astype(np.float64)
    # one matrix product per seed pools every draw at once: (B, frames) @ (frames, C * (C + 1))
    per_seed = [score_arrays((frame_weights @ flat[s]).reshape(-1, *confusions.shape[2:])) for s in range(num_seeds)]
    return {
        name: _weighted_nanmean(np.stack([scores[name] for scores in per_seed], axis=1), seed_weights)
        for name in per_seed[0]
    }


def point_scores(confusions: np.ndarray) -> dict[str, np.ndarray]:
    """The seeds' mean of every metric on all frames (the table's mean row)."""
    confusions = _check(confusions)
    every_frame = np.arange(confusions.shape[1])[None]
    return {name: values[0] for name, values in resampled_scores(confusions, every_frame).items()}


def interval(values: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over the draws (axis 0), leaving out draws where the value is NaN."""
    tail = 100.0 * (1.0 - level) / 2.0
    values = np.asarray(values, dtype=np.float64)
    all_nan = np.isnan(values).all(axis=0)
    safe = np.where(all_nan, 0.0, values)  # nanpercentile warns on all-NaN columns
    low, high = np.nanpercentile(safe, [tail, 100.0 - tail], axis=0)
    return np.where(all_nan, np.nan, low), np.where(all_nan, np.nan, high)


def _draws(rng: np.random.Generator, num_draws: int, num_items: int) -> np.ndarray:
    return rng.integers(0, num_items, size=(num_draws, num_items))


def confidence_intervals(
    confusions: np.ndarray, config: BootstrapConfig = BootstrapConfig()
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(low, high) of each metric's seed mean, over draws of frames: scalars for pixel_acc,
    class_acc and class_iou, (C,) arrays for per_class_iou and per_class_acc."""
    confusions = _check(confusions)
    rng = np.random.default_rng(config.seed)
    draws = resampled_scores(confusions, _draws(rng, config.draws, confusions.shape[1]))
    return {name: interval(values, config.level) for name, values in draws.items()}


def paired_difference(
    confusions_a: np.ndarray,
    confusions_b: np.ndarray,
    metric: str = "class_iou",
    config: BootstrapConfig = BootstrapConfig(),
) -> Difference:
    """``metric`` of A minus B with a bootstrap interval over frames and seeds, the same draws for both.

    Both hold the same seeds and the same validation frames in the same order.
    """
    confusions_a, confusions_b = _check(confusions_a), _check(confusions_b)
    if confusions_a.shape != confusions_b.shape:
        raise ValueError(f"paired methods need the same seeds and frames: {confusions_a.shape} vs {confusions_b.shape}")
    if metric not in SUMMARY_METRICS:
        raise ValueError(f"metric must be one of {', '.join(SUMMARY_METRICS)}, got {metric!r}")
    num_seeds, num_frames = confusions_a.shape[:2]
    rng = np.random.default_rng(config.seed)
    frame_draws, seed_draws = _draws(rng, config.draws, num_frames), _draws(rng, config.draws, num_seeds)
    diff = (
        resampled_scores(confusions_a, frame_draws, seed_draws)[metric]
        - resampled_scores(confusions_b, frame_draws, seed_draws)[metric]
    )
    low, high = interval(diff, config.level)
    estimate = point_scores(confusions_a)[metric] - point_scores(confusions_b)[metric]
    return Difference(float(estimate), float(low), float(high))
