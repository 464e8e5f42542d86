"""Kernel Inception Distance (KID) between adapted source frames and real target images.

    python -m eval.kid --source-frames results/splits/heldout_source.tsv \
        --adapted-dir results/adapted/NAME/images --target-frames results/splits/heldout_target.tsv \
        --weights imagenet|random [--weights-file PATH] [--seed 0] [--subsets 100] [--subset-size 1000] \
        [--batch-size 32] [--workers 0] [--device auto] [--no-amp] --out results/quality/NAME/kid.json

How real the adapted frames look, independently of the segmentation network: the smaller the KID
between the adapted frames and the target's images, the closer their distributions of Inception
features. KID (Binkowski et al., *Demystifying MMD GANs*, ICLR 2018) is the squared maximum mean
discrepancy between the two sets of 2048-d pool features under the cubic polynomial kernel
k(x, y) = (x.y / d + 1)^3, estimated without bias and averaged over random subsets; unlike FID it
is unbiased for small sets, so translators evaluated on a few hundred frames still compare
fairly. It can come out slightly negative when the two distributions are the same.

The adapted image of a source frame is ``{adapted-dir}/{id}.png`` (written by ``python -m
sggan.adapt`` and ``python -m sggan.gather``); the real images are the ``image`` column of the
target frame list. Every image is resized whole to 299x299 (bilinear, antialiased; squashed rather
than cropped, so the whole frame counts, as in FID/KID practice) and normalised as torchvision's
Inception weights expect.

Writes ``{"kid", "kid_std", "num_adapted", "num_target", "subsets", "subset_size", "weights",
"seed"}`` atomically to ``--out``: the raw KID (not x100), the standard deviation over subsets,
and the subset size actually used (``--subset-size`` clipped to the smaller set).

Weights (``--weights``):

* ``imagenet``: torchvision's ``Inception_V3_Weights.IMAGENET1K_V1``, fetched and cached by
  torchvision (``torch.hub.get_dir()/checkpoints/inception_v3_google-0cc3c7bd.pth``). On a machine
  without network, copy that file there or pass it with ``--weights-file PATH``.
* ``random``: a seeded random initialisation, for the tests and the offline toy world. Its KIDs
  are ONLY COMPARABLE WITHIN ONE SEED (the same ``--seed`` for every method being compared),
  never with KIDs from other seeds, from ImageNet weights, or with published numbers.

Even with ImageNet weights the numbers are not those of published FID/KID tables: those use the
TensorFlow Inception graph ``inception-2015-12-05`` (ported to PyTorch as ``pt_inception-2015-12-05``
by pytorch-fid and torch-fidelity), whose weights and resizing differ from torchvision's. The values
rank translators within this benchmark; they are not comparable with papers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.parse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from sggan.cli import run
from sggan.data.io import DataError, Frame, atomic_write_text, read_frame_list, read_image
from sggan.device import resolve_device

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


def kid(feats_x, feats_y, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID of two feature sets (n, d): mean and standard deviation of the unbiased MMD^2 over
    ``subsets`` subsets of ``subset_size`` from each set, drawn without replacement within a subset.

    ``subset_size`` is clipped to the smaller set; a ValueError if that leaves fewer than 2. A set
    against itself comes out slightly below zero, not at it: its two subsets share samples, which
    the estimator takes to be independent draws.
    """
    x = np.asarray(feats_x, dtype=np.float64)
    y = np.asarray(feats_y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"expected two feature matrices (n, d) of the same d, got {x.shape} and {y.shape}")
    if subsets < 1:
        raise ValueError(f"subsets must be at least 1, got {subsets}")
    size = effective_subset_size(len(x), len(y), subset_size)
    rng = np.random.default_rng(seed)
    values = np.empty(subsets)
    for s in range(subsets):
        xs = x[rng.choice(len(x), size, replace=False)]
        ys = y[rng.choice(len(y), size, replace=False)]
        values[s] = mmd2_unbiased(xs, ys)
    return float(values.mean()), float(values.std())


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
    """RGB in [0, 1] at 299x299 (N, 3, 299, 299) -> Inception v3 pool features (N, 2048)."""

    def __init__(self, inception: nn.Module):
        super().__init__()
        inception.fc = nn.Identity()  # the pool features are the input of the classifier
        inception.aux_logits, inception.AuxLogits = False, None  # used in training mode only
        self.inception = inception.eval()
        mean, std = imagenet_normalisation()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # ImageNet normalisation here, then the model's transform_input turns it into (x - 0.5) / 0.5
        return self.inception((x - self.mean) / self.std)


