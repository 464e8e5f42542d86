import json
import subprocess
import sys
import urllib.error
from unittest import mock

import numpy as np
import pytest
import torch
from conftest import REPO

from eval import kid as kid_module
from eval.kid import FEATURE_DIM, INPUT_SIZE, extract_features, fid, kid, load_inception, mmd2_unbiased
from sggan.data.io import DataError, Frame, write_frame_list, write_image


def gaussian(n, d=16, shift=0.0, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)) + shift


def naive_mmd2(x, y):
    """The unbiased MMD^2 written out pair by pair (Binkowski et al. 2018, eq. (3) with m = n)."""

    def k(a, b):
        return (float(np.dot(a, b)) / len(a) + 1.0) ** 3

    m = len(x)
    within = sum(k(x[i], x[j]) + k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    cross = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return within / (m * (m - 1)) - 2 * cross / (m * m)


def test_one_whole_subset_is_the_exact_unbiased_mmd():
    x, y = gaussian(6, d=5, seed=1), gaussian(6, d=5, shift=0.3, seed=2)
    expected = naive_mmd2(x, y)
    assert mmd2_unbiased(x, y) == pytest.approx(expected, rel=1e-12)
    mean, std = kid(x, y, subsets=1, subset_size=6)
    assert mean == pytest.approx(expected, rel=1e-12) and std == 0.0
    # every subset holds the whole of both sets: the same value each time
    mean, std = kid(x, y, subsets=4, subset_size=6)
    assert mean == pytest.approx(expected, rel=1e-12) and std == pytest.approx(0.0, abs=1e-12)


def test_same_distribution_is_near_zero_and_kid_grows_with_a_shift():
    x = gaussian(300, seed=0)
    values = [
        kid(x, gaussian(300, shift=s, seed=1), subsets=20, subset_size=100)[0] for s in (0.0, 0.25, 0.5, 1.0, 2.0)
    ]
    assert abs(values[0]) < 0.1 * values[1]
    assert all(a < b for a, b in zip(values, values[1:])), values
    # a set against itself: slightly negative (the two subsets share samples), small next to a shift
    assert -0.1 * values[2] < kid(x, x, subsets=20, subset_size=100)[0] < 0


def test_subset_size_is_clipped_to_the_smaller_set():
    x, y = gaussian(30, seed=0), gaussian(40, shift=0.5, seed=1)
    assert kid(x, y, subsets=5, subset_size=10**6, seed=3) == kid(x, y, subsets=5, subset_size=30, seed=3)
    assert kid_module.effective_subset_size(30, 40, 1000) == 30
    assert kid_module.effective_subset_size(30, 40, 8) == 8


def test_kid_refuses_fewer_than_two_samples():
    with pytest.raises(ValueError, match="at least 2"):
        kid(gaussian(1), gaussian(10))
    with pytest.raises(ValueError, match="at least 2"):
        kid(gaussian(10), gaussian(10), subset_size=1)
    with pytest.raises(ValueError, match="same d"):
        kid(gaussian(10, d=4), gaussian(10, d=5))


def test_random_weights_are_seeded_and_inception_normalised():
    a, b = load_inception("random", seed=0), load_inception("random", seed=0)
    c = load_inception("random", seed=1)
    weight = "inception.Conv2d_1a_3x3.conv.weight"
    assert torch.equal(a.state_dict()[weight], b.state_dict()[weight])
    assert not torch.equal(a.state_dict()[weight], c.state_dict()[weight])
    # as torchvision's inception_v3 for its pretrained weights: ImageNet mean/std, then transform_input
    assert a.inception.transform_input
    assert torch.allclose(a.mean.flatten(), torch.tensor([0.485, 0.456, 0.406]))
    assert torch.allclose(a.std.flatten(), torch.tensor([0.229, 0.224, 0.225]))


def test_features_of_image_files(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i, size in enumerate([(20, 30), (24, 24), (16, 40)]):  # sizes differ: each is resized to 299
        paths.append(tmp_path / f"{i}.png")
        write_image(paths[-1], rng.integers(0, 256, size=(*size, 3), dtype=np.uint8))
    net = load_inception("random", seed=0)
    feats = extract_features(net, paths, torch.device("cpu"), batch_size=2, progress=False)
    assert feats.shape == (3, FEATURE_DIM) and feats.dtype == np.float64
    assert np.isfinite(feats).all() and feats.std() > 0
    assert kid_module.resize_for_inception(np.zeros((5, 7, 3), np.uint8)).shape == (3, INPUT_SIZE, INPUT_SIZE)


def synthetic_images(folder, count, seed, tint=(1.0, 1.0, 1.0)):
    """Small textured images (a grey-ish colour plus pixel noise), optionally colour-tinted."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        base = rng.uniform(0.4, 0.6, size=3)
        texture = rng.normal(0, 0.15, size=(24, 32, 1)) + rng.normal(0, 0.05, size=(24, 32, 3))
        paths.append(folder / f"frame{i:02d}.png")
        write_image(paths[-1], (np.clip((base + texture) * tint, 0, 1) * 255).astype(np.uint8))
    return paths


def frame_list(path, images):
    write_frame_list(path, [Frame(p.stem, p, p.with_suffix(".label.png")) for p in images])
    return path


def test_cli_colour_shift_scores_worse_than_the_same_distribution(tmp_path):
    n = 8
    target = frame_list(tmp_path / "target.tsv", synthetic_images(tmp_path / "target", n, seed=1))
    same = synthetic_images(tmp_path / "same", n, seed=2)
    synthetic_images(tmp_path / "shifted", n, seed=2, tint=(1.5, 0.7, 0.5))
    source = frame_list(tmp_path / "source.tsv", same)  # ids frame00 .. frame07 in both folders
    results = {}
    for name in ("same", "shifted"):
        out = tmp_path / "quality" / name / "kid.json"
        assert (
            kid_module.main(
                [
                    "--source-frames",
                    str(source),
                    "--adapted-dir",
                    str(tmp_path / name),
                    "--target-frames",
                    str(target),
                    "--weights",
                    "random",
                    "--seed",
                    "0",
                    "--subsets",
                    "10",
                    "--device",
                    "cpu",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        results[name] = json.loads(out.read_text())
    # subset size 8 = both sets whole: every subset gives the same value (kid_std ~ 0). With other
    # seeds (0-5) of the random weights the shifted KID was 13 to 750 times the same-distribution one.
    assert results["shifted"]["kid"] > 5 * abs(results["same"]["kid"])
    assert results["shifted"]["fid"] > 5 * results["same"]["fid"] > 0
    assert results["same"] | {"kid": 0, "kid_std": 0, "fid": 0} == {
        "kid": 0,
        "kid_std": 0,
        "fid": 0,
        "num_adapted": n,
        "num_target": n,
        "subsets": 10,
        "subset_size": n,
        "subset_size_requested": 1000,
        "seed": 0,
        "weights": "random",
        "network": "torchvision inception_v3, random weights of seed 0",
        "comparable_with_literature": False,
    }


def test_cli_names_a_missing_adapted_frame(tmp_path):
    images = synthetic_images(tmp_path / "images", 3, seed=0)
    frames = frame_list(tmp_path / "frames.tsv", images)
    images[1].unlink()
    out = tmp_path / "kid.json"
    with pytest.raises(DataError, match=r"frame01\.png") as error:
        kid_module.main(
            [
                "--source-frames",
                str(frames),
                "--adapted-dir",
                str(tmp_path / "images"),
                "--target-frames",
                str(frames),
                "--weights",
                "random",
                "--device",
                "cpu",
                "--out",
                str(out),
            ]
        )
    assert "sggan.adapt" in str(error.value)
    assert not out.exists()


def test_offline_machine_gets_told_where_the_weights_go(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    with pytest.raises(DataError) as error:
        load_inception("imagenet")
    message = str(error.value)
    expected = tmp_path / "torch-home" / "hub" / "checkpoints" / "inception_v3_google-0cc3c7bd.pth"
    assert str(expected) in message and "--weights-file" in message


def test_a_weights_file_is_loaded_or_named(tmp_path):
    from torchvision.models import inception_v3

    torch.manual_seed(0)
    path = tmp_path / "inception.pth"
    state = inception_v3(weights=None, aux_logits=True, init_weights=False).state_dict()
    torch.save(state, path)
    net = load_inception("imagenet", weights_file=path)
    assert torch.equal(net.inception.Mixed_7c.branch1x1.conv.weight, state["Mixed_7c.branch1x1.conv.weight"])
    assert net.inception.transform_input and net.inception.AuxLogits is None
    with pytest.raises(DataError, match="nowhere.pth"):
        load_inception("imagenet", weights_file=tmp_path / "nowhere.pth")
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(DataError, match="not a state dict of torchvision's inception_v3"):
        load_inception("imagenet", weights_file=tmp_path / "other.pth")


@pytest.mark.parametrize("shape", [(66, 120), (1052, 1914), (150, 400), (299, 299)])
def test_resize_matches_pillows_antialiased_bilinear(shape):
    # the oracle: Pillow's bilinear resize, which filters when it shrinks (antialiasing), of the
    # whole frame squashed to 299x299; noise shows any other filter, crop, flip or transposition
    from PIL import Image

    image = np.random.default_rng(shape[0]).integers(0, 256, (*shape, 3), dtype=np.uint8)
    ours = kid_module.resize_for_inception(image).permute(1, 2, 0).numpy() * 255
    pillow = np.asarray(Image.fromarray(image).resize((INPUT_SIZE, INPUT_SIZE), Image.BILINEAR), dtype=np.float64)
    assert ours.shape == pillow.shape == (INPUT_SIZE, INPUT_SIZE, 3)
    difference = np.abs(ours - pillow)
    assert difference.max() <= 1.01 and difference.mean() < 0.4  # Pillow rounds to whole levels


# ---------------------------------------------------------------------------------------------
# FID, and both measures against torch-fidelity's own functions


def test_fid_of_hand_computed_cases():
    # one dimension: means 1 and 3, variances (n - 1) 2 and 8: 2^2 + 2 + 8 - 2 sqrt(2 * 8) = 6
    assert fid([[0.0], [2.0]], [[1.0], [5.0]]) == pytest.approx(6.0, rel=1e-12)
    # two dimensions, isotropic covariances 6 and 2/3, means 0 and (1, 1): 2 + 2 (sqrt 6 - sqrt(2/3))^2 = 22/3
    cross = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    assert fid(3 * cross, cross + 1) == pytest.approx(22 / 3, rel=1e-12)
    assert fid(cross, cross) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="at least 2"):
        fid(cross[:1], cross)


def tf_fid(x, y):
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    stats = [fid_features_to_statistics(torch.from_numpy(f)) for f in (x, y)]
    return fid_statistics_to_metric(*stats, verbose=False)["frechet_inception_distance"]


@pytest.mark.parametrize("n", [300, 40])  # 40 < d: singular covariances, as for small held-out sets
def test_fid_is_torch_fidelitys(n):
    rng = np.random.default_rng(n)
    mixing = rng.normal(size=(64, 64)) / 8
    x = rng.normal(size=(n, 64)) @ mixing
    y = rng.normal(size=(n, 64)) @ (mixing + 0.05) + 0.2
    assert fid(x, y) == pytest.approx(tf_fid(x, y), rel=1e-7)
    assert fid(x, y) > 0


def test_kid_is_torch_fidelitys_for_the_same_seed():
    from torch_fidelity.metric_kid import kid_features_to_metric

    x, y = gaussian(50, d=32, seed=0), gaussian(40, d=32, shift=0.3, seed=1)
    theirs = kid_features_to_metric(
        torch.from_numpy(x), torch.from_numpy(y), kid_subsets=7, kid_subset_size=25, rng_seed=5, verbose=False
    )
    mean, std = kid(x, y, subsets=7, subset_size=25, seed=5)
    assert mean == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-10)
    assert std == pytest.approx(theirs["kernel_inception_distance_std"], rel=1e-10)
    assert std > 0  # the subsets differ, so this compares the draws too


def test_the_published_network_is_torch_fidelitys():
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    assert kid_module.TF_INCEPTION.url == URL_INCEPTION_V3
    assert kid_module.TF_INCEPTION.filename == "weights-inception-2015-12-05-6726825d.pth"
    assert kid_module.TF_INCEPTION.sha256_prefix == "6726825d"


# ---------------------------------------------------------------------------------------------
# The standard network, with a stand-in weights file (the published one cannot be downloaded here)


@pytest.fixture(scope="module")
def standin_weights(tmp_path_factory):
    """A state dict of torch-fidelity's own network, seeded random, and a PublishedWeights naming
    its hash: the seam through which the tests check the loader against this file instead."""
    import torch_fidelity.feature_extractor_inceptionv3 as tfi

    path = tmp_path_factory.mktemp("weights") / "standin-inception.pth"
    # built without its weights (torch-fidelity loads them in the constructor), then He-initialised
    # convolutions so that the features are not vanishingly small
    with (
        mock.patch.object(tfi, "load_state_dict_from_url", lambda *args, **kwargs: {}),
        mock.patch.object(tfi.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None),
        torch.random.fork_rng(devices=[]),
    ):
        torch.manual_seed(0)
        network = tfi.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
        for module in network.modules():
            if isinstance(module, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
    torch.save(network.state_dict(), path)
    digest = kid_module.file_sha256(path)
    return path, digest, kid_module.PublishedWeights(f"https://example.org/releases/standin-{digest[:8]}.pth")


def standin_provenance(digest, published):
    return {
        "weights": "tf-inception",
        "network": "TF inception-2015-12-05 (torch-fidelity FeatureExtractorInceptionV3, 2048-d pool)",
        "weights_file": "standin-inception.pth",
        "weights_sha256": digest,
        "weights_url": published.url,
        "comparable_with_literature": True,
    }


def test_standard_network_holds_the_file_and_takes_images_at_their_own_size(tmp_path, standin_weights):
    path, digest, published = standin_weights
    net = kid_module.load_standard_inception(path, published)
    state = torch.load(path, weights_only=True)
    assert torch.equal(net.extractor.Mixed_7c.branch1x1.conv.weight, state["Mixed_7c.branch1x1.conv.weight"])
    assert net.provenance == standin_provenance(digest, published)
    # the features of image files are torch-fidelity's of each uint8 image at its own size (its
    # resize and scaling, not ours), in order, through batches that mix sizes
    rng = np.random.default_rng(0)
    paths, expected = [], []
    for i, size in enumerate([(20, 30), (20, 30), (24, 24), (16, 40)]):
        image = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
        paths.append(tmp_path / f"{i}.png")
        write_image(paths[-1], image)
        with torch.inference_mode():
            expected.append(net.extractor(torch.from_numpy(image).permute(2, 0, 1)[None])[0][0].numpy())
    feats = extract_features(net, paths, torch.device("cpu"), batch_size=3, progress=False)
    assert feats.shape == (4, FEATURE_DIM) and feats.std() > 0
    np.testing.assert_allclose(feats, np.stack(expected), rtol=1e-5, atol=1e-7)


def test_only_the_published_weights_file_is_loaded(tmp_path, standin_weights):
    path, digest, _ = standin_weights
    url = kid_module.TF_INCEPTION.url
    with pytest.raises(DataError) as error:
        load_inception("tf-inception", weights_file=path)  # the real published hash
    assert str(error.value) == (
        f"--weights-file {path} is not weights-inception-2015-12-05-6726825d.pth (its sha256 starts "
        f"{digest[:8]}, the published file's 6726825d); download {url} and give its path"
    )
    with pytest.raises(DataError, match=f"--weights-file {tmp_path}/none.pth does not exist; download {url}"):
        load_inception("tf-inception", weights_file=tmp_path / "none.pth")
    with pytest.raises(DataError, match=f"--weights tf-inception needs --weights-file PATH, a copy of {url}"):
        load_inception("tf-inception")


def test_cli_refuses_a_wrong_weights_file_in_one_line_before_reading_images(tmp_path):
    wrong = tmp_path / "weights-inception-2015-12-05-6726825d.pth"
    wrong.write_bytes(b"a truncated download")
    result = subprocess.run(
        [sys.executable, "-m", "eval.kid", "--source-frames", str(tmp_path / "none.tsv"), "--adapted-dir",
         str(tmp_path), "--target-frames", str(tmp_path / "none.tsv"), "--weights", "tf-inception",
         "--weights-file", str(wrong), "--out", str(tmp_path / "kid.json")],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: --weights-file {wrong} is not weights-inception-2015-12-05-6726825d.pth (its sha256 starts "
        f"{kid_module.file_sha256(wrong)[:8]}, the published file's 6726825d); download "
        f"{kid_module.TF_INCEPTION.url} and give its path"
    ]
    assert not (tmp_path / "kid.json").exists()


@pytest.mark.slow  # four sets of eight images through two Inception pipelines: minutes on a busy CPU
def test_cli_end_to_end_with_the_standard_network_is_torch_fidelitys(tmp_path, standin_weights, monkeypatch):
    import torch_fidelity

    path, digest, published = standin_weights
    monkeypatch.setattr(kid_module, "TF_INCEPTION", published)  # the hash check, pointed at the stand-in
    n = 8
    target = frame_list(tmp_path / "target.tsv", synthetic_images(tmp_path / "target", n, seed=1))
    source = frame_list(tmp_path / "source.tsv", synthetic_images(tmp_path / "same", n, seed=2))
    synthetic_images(tmp_path / "shifted", n, seed=2, tint=(1.5, 0.7, 0.5))
    results = {}
    for name in ("same", "shifted"):
        out = tmp_path / name / "kid.json"
        argv = ["--source-frames", str(source), "--adapted-dir", str(tmp_path / name), "--target-frames",
                str(target), "--weights", "tf-inception", "--weights-file", str(path), "--subsets", "10",
                "--subset-size", "1000", "--device", "cpu", "--out", str(out)]  # fmt: skip
        assert kid_module.main(argv) == 0
        results[name] = json.loads(out.read_text())
        # torch-fidelity's own pipeline on the same folders and weights file: subsets of the whole
        # sets (1000 capped to 8) make KID independent of the order in which each side reads files
        theirs = torch_fidelity.calculate_metrics(
            input1=str(tmp_path / name), input2=str(tmp_path / "target"), fid=True, kid=True, cuda=False,
            feature_extractor_weights_path=str(path), kid_subset_size=n, cache=False, verbose=False,
        )  # fmt: skip
        # torch-fidelity computes KID's kernel in float32, ours in float64: a KID near 0 is a small
        # difference of kernel sums near 1, so their rounding shows in the fourth digit
        assert results[name]["fid"] == pytest.approx(theirs["frechet_inception_distance"], rel=1e-4)
        assert results[name]["kid"] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-3)
    assert results["shifted"]["fid"] > results["same"]["fid"] and results["shifted"]["kid"] > results["same"]["kid"]
    assert {k: v for k, v in results["same"].items() if k not in ("kid", "kid_std", "fid")} == {
        "num_adapted": n,
        "num_target": n,
        "subsets": 10,
        "subset_size": n,
        "subset_size_requested": 1000,
        "seed": 0,
    } | standin_provenance(digest, published)


def test_target_features_written_once_give_the_same_kid_and_fid(tmp_path):
    target = frame_list(tmp_path / "target.tsv", synthetic_images(tmp_path / "target", 4, seed=1))
    source = frame_list(tmp_path / "source.tsv", synthetic_images(tmp_path / "adapted", 4, seed=2))
    network = ["--weights", "random", "--seed", "3", "--device", "cpu"]
    common = ["--source-frames", str(source), "--adapted-dir", str(tmp_path / "adapted"), "--subsets", "5", *network]
    assert kid_module.main([*common, "--target-frames", str(target), "--out", str(tmp_path / "direct.json")]) == 0
    features = tmp_path / "target_features.npz"
    assert kid_module.main(["--target-frames", str(target), "--features-out", str(features), *network]) == 0
    assert kid_module.main([*common, "--target-features", str(features), "--out", str(tmp_path / "cached.json")]) == 0
    direct, cached = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("direct", "cached"))
    assert cached == direct and direct["num_target"] == 4 and direct["fid"] > 0
    # features of another network are refused, naming what differs
    other = [*common[:-4], "--seed", "4", "--device", "cpu", "--target-features", str(features)]
    with pytest.raises(
        DataError, match=r"another network \(network: .* random weights of seed 3 there, .* seed 4 now\)"
    ):
        kid_module.main([*other, "--out", str(tmp_path / "other.json")])


def test_features_out_takes_no_adapted_frames(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        kid_module.main(["--target-frames", "t.tsv", "--features-out", "f.npz", "--out", "k.json"])
    assert exit_info.value.code == 2 and "--features-out takes --target-frames" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        kid_module.main(["--target-frames", "t.tsv", "--out", "k.json"])
    assert "--source-frames, --adapted-dir and --out are required" in capsys.readouterr().err
