import numpy as np
import pytest

from eval.bootstrap import (
    BootstrapConfig,
    confidence_intervals,
    draw_counts,
    interval,
    paired_difference,
    point_scores,
    resampled_scores,
)

# two classes and the void column; class 0 is absent from frame 2's ground truth
SEED_0 = np.array([[[3, 1, 0], [0, 2, 0]], [[1, 0, 1], [1, 1, 0]], [[0, 0, 0], [0, 4, 0]]])
SEED_1 = np.array([[[2, 2, 0], [0, 2, 0]], [[0, 2, 0], [0, 2, 0]], [[0, 0, 0], [1, 3, 0]]])


def test_draw_counts():
    assert draw_counts(np.array([[0, 0, 2], [1, 2, 1]]), 4).tolist() == [[2, 0, 1, 0], [0, 2, 1, 0]]


def test_resampled_scores_by_hand_for_one_seed():
    draws = np.array(
        [
            [0, 0, 1],  # 2 x frame 0 + frame 1 -> [[7, 2, 1], [1, 5, 0]]
            [2, 2, 2],  # 3 x frame 2 -> [[0, 0, 0], [0, 12, 0]]: class 0 absent
            [1, 2, 0],
        ]
    )  # every frame once -> [[4, 1, 1], [1, 7, 0]]
    got = resampled_scores(SEED_0[None], draws)
    # IoU = TP / (ground truth + predicted - TP); void predictions are misses, nobody's false positive
    iou = np.array([[7 / 11, 5 / 8], [np.nan, 1.0], [4 / 7, 7 / 9]])
    np.testing.assert_allclose(got["per_class_iou"], 100 * iou)
    np.testing.assert_allclose(got["class_iou"], [100 * (7 / 11 + 5 / 8) / 2, 100.0, 100 * (4 / 7 + 7 / 9) / 2])
    np.testing.assert_allclose(got["pixel_acc"], [100 * 12 / 16, 100.0, 100 * 11 / 14])
    np.testing.assert_allclose(got["class_acc"], [100 * (7 / 10 + 5 / 6) / 2, 100.0, 100 * (4 / 6 + 7 / 8) / 2])
    np.testing.assert_allclose(point_scores(SEED_0[None])["class_iou"], got["class_iou"][2])


def test_seeds_are_scored_on_the_same_frames_then_averaged_by_hand():
    both = np.stack([SEED_0, SEED_1])
    frames = np.array([[2, 2, 2], [0, 0, 1], [0, 0, 1]])
    seeds = np.array([[0, 1], [0, 1], [1, 1]])
    got = resampled_scores(both, frames, seeds)
    # frames 2, 2, 2: seed 0 has only class 1 (IoU 1); seed 1 predicts class 0 on class-1 pixels,
    # so class 0 is there with IoU 0 and class 1 has 9 / 12
    # frames 0, 0, 1: seed 0 as above; seed 1 pools [[4, 6, 0], [0, 6, 0]]: IoUs 4/10 and 6/12
    seed0_001, seed1_001 = (7 / 11 + 5 / 8) / 2, (4 / 10 + 6 / 12) / 2
    np.testing.assert_allclose(
        got["class_iou"], [100 * (1.0 + (0 + 9 / 12) / 2) / 2, 100 * (seed0_001 + seed1_001) / 2, 100 * seed1_001]
    )  # seed 1 drawn twice
    # a class absent from one seed's pooled matrix is left out of that class's mean over seeds
    np.testing.assert_allclose(got["per_class_iou"][0], [0.0, 100 * 9 / 12 / 2 + 50.0])
    np.testing.assert_allclose(got["pixel_acc"][2], 100 * 10 / 16)


def test_interval_is_the_percentiles_and_skips_nan():
    values = np.array(
        [[1.0, np.nan, np.nan], [2.0, 5.0, np.nan], [3.0, np.nan, np.nan], [4.0, 1.0, np.nan], [5.0, 3.0, np.nan]]
    )
    low, high = interval(values, level=0.5)
    np.testing.assert_allclose(low, [2.0, 2.0, np.nan])
    np.testing.assert_allclose(high, [4.0, 4.0, np.nan])