def load_inception(
    weights: str = "imagenet", weights_file: str | Path | None = None, seed: int = 0
) -> InceptionFeatures:
    """The feature extractor, in eval mode on the CPU: ``weights`` is ``imagenet`` (torchvision's,
    or the local copy ``weights_file``) or ``random`` (seeded by ``seed``)."""
    if weights_file is not None:
        if weights == "random":
            raise ValueError("--weights random and --weights-file exclude each other")
        return InceptionFeatures(inception_from_state(load_state_file(weights_file), str(weights_file)))
    if weights == "imagenet":
        return InceptionFeatures(inception_from_state(load_imagenet_state(), weights_url()))
    if weights == "random":
        return InceptionFeatures(random_inception(seed))
    raise ValueError(f"unknown weights {weights!r}; expected 'imagenet' or 'random'")


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
    def __init__(self, paths: list[Path]):
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        return resize_for_inception(read_image(self.paths[index]))


@torch.inference_mode()
def extract_features(
    net: InceptionFeatures,
    paths: list[Path],
    device: torch.device,
    batch_size: int = 32,
    workers: int = 0,
    amp: bool = True,
    progress: bool = True,
    desc: str = "features",
) -> np.ndarray:
    """Pool features (len(paths), 2048) float64 of the images, in order."""
    amp = amp and device.type == "cuda"
    net = net.to(device).eval()
    if amp:
        net = net.to(memory_format=torch.channels_last)
    loader = DataLoader(_Images(paths), batch_size=batch_size, num_workers=workers, pin_memory=device.type == "cuda")
    features = []
    with tqdm(total=len(paths), desc=desc, unit="image", disable=not progress, file=sys.stderr) as bar:
        for batch in loader:
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


def measure(
    source_frames: Path,
    adapted_dir: Path,
    target_frames: Path,
    net: InceptionFeatures,
    device: torch.device,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
    batch_size: int = 32,
    workers: int = 0,
    amp: bool = True,
    progress: bool = True,
) -> dict:
    """KID between the adapted frames of ``source_frames`` and the images of ``target_frames``."""
    adapted = adapted_paths(read_frame_list(source_frames), adapted_dir)
    target = [frame.image for frame in read_frame_list(target_frames)]
    require_count(adapted, source_frames)
    require_count(target, target_frames)
    require_files(
        adapted,
        f"adapted images of {source_frames} are missing from {adapted_dir} (written by "
        f"python -m sggan.adapt and python -m sggan.gather; rerun the adaptation)",
    )
    require_files(
        target,
        f"target images listed in {target_frames} do not exist (the list is written by "
        f"python -m sggan.data.splits from the data check; rerun the data stage)",
    )
    feats_adapted = extract_features(net, adapted, device, batch_size, workers, amp, progress, desc="adapted")
    feats_target = extract_features(net, target, device, batch_size, workers, amp, progress, desc="target")
    mean, std = kid(feats_adapted, feats_target, subsets, subset_size, seed)
    return {
        "kid": mean,
        "kid_std": std,
        "num_adapted": len(adapted),
        "num_target": len(target),
        "subsets": subsets,
        "subset_size": effective_subset_size(len(adapted), len(target), subset_size),
        "seed": seed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eval.kid", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source-frames", type=Path, required=True, help="frame list (TSV) of the adapted frames")
    parser.add_argument("--adapted-dir", type=Path, required=True, help="folder of {id}.png adapted frames")
    parser.add_argument("--target-frames", type=Path, required=True, help="frame list (TSV) of real target images")
    parser.add_argument(
        "--weights",
        choices=("imagenet", "random"),
        default=None,
        help="Inception weights: torchvision's ImageNet ones (default) or seeded random ones "
        "(comparable within one seed only)",
    )
    parser.add_argument(
        "--weights-file", type=Path, default=None, help=f"local copy of {weights_url()} (for machines without network)"
    )
    parser.add_argument("--seed", type=int, default=0, help="subset sampling, and the random weights")
    parser.add_argument("--subsets", type=int, default=100)
    parser.add_argument("--subset-size", type=int, default=1000, help="clipped to the smaller set")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-amp", dest="amp", action="store_false", help="full fp32 on CUDA (bf16 otherwise)")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    args = parser.parse_args(argv)
    if args.weights == "random" and args.weights_file is not None:
        parser.error("--weights random and --weights-file exclude each other")
    weights = args.weights or "imagenet"

    device = resolve_device(args.device)
    net = load_inception(weights, args.weights_file, args.seed)
    record = measure(
        args.source_frames,
        args.adapted_dir,
        args.target_frames,
        net,
        device,
        args.subsets,
        args.subset_size,
        args.seed,
        args.batch_size,
        args.workers,
        args.amp,
    )
    record["weights"] = str(args.weights_file) if args.weights_file is not None else weights
    atomic_write_text(args.out, json.dumps(record, indent=2) + "\n")
    print(
        f"KID {record['kid']:.5f} +- {record['kid_std']:.5f} between {record['num_adapted']} adapted "
        f"and {record['num_target']} target images ({record['weights']} weights) -> {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    run(main)
