"""Kernel Inception Distance (KID) and Fréchet Inception Distance (FID) between adapted source
frames and real target images.

    python -m eval.kid --source-frames results/splits/heldout_source.tsv \
        --adapted-dir results/adapted/NAME/images --target-frames results/splits/heldout_target.tsv \
        --weights tf-inception|imagenet|random [--weights-file PATH] [--seed 0] [--subsets 100] \
        [--subset-size 1000] [--batch-size 32] [--workers 0] [--device auto] [--no-amp] \
        --out results/quality/NAME/kid.json

Every translator is compared with the same target images: ``--target-frames LIST --features-out
FILE`` (with the network's flags) writes their features once, and ``--target-features FILE`` in
place of ``--target-frames`` reads them back, refused if another network made them.

How real the adapted frames look, independently of the segmentation network: the smaller the
distance between the adapted frames and the target's images, the closer their distributions of
Inception features (2048-d pool features). KID (Binkowski et al., *Demystifying MMD GANs*, ICLR
2018) is the squared maximum mean discrepancy under the cubic polynomial kernel
k(x, y) = (x.y / d + 1)^3, estimated without bias and averaged over random subsets (torch-fidelity's
draws); unlike FID it is unbiased for small sets, so translators evaluated on a few hundred frames
still compare fairly, and it can come out slightly negative when the two distributions are the same.
FID (Heusel et al., NeurIPS 2017) is the Fréchet distance between Gaussians fitted to the two sets,
in float64; it is biased upwards for small sets (compare equal set sizes only).

The adapted image of a source frame is ``{adapted-dir}/{id}.png`` (written by ``python -m
sggan.adapt`` and ``python -m sggan.gather``); the real images are the ``image`` column of the
target frame list.

Writes ``{"kid", "kid_std", "fid", "num_adapted", "num_target", "subsets", "subset_size",
"subset_size_requested", "seed", "weights", "network", "comparable_with_literature", ...}``
atomically to ``--out``: the raw KID (not x100), the standard deviation over subsets, the subset
size actually used (``--subset-size`` capped to the smaller set, with a note on stderr) and the
weights' provenance (``weights_file``, ``weights_sha256``, ``weights_url`` where a file is used).

Networks (``--weights``):

* ``tf-inception``: the network of published FID/KID numbers, TensorFlow's ``inception-2015-12-05``
  as ported by torch-fidelity, through torch-fidelity's own ``FeatureExtractorInceptionV3`` (its
  TF1-compatible resize to 299x299 of each image at its own size, its input scaling, float32).
  Needs the ``metrics`` extra and ``--weights-file``, a local copy of :data:`TF_INCEPTION`'s URL,
  loaded offline and refused unless its sha256 starts as the published file's name says.
* ``imagenet``: torchvision's ``Inception_V3_Weights.IMAGENET1K_V1``, fetched and cached by
  torchvision (``torch.hub.get_dir()/checkpoints/inception_v3_google-0cc3c7bd.pth``), or a local
  copy given with ``--weights-file PATH``. Images are squashed to 299x299 (bilinear, antialiased).
  Its numbers rank translators within this benchmark; they are not comparable with papers.
* ``random``: a seeded random initialisation of torchvision's network, for the tests and the
  offline toy world. Its numbers are ONLY COMPARABLE WITHIN ONE SEED (the same ``--seed`` for every
  method being compared), never with other seeds, other weights, or published numbers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import urllib.parse
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from sggan.cli import run
from sggan.data.io import DataError, Frame, atomic_write, atomic_write_text, read_frame_list, read_image
from sggan.device import resolve_device
from sggan.progress import tqdm

INPUT_SIZE = 299  # Inception v3's input resolution
FEATURE_DIM = 2048  # pool features: the input of Inception v3's final fully connected layer
_LISTED = 5  # missing files named in an error before "... and N more"


# ---------------------------------------------------------------------------------------------
# KID from features


def effective_subset_size(n_x: int, n_y: int, subset_size: int) -> int:
    """The subset size used: ``subset_size`` clipped to the smaller set (at least 2 are needed)."""
    size = min(subset_size, n_x, n_y)
    if size < 2:
        raise ValueError(
            f"KID needs at least 2 samples per set and per subset; got {n_x} and {n_y} "
            f"samples with subset size {subset_size}"
        )
    return size


def polynomial_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """k(a_i, b_j) = (a_i . b_j / d + 1)^3 for all pairs: KID's kernel, (len(a), len(b))."""
    return (a @ b.T / a.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 of two equally sized samples under the polynomial kernel.

    The within-set means leave out the diagonal k(x_i, x_i) (a sample compared with itself), which
    is what makes the estimate unbiased; the cross term uses all m^2 pairs (x and y are independent).
    """
    m = x.shape[0]
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2.0 * k_xy.sum() / (m * m))


def feature_matrices(feats_x, feats_y) -> tuple[np.ndarray, np.ndarray]:
    """Two feature sets as float64 matrices (n, d) of the same d, or a ValueError."""
    x = np.asarray(feats_x, dtype=np.float64)
    y = np.asarray(feats_y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"expected two feature matrices (n, d) of the same d, got {x.shape} and {y.shape}")
    return x, y


def kid(feats_x, feats_y, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID of two feature sets (n, d): mean and standard deviation of the unbiased MMD^2 over
    ``subsets`` subsets of ``subset_size`` from each set, drawn without replacement within a subset.

    ``subset_size`` is clipped to the smaller set; a ValueError if that leaves fewer than 2. A set
    against itself comes out slightly below zero, not at it: its two subsets share samples, which
    the estimator takes to be independent draws.
    """
    x, y = feature_matrices(feats_x, feats_y)
    if subsets < 1:
        raise ValueError(f"subsets must be at least 1, got {subsets}")
    size = effective_subset_size(len(x), len(y), subset_size)
    # torch-fidelity's draws (legacy RandomState, x then y per subset): for the same features and
    # seed the value is torch-fidelity's kid_features_to_metric's (tests/test_kid.py checks it)
    rng = np.random.RandomState(seed)
    values = np.empty(subsets)
    for s in range(subsets):
        xs = x[rng.choice(len(x), size, replace=False)]
        ys = y[rng.choice(len(y), size, replace=False)]
        values[s] = mmd2_unbiased(xs, ys)
    return float(values.mean()), float(values.std())


def _covariance_root(cov: np.ndarray) -> np.ndarray:
    """The symmetric square root of a covariance matrix (negative rounding eigenvalues taken as 0)."""
    values, vectors = np.linalg.eigh(cov)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def fid(feats_x, feats_y) -> float:
    """Fréchet Inception Distance (Heusel et al., NeurIPS 2017) of two feature sets (n, d), in float64:
    |mu_x - mu_y|^2 + tr(S_x + S_y - 2 (S_x S_y)^(1/2)) between Gaussians fitted to each set
    (covariances with n - 1, as pytorch-fid and torch-fidelity).

    tr((S_x S_y)^(1/2)) is computed as tr((R S_y R)^(1/2)) with R = S_x^(1/2): the same eigenvalues,
    but of a symmetric positive semi-definite matrix, so that no complex rounding parts arise when
    n < d leaves the covariances singular. Unlike KID, FID is biased upwards for small sets: compare
    FIDs of equal set sizes only.
    """
    x, y = feature_matrices(feats_x, feats_y)
    if len(x) < 2 or len(y) < 2:
        raise ValueError(f"FID needs at least 2 samples per set; got {len(x)} and {len(y)}")
    cov_x, cov_y = np.atleast_2d(np.cov(x, rowvar=False)), np.atleast_2d(np.cov(y, rowvar=False))
    root_x = _covariance_root(cov_x)
    middle = root_x @ cov_y @ root_x
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = x.mean(axis=0) - y.mean(axis=0)
    return float(diff @ diff + np.trace(cov_x) + np.trace(cov_y) - 2 * trace_root)


# ---------------------------------------------------------------------------------------------
# Inception weights


def weights_url() -> str:
    from torchvision.models import Inception_V3_Weights

    return Inception_V3_Weights.IMAGENET1K_V1.url


def cached_weights_path() -> Path:
    """Where torchvision looks for (and caches) the ImageNet Inception v3 weights."""
    filename = os.path.basename(urllib.parse.urlparse(weights_url()).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def load_imagenet_state() -> dict[str, torch.Tensor]:
    """torchvision's ImageNet Inception v3 state dict: from its cache, else downloaded (hash-checked)."""
    from torchvision.models import Inception_V3_Weights

    try:
        return Inception_V3_Weights.IMAGENET1K_V1.get_state_dict(progress=False, check_hash=True)
    except Exception as err:  # no network: URLError, socket errors, HTTP errors, a broken proxy ...
        raise DataError(
            f"could not fetch torchvision's ImageNet Inception v3 weights ({weights_url()}): {err}.\n"
            f"On a machine without network: download that file elsewhere, then either copy it to "
            f"{cached_weights_path()} (where torchvision looks first) or pass it with --weights-file PATH. "
            f"For a toy run without ImageNet weights, use --weights random."
        ) from err


def load_state_file(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"Inception weights {path} do not exist; it should be torchvision's "
            f"{weights_url()} (a state dict of torchvision's inception_v3)"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise DataError(
            f"Inception weights {path} cannot be read ({err}); it should be torchvision's "
            f"{weights_url()} (a state dict)"
        ) from err


def inception_from_state(state: dict[str, torch.Tensor], source: str) -> nn.Module:
    """torchvision's Inception v3 holding ``state`` (with its ImageNet classifier and aux head)."""
    from torchvision.models.inception import Inception3

    num_classes = state["fc.weight"].shape[0] if "fc.weight" in state else 1000
    # transform_input=True, as torchvision's inception_v3 sets it for pretrained weights: they were
    # ported from Google's graph, which takes (x - 0.5) / 0.5; the model maps the ImageNet-normalised
    # input it is given back to that. Built on the meta device: the state replaces every tensor.
    with torch.device("meta"):
        model = Inception3(
            num_classes=num_classes, aux_logits="AuxLogits.fc.weight" in state, transform_input=True, init_weights=False
        )
    try:
        model.load_state_dict(state, assign=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise DataError(
            f"{source} is not a state dict of torchvision's inception_v3 ({first}); it should be {weights_url()}"
        ) from err
    return model


def random_inception(seed: int) -> nn.Module:
    """A seeded random Inception v3, without touching the caller's random state.

    Convolutions get He (fan-in) initialisation rather than torchvision's own truncated normal of
    std 0.1, which grows activations about threefold per layer (pool features ~1e9, kernel values
    ~1e54) and would leave the KID to rounding. Batch norms start as the identity (eval mode).
    """
    from torchvision.models.inception import Inception3

    # transform_input=True as for the pretrained weights, so the random network sees the same input.
    # Built on the meta device and initialised once here (not first by torchvision's own scheme).
    with torch.device("meta"):
        model = Inception3(aux_logits=False, transform_input=True, init_weights=False)
    model = model.to_empty(device="cpu")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.BatchNorm2d, nn.Linear)):
                module.reset_parameters()  # batch norms: weight 1, bias 0, running mean 0, variance 1
            elif next(module.parameters(recurse=False), None) is not None:
                raise TypeError(f"random_inception does not know how to initialise {type(module).__name__}")
    return model


def imagenet_normalisation() -> tuple[list[float], list[float]]:
    """Mean and std that torchvision's Inception weights expect on RGB in [0, 1]."""
    from torchvision.models import Inception_V3_Weights

    preset = Inception_V3_Weights.IMAGENET1K_V1.transforms()
    return list(preset.mean), list(preset.std)


class InceptionFeatures(nn.Module):
    """torchvision's Inception v3: RGB in [0, 1] at 299x299 (N, 3, 299, 299) -> pool features (N, 2048).

    ``provenance`` says which weights it holds (recorded in every output); ``prepare`` turns an
    image file's pixels into this network's input."""

    amp = True  # bf16 on CUDA unless --no-amp: these numbers rank within a run only

    @staticmethod
    def prepare(image: np.ndarray) -> torch.Tensor:
        return resize_for_inception(image)

    def __init__(self, inception: nn.Module, provenance: dict):
        super().__init__()
        self.provenance = provenance
        inception.fc = nn.Identity()  # the pool features are the input of the classifier
        inception.aux_logits, inception.AuxLogits = False, None  # used in training mode only
        self.inception = inception.eval()
        mean, std = imagenet_normalisation()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # ImageNet normalisation here, then the model's transform_input turns it into (x - 0.5) / 0.5
        return self.inception((x - self.mean) / self.std)


# ---------------------------------------------------------------------------------------------
# The standard network of published FID/KID numbers


@dataclass(frozen=True)
class PublishedWeights:
    """A published weights file: where to get it, and the start of its sha256, which (torch.hub's
    convention) is the hex part after the last '-' of its file name."""

    url: str

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    @property
    def sha256_prefix(self) -> str:
        return re.search(r"-([0-9a-f]{8,})\.", self.filename).group(1)


# TensorFlow's inception-2015-12-05 graph (the FID/KID reference implementations' network) ported
# to PyTorch by torch-fidelity (feature_extractor_inceptionv3.URL_INCEPTION_V3, v0.4.0); pytorch-fid
# and clean-fid publish the same network as pt_inception-2015-12-05-6726825d.pth (same sha256 prefix).
TF_INCEPTION = PublishedWeights(
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_published_weights(path: str | Path, published: PublishedWeights) -> str:
    """The sha256 of ``path`` when it is the ``published`` file; a DataError saying where to get it
    otherwise (missing, or other bytes: a truncated download, torchvision's Inception weights ...)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist; download {published.url} and give its path")
    digest = file_sha256(path)
    if not digest.startswith(published.sha256_prefix):
        raise DataError(
            f"{path} is not {published.filename} (its sha256 starts {digest[:8]}, the published file's "
            f"{published.sha256_prefix}); download {published.url} and give its path"
        )
    return digest


class StandardInceptionFeatures(nn.Module):
    """torch-fidelity's FeatureExtractorInceptionV3 (the TF-ported network, its TF1-compatible bilinear
    resize to 299x299 and its (x - 128) / 128 input scaling, which published numbers depend on):
    uint8 RGB (N, 3, H, W) at the image's own size -> pool features (N, 2048), in float32."""

    amp = False  # float32 always: the published numbers were computed so

    @staticmethod
    def prepare(image: np.ndarray) -> torch.Tensor:
        """RGB uint8 (H, W, 3) -> uint8 (3, H, W), unresized: the network resizes as TensorFlow did."""
        return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)

    def __init__(self, extractor: nn.Module, provenance: dict):
        super().__init__()
        self.extractor = extractor
        self.provenance = provenance

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.extractor(x)[0]


def load_standard_inception(weights_file: str | Path, published: PublishedWeights) -> StandardInceptionFeatures:
    """torch-fidelity's network holding ``weights_file``, refused unless it is the ``published`` file."""
    try:
        digest = check_published_weights(weights_file, published)
    except DataError as err:
        raise DataError(f"--weights-file {err}") from None
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    except ImportError as err:
        raise DataError(
            f"the standard Inception network is torch-fidelity's ({err}); install the metrics extra: "
            f"pip install 'sggan-benchmark[metrics]'"
        ) from None
    # the file is the published one (checked above), so torch-fidelity's own torch.load may read it
    extractor = FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048"], feature_extractor_weights_path=str(weights_file)
    )
    provenance = {
        "weights": "tf-inception",
        "network": "TF inception-2015-12-05 (torch-fidelity FeatureExtractorInceptionV3, 2048-d pool)",
        "weights_file": Path(weights_file).name,
        "weights_sha256": digest,
        "weights_url": published.url,
        "comparable_with_literature": True,
    }
    return StandardInceptionFeatures(extractor, provenance)