def test_identical_methods_differ_by_exactly_zero():
    both = np.stack([SEED_0, SEED_1])
    diff = paired_difference(both, both, config=BootstrapConfig(draws=50))
    assert (diff.estimate, diff.low, diff.high) == (0.0, 0.0, 0.0) and not diff.excludes_zero


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="same seeds and frames"):
        paired_difference(SEED_0[None], np.stack([SEED_0, SEED_1]))
    with pytest.raises(ValueError, match=r"\(seeds, frames, C, C\)"):
        confidence_intervals(SEED_0)
    with pytest.raises(ValueError, match="metric must be"):
        paired_difference(SEED_0[None], SEED_0[None], metric="per_class_iou")


# ------------------------------------------------------------------ coverage on synthetic data
# Frames with heterogeneous content and difficulty: class c has Gamma(2, mu_c / 2) pixels; a frame's
# pixels are right with probability p ~ Beta(4, 2) (the same for every class), and each wrong pixel
# goes to one of the other classes or void alike. Then, as frames -> infinity, the pooled counts
# are E[TP_c] = mu_c m, E[FN_c] = mu_c (1 - m), E[FP_c] = (1 - m) / C * sum of the other mu, with
# m = E[p]: the true class IoU is known in closed form.
MU = np.array([3000.0, 1000.0, 300.0])
FRAMES, DATASETS, DRAWS = 60, 300, 400


def true_class_iou(m: float) -> float:
    c = len(MU)
    iou = MU * m / (MU + (1 - m) / c * (MU.sum() - MU))
    return float(100 * iou.mean())


def synthetic_confusions(rng, accuracy):
    """(DATASETS, FRAMES, C, C + 1) confusion matrices whose frames have accuracy ``accuracy``
    (DATASETS, FRAMES) and pixel counts drawn once per frame (pass the same rng state to pair)."""
    c = len(MU)
    pixels = np.rint(rng.gamma(2.0, MU / 2.0, size=(DATASETS, FRAMES, c))).astype(np.int64)
    right = rng.binomial(pixels, accuracy[..., None])
    wrong = rng.multinomial(pixels - right, np.full(c, 1.0 / c))  # to the other classes and void
    conf = np.zeros((DATASETS, FRAMES, c, c + 1), dtype=np.int64)
    for k in range(c):
        others = [j for j in range(c + 1) if j != k]
        conf[:, :, k, k] = right[..., k]
        conf[:, :, k, others] = wrong[..., k, :]
    return conf


def covers(lows, highs, truth):
    return float(np.mean((lows <= truth) & (truth <= highs)))


def test_intervals_cover_the_true_class_iou_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    accuracy = rng.beta(4.0, 2.0, size=(DATASETS, FRAMES))
    datasets = synthetic_confusions(rng, accuracy)
    truth = true_class_iou(4.0 / 6.0)
    config = BootstrapConfig(draws=DRAWS, seed=1)
    bounds = np.array([confidence_intervals(conf[None], config)["class_iou"] for conf in datasets])
    estimates = np.array([point_scores(conf[None])["class_iou"] for conf in datasets])
    assert abs(estimates.mean() - truth) < 0.2 * estimates.std()  # the closed form is the estimand
    # 300 datasets: the binomial sd of a true 95% is 1.3 points; percentile intervals on 60 frames
    # cover about 94% (measured over 6 simulation seeds: 93.3-95.3%)
    assert covers(bounds[:, 0], bounds[:, 1], truth) == pytest.approx(0.95, abs=0.04)
    # ...and the check has teeth: intervals of half the width miss far more often
    centre, half = bounds.mean(axis=1), (bounds[:, 1] - bounds[:, 0]) / 4
    assert covers(centre - half, centre + half, truth) < 0.8


def test_paired_intervals_cover_the_true_difference_95_percent_of_the_time():
    rng = np.random.default_rng(2)
    accuracy = rng.beta(4.0, 2.0, size=(DATASETS, FRAMES))
    state = rng.bit_generator.state
    better = synthetic_confusions(rng, accuracy)
    rng.bit_generator.state = state  # the same frames, each 10% less accurate for method B
    worse = synthetic_confusions(rng, 0.9 * accuracy)
    truth = true_class_iou(4.0 / 6.0) - true_class_iou(0.9 * 4.0 / 6.0)
    config = BootstrapConfig(draws=DRAWS, seed=3)
    diffs = [paired_difference(a[None], b[None], config=config) for a, b in zip(better, worse)]
    lows, highs = np.array([d.low for d in diffs]), np.array([d.high for d in diffs])
    assert covers(lows, highs, truth) == pytest.approx(0.95, abs=0.04)  # measured 93.0-94.7%
    assert np.mean([d.excludes_zero for d in diffs]) > 0.9  # a 6.4-point gain on 60 frames is seen