WEIGHTS = ("tf-inception", "imagenet", "random")


def load_inception(
    weights: str = "imagenet", weights_file: str | Path | None = None, seed: int = 0
) -> InceptionFeatures | StandardInceptionFeatures:
    """The feature extractor, in eval mode on the CPU: ``weights`` is ``tf-inception`` (the standard
    FID/KID network, from the local file ``weights_file``), ``imagenet`` (torchvision's, or the
    local copy ``weights_file``) or ``random`` (seeded by ``seed``)."""
    if weights == "tf-inception":
        if weights_file is None:
            raise DataError(f"--weights tf-inception needs --weights-file PATH, a copy of {TF_INCEPTION.url}")
        return load_standard_inception(weights_file, TF_INCEPTION)
    not_comparable = {"comparable_with_literature": False}
    if weights_file is not None:
        if weights == "random":
            raise ValueError("--weights random and --weights-file exclude each other")
        inception = inception_from_state(load_state_file(weights_file), str(weights_file))
        return InceptionFeatures(
            inception,
            {"weights": "imagenet", "network": "torchvision inception_v3", "weights_file": Path(weights_file).name}
            | {"weights_sha256": file_sha256(weights_file), "weights_url": weights_url()}
            | not_comparable,
        )
    if weights == "imagenet":
        return InceptionFeatures(
            inception_from_state(load_imagenet_state(), weights_url()),
            {"weights": "imagenet", "network": "torchvision inception_v3", "weights_url": weights_url()}
            | not_comparable,
        )
    if weights == "random":
        return InceptionFeatures(
            random_inception(seed),
            {"weights": "random", "network": f"torchvision inception_v3, random weights of seed {seed}"}
            | not_comparable,
        )
    raise ValueError(f"unknown weights {weights!r}; expected one of {', '.join(WEIGHTS)}")


# ---------------------------------------------------------------------------------------------
# Features of image files


def resize_for_inception(image: np.ndarray) -> torch.Tensor:
    """RGB uint8 (H, W, 3) -> float (3, 299, 299) in [0, 1], bilinear with antialiasing."""
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).unsqueeze(0).float().div_(255)
    if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
        x = F.interpolate(
            x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False, antialias=True
        ).clamp_(0, 1)
    return x[0]


class _Images(Dataset):
    def __init__(self, paths: list[Path], prepare):
        self.paths = paths
        self.prepare = prepare

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.prepare(read_image(self.paths[index]))


def same_shape_runs(images: list[torch.Tensor]) -> list[torch.Tensor]:
    """Consecutive images of one shape stacked into a batch each, in order (the standard network
    takes images at their own size, and a set may mix sizes)."""
    runs = []
    for image in images:
        if runs and runs[-1][-1].shape == image.shape:
            runs[-1].append(image)
        else:
            runs.append([image])
    return [torch.stack(run) for run in runs]


@torch.inference_mode()
def extract_features(
    net: InceptionFeatures | StandardInceptionFeatures,
    paths: list[Path],
    device: torch.device,
    batch_size: int = 32,
    workers: int = 0,
    amp: bool = True,
    progress: bool = True,
    desc: str = "features",
) -> np.ndarray:
    """Pool features (len(paths), 2048) float64 of the images, in order."""
    amp = amp and net.amp and device.type == "cuda"
    net = net.to(device).eval()
    if amp:
        net = net.to(memory_format=torch.channels_last)
    loader = DataLoader(
        _Images(paths, net.prepare),
        batch_size=batch_size,
        num_workers=workers,
        collate_fn=same_shape_runs,
        pin_memory=device.type == "cuda",
    )
    features = []
    with tqdm(total=len(paths), desc=desc, unit="image", disable=not progress, file=sys.stderr) as bar:
        for batches in loader:
            for batch in batches:
                x = batch.to(device, non_blocking=True)
                if amp:
                    x = x.contiguous(memory_format=torch.channels_last)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                    out = net(x)
                features.append(out.float().cpu().numpy())
                bar.update(len(batch))
    if not features:
        return np.zeros((0, FEATURE_DIM))
    return np.concatenate(features).astype(np.float64)


# ---------------------------------------------------------------------------------------------
# The command


def adapted_paths(frames: list[Frame], adapted_dir: Path) -> list[Path]:
    return [Path(adapted_dir) / f"{frame.id}.png" for frame in frames]


def require_files(paths: list[Path], what: str) -> None:
    """A DataError naming every missing file (the first few) and ``what`` should have made them."""
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        shown = ", ".join(missing[:_LISTED])
        more = f" ... and {len(missing) - _LISTED} more" if len(missing) > _LISTED else ""
        raise DataError(f"{len(missing)} of {len(paths)} {what}: {shown}{more}")


def require_count(paths: list[Path], frame_list: Path) -> None:
    if len(paths) < 2:
        raise DataError(f"KID needs at least 2 images per set; {frame_list} lists {len(paths)}")


def target_features(
    target_frames: Path,
    net: InceptionFeatures | StandardInceptionFeatures,
    device: torch.device,
    batch_size: int = 32,
    workers: int = 0,
    amp: bool = True,
    progress: bool = True,
) -> np.ndarray:
    """Features of the images of ``target_frames``: the side every translator is compared with."""
    target = [frame.image for frame in read_frame_list(target_frames)]
    require_count(target, target_frames)
    require_files(
        target,
        f"target images listed in {target_frames} do not exist (the list is written by "
        f"python -m sggan.data.splits from the data check; rerun the data stage)",
    )
    return extract_features(net, target, device, batch_size, workers, amp, progress, desc="target")


def write_target_features(path: Path, features: np.ndarray, target_frames: Path, provenance: dict) -> None:
    """The target side of every translator's KID and FID, computed once (``--features-out``)."""

    def write(tmp):
        with open(tmp, "wb") as f:  # a file object: savez would append .npz to a name
            record = json.dumps({"target_frames": str(target_frames)} | provenance, sort_keys=True)
            np.savez(f, features=features, record=np.array(record))

    atomic_write(path, write)


def read_target_features(path: Path, provenance: dict) -> np.ndarray:
    """Features of ``--features-out``, refused unless made by the network given now."""
    try:
        with np.load(path) as data:
            features, record = data["features"], json.loads(str(data["record"]))
    except FileNotFoundError:
        raise DataError(f"--target-features {path} does not exist; write it with --features-out") from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
        raise DataError(f"--target-features {path} is not a file of python -m eval.kid --features-out ({err})") from err
    made_by = {k: v for k, v in record.items() if k != "target_frames"}
    if made_by != provenance:
        differences = "; ".join(
            f"{key}: {made_by.get(key)} there, {provenance.get(key)} now"
            for key in sorted(made_by.keys() | provenance.keys())
            if made_by.get(key) != provenance.get(key)
        )
        raise DataError(
            f"--target-features {path} holds features of another network ({differences}); "
            "write it again with the same --weights, --weights-file and --seed"
        )
    return features


def adapted_images(source_frames: Path, adapted_dir: Path) -> list[Path]:
    """The adapted image of every frame of ``source_frames``, or a DataError naming those missing."""
    adapted = adapted_paths(read_frame_list(source_frames), adapted_dir)
    require_count(adapted, source_frames)
    require_files(
        adapted,
        f"adapted images of {source_frames} are missing from {adapted_dir} (written by "
        f"python -m sggan.adapt and python -m sggan.gather; rerun the adaptation)",
    )
    return adapted


def measure(
    adapted: list[Path],
    feats_target: np.ndarray,
    net: InceptionFeatures | StandardInceptionFeatures,
    device: torch.device,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
    batch_size: int = 32,
    workers: int = 0,
    amp: bool = True,
    progress: bool = True,
) -> dict:
    """KID and FID between the ``adapted`` images (:func:`adapted_images`) and the target images' features."""
    feats_adapted = extract_features(net, adapted, device, batch_size, workers, amp, progress, desc="adapted")
    mean, std = kid(feats_adapted, feats_target, subsets, subset_size, seed)
    return {
        "kid": mean,
        "kid_std": std,
        "fid": fid(feats_adapted, feats_target),
        "num_adapted": len(adapted),
        "num_target": len(feats_target),
        "subsets": subsets,
        "subset_size": effective_subset_size(len(adapted), len(feats_target), subset_size),
        "subset_size_requested": subset_size,
        "seed": seed,
    } | net.provenance


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eval.kid", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source-frames", type=Path, help="frame list (TSV) of the adapted frames")
    parser.add_argument("--adapted-dir", type=Path, help="folder of {id}.png adapted frames")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--target-frames", type=Path, help="frame list (TSV) of real target images")
    target.add_argument(
        "--target-features", type=Path, help="their features, written once by --target-frames ... --features-out"
    )
    parser.add_argument(
        "--features-out",
        type=Path,
        help="only write the features of --target-frames here (for --target-features), no KID",
    )
    parser.add_argument(
        "--weights",
        choices=WEIGHTS,
        default=None,
        help="Inception network: the standard TF-ported one of published FID/KID (needs --weights-file), "
        "torchvision's ImageNet one (default) or seeded random weights (comparable within one seed only)",
    )
    parser.add_argument(
        "--weights-file",
        type=Path,
        default=None,
        help=f"tf-inception: a copy of {TF_INCEPTION.url} (sha256-checked); imagenet: a local copy of "
        f"{weights_url()} (for machines without network)",
    )
    parser.add_argument("--seed", type=int, default=0, help="subset sampling, and the random weights")
    parser.add_argument("--subsets", type=int, default=100)
    parser.add_argument("--subset-size", type=int, default=1000, help="clipped to the smaller set")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-amp", dest="amp", action="store_false", help="full fp32 on CUDA (bf16 otherwise)")
    parser.add_argument("--out", type=Path, help="JSON file to write")
    args = parser.parse_args(argv)
    if args.weights == "random" and args.weights_file is not None:
        parser.error("--weights random and --weights-file exclude each other")
    if args.features_out is not None:
        if args.target_frames is None or any(a is not None for a in (args.source_frames, args.adapted_dir, args.out)):
            parser.error("--features-out takes --target-frames and the network, without the adapted frames or --out")
    elif None in (args.source_frames, args.adapted_dir, args.out):
        parser.error("the arguments --source-frames, --adapted-dir and --out are required")
    weights = args.weights or "imagenet"

    device = resolve_device(args.device)
    net = load_inception(weights, args.weights_file, args.seed)
    adapted = adapted_images(args.source_frames, args.adapted_dir) if args.features_out is None else []
    if args.target_features is not None:
        feats_target = read_target_features(args.target_features, net.provenance)
    else:
        feats_target = target_features(args.target_frames, net, device, args.batch_size, args.workers, args.amp)
    if args.features_out is not None:
        write_target_features(args.features_out, feats_target, args.target_frames, net.provenance)
        print(f"features of {len(feats_target)} target images -> {args.features_out}", file=sys.stderr)
        return 0
    record = measure(
        adapted,
        feats_target,
        net,
        device,
        args.subsets,
        args.subset_size,
        args.seed,
        args.batch_size,
        args.workers,
        args.amp,
    )
    atomic_write_text(args.out, json.dumps(record, indent=2) + "\n")
    if record["subset_size"] < record["subset_size_requested"]:
        print(
            f"note: KID subset size {record['subset_size_requested']} capped to {record['subset_size']}, "
            f"the smaller set's size",
            file=sys.stderr,
        )
    print(
        f"KID {record['kid']:.5f} +- {record['kid_std']:.5f}, FID {record['fid']:.3f} between "
        f"{record['num_adapted']} adapted and {record['num_target']} target images ({record['network']}) -> {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    run(main)
