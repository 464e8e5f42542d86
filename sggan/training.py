"""The unpaired GAN translators' training: SG-GAN's and the baselines' (CycleGAN, DualGAN, SimGAN,
BiGAN).

- :class:`UnpairedCrops`: iteration i of an epoch pairs source[order_a[i]] with target[order_b[i]]
  and yields (image, label, group mask) for both, cropped and flipped by an RNG seeded with
  (seed, epoch, i), so the data do not depend on loader state and a resumed run sees the same
  crops.
- :class:`HistoryPool`: Shrivastava et al.'s history of generated images, each kept with its
  companions (SG-GAN: the group mask it is judged with).
- :class:`GANTranslator`: the contract each GAN fulfils (build its networks, hook the epoch, one
  step on a batch, its generator's weights), and :func:`train_gan`, the resumable epoch loop
  that drives it, configured by a :class:`TrainingConfig`; checkpoints and the loss log go
  through :mod:`sggan.runs`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import random
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import cv2
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from sggan import runs, version
from sggan.adaptation import nearest_multiple
from sggan.data.io import DataError, Frame, read_image, read_label, write_image
from sggan.data.labels import boundary_band, group_lut
from sggan.losses import boundary_mask
from sggan.progress import tqdm
from sggan.translators.base import Translator

# SG-GAN's boundary maps (UnpairedCrops): the original code's, and label-id differences
BOUNDARIES = ("colour", "label_ids")

# --------------------------------------------------------------------------------- data


def epoch_order(count: int, seed: int, epoch: int, stream: int) -> list[int]:
    """The shuffled order of one frame list in one epoch (stream tells the lists apart)."""
    return np.random.default_rng([seed, epoch, stream]).permutation(count).tolist()


def resize_frame(image: np.ndarray, label: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Resize an image and its label map together to (H, W); the image first to its label's size.

    Images are area-averaged when shrunk (the original's PIL bilinear resize also averages) and
    bilinear when enlarged; labels are nearest (pixel centres).
    """
    if image.shape[:2] != label.shape:
        image = cv2.resize(image, (label.shape[1], label.shape[0]), interpolation=cv2.INTER_LINEAR)
    height, width = size
    if image.shape[:2] != (height, width):
        shrink = height * width < image.shape[0] * image.shape[1]
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        label = cv2.resize(label, (width, height), interpolation=cv2.INTER_NEAREST_EXACT)
    return image, label


def one_hot_groups(label: np.ndarray, lut: np.ndarray, num_groups: int, stride: int) -> np.ndarray:
    """Label ids (H, W) -> one-hot group mask (G, ceil(H/stride), ceil(W/stride)), nearest."""
    groups = lut[label]
    height, width = math.ceil(label.shape[0] / stride), math.ceil(label.shape[1] / stride)
    small = cv2.resize(groups, (width, height), interpolation=cv2.INTER_NEAREST_EXACT)
    return np.eye(num_groups, dtype=np.float32)[small].transpose(2, 0, 1)


class UnpairedCrops(Dataset):
    """Crops of two unpaired frame lists: item i = (image, boundary, mask) of source and of target.

    Images are (3, h, w) float in [-1, 1]; boundaries SG-GAN's semantic-boundary map B of the
    crop, (1, h, w) float 0/1, or an empty tensor when ``boundary`` is None (a translator that
    does not use it); masks one-hot groups at 1/``mask_stride`` of the crop. Call
    :meth:`set_epoch` before iterating an epoch.

    ``boundary``: "colour", B as the original code builds it (sggan.data.labels.boundary_band),
    from the full-resolution label at the load size, then cropped and flipped with the frame;
    "label_ids", central differences of the crop's label ids (resized nearest), reflect-padded
    at the crop's border.
    """

    def __init__(
        self,
        source: Sequence[Frame],
        target: Sequence[Frame],
        load_size: tuple[int, int],
        crop_size: tuple[int, int],
        flip: bool,
        group_lut: np.ndarray,
        num_groups: int,
        seed: int,
        mask_stride: int = 8,
        boundary: str | None = None,
    ):
        if crop_size[0] > load_size[0] or crop_size[1] > load_size[1]:
            raise ValueError(f"crop size {crop_size} is larger than the load size {load_size}")
        if boundary not in (None, *BOUNDARIES):
            raise ValueError(f"unknown boundary {boundary!r}; use one of {BOUNDARIES}")
        self.source, self.target = list(source), list(target)
        self.load_size, self.crop_size = tuple(load_size), tuple(crop_size)
        self.flip = flip
        self.group_lut, self.num_groups, self.mask_stride = group_lut, num_groups, mask_stride
        self.seed = seed
        self.boundary = boundary
        self.set_epoch(0, list(range(len(self.source))), list(range(len(self.target))))

    def set_epoch(self, epoch: int, order_a: list[int], order_b: list[int]) -> None:
        self.epoch, self.order_a, self.order_b = epoch, list(order_a), list(order_b)

    def __len__(self) -> int:
        return min(len(self.order_a), len(self.order_b))

    def __getitem__(self, index: int):
        rng = np.random.default_rng([self.seed, self.epoch, index])
        # one coin flips both images, as in the original code
        flip = self.flip and rng.random() < 0.5
        a = self._crop(self.source[self.order_a[index]], rng, flip)
        b = self._crop(self.target[self.order_b[index]], rng, flip)
        return a + b

    def _crop(self, frame: Frame, rng: np.random.Generator, flip: bool):
        full_label = read_label(frame.label)
        image, label = resize_frame(read_image(frame.image), full_label, self.load_size)
        band = boundary_band(full_label, self.load_size) if self.boundary == "colour" else None
        (load_h, load_w), (crop_h, crop_w) = self.load_size, self.crop_size
        top, left = int(rng.integers(0, load_h - crop_h + 1)), int(rng.integers(0, load_w - crop_w + 1))
        window = (slice(top, top + crop_h), slice(left, left + crop_w))
        image, label = image[window], label[window]
        band = band[window] if band is not None else None
        if flip:
            image, label = image[:, ::-1], label[:, ::-1]
            band = band[:, ::-1] if band is not None else None
        label = np.ascontiguousarray(label)
        mask = one_hot_groups(label, self.group_lut, self.num_groups, self.mask_stride)
        image = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div(127.5).sub(1.0)
        if self.boundary == "label_ids":
            boundary = boundary_mask(torch.from_numpy(label.astype(np.int64))[None])[0]
        elif band is not None:
            boundary = torch.from_numpy(np.ascontiguousarray(band))[None].float()
        else:
            boundary = torch.zeros(0)
        return image, boundary, torch.from_numpy(mask)


def epoch_loader(
    dataset: Dataset, start_iteration: int, iterations: int, batch_size: int, workers: int, pin_memory: bool, seed: int
) -> DataLoader:
    """Batches for iterations [start_iteration, iterations) of the epoch, in order.

    The loader gets its own generator: by default a DataLoader draws its worker seed from
    torch's global RNG, which would make a resumed run's dropout masks differ.
    """
    indices = list(range(start_iteration * batch_size, iterations * batch_size))
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=indices,
        num_workers=workers,
        pin_memory=pin_memory,
        drop_last=True,
        generator=torch.Generator().manual_seed(seed),
        prefetch_factor=4 if workers else None,
    )


# --------------------------------------------------------------------------------- history pool


class HistoryPool:
    """History of generated images (Shrivastava et al.) for the discriminator step.

    ``query`` takes a batch of aligned tensors (image, and e.g. its mask); per sample, while the
    pool is filling it is stored and returned; afterwards, with probability 1/2 a random stored
    sample is returned and replaced by the new one, otherwise the new one is returned.
    """

    def __init__(self, size: int, seed: int):
        self.size = size
        self.entries: list[tuple[torch.Tensor, ...]] = []
        self.rng = random.Random(seed)

    def query(self, *batch: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.size <= 0:
            return batch
        chosen = []
        for k in range(batch[0].shape[0]):
            item = tuple(t[k : k + 1].detach().clone() for t in batch)
            if len(self.entries) < self.size:
                self.entries.append(item)
            elif self.rng.random() < 0.5:
                slot = self.rng.randrange(self.size)
                item, self.entries[slot] = self.entries[slot], item
            chosen.append(item)
        return tuple(torch.cat(parts) for parts in zip(*chosen))

    def state_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "entries": [tuple(t.cpu() for t in e) for e in self.entries],
            "rng": self.rng.getstate(),
        }

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        self.size = state["size"]
        self.entries = [tuple(t.to(device) for t in e) for e in state["entries"]]
        self.rng.setstate(state["rng"])


@contextlib.contextmanager
def frozen(nets: Iterable[nn.Module]):
    """The networks' weights get no gradients inside (a discriminator during the generator step)."""
    params = [p for net in nets for p in net.parameters()]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def update(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One optimiser step on ``loss``."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


# --------------------------------------------------------------------------------- logs and samples


def to_rgb_uint8(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [-1, 1] -> (H, W, 3) uint8."""
    return image.detach().float().add(1).mul(127.5).round().clamp(0, 255).byte().permute(1, 2, 0).cpu().numpy()


def sample_grid(rows: Sequence[Sequence[torch.Tensor]]) -> np.ndarray:
    """One RGB picture: each row the given (3, H, W) images side by side, rows stacked (padded black)."""
    strips = [np.concatenate([to_rgb_uint8(image) for image in row], axis=1) for row in rows]
    width = max(s.shape[1] for s in strips)
    strips = [np.pad(s, ((0, 0), (0, width - s.shape[1]), (0, 0))) for s in strips]
    return np.concatenate(strips, axis=0)


# --------------------------------------------------------------------------------- the GAN loop


@dataclasses.dataclass
class TrainingConfig:
    """Loop settings every GAN translator shares (SG-GAN and the baselines); each one's Config
    extends it.

    Frames are resized to load_size (H, W) and randomly cropped to crop_size; an epoch is
    min(|source|, |target|) // batch_size iterations with both lists reshuffled.
    """

    epochs: int = 25
    batch_size: int = 1
    load_size: tuple[int, int] = (256, 512)
    crop_size: tuple[int, int] = (256, 512)
    flip: bool = True
    checkpoint_every: int = 500  # iterations
    sample_every: int = 100  # iterations
    max_iterations_per_epoch: int | None = None
    workers: int = 2  # DataLoader workers
    amp: bool = False  # bf16 autocast on CUDA
    tensorboard: bool = False  # also log losses and sample grids to run_dir/tensorboard (the extra)

    #: Fields that may change when a run resumes; any other change makes the checkpoint stale.
    RESUMABLE_CHANGES: ClassVar[frozenset[str]] = frozenset(
        {"epochs", "checkpoint_every", "sample_every", "workers", "max_iterations_per_epoch", "tensorboard"}
    )

    def crop_multiple(self) -> int:
        """Crop sides must be multiples of this (the generator's size multiple)."""
        return 1

    def __post_init__(self):
        name = type(self).__module__.rsplit(".", 1)[-1]
        multiple = self.crop_multiple()
        if self.crop_size[0] % multiple or self.crop_size[1] % multiple:
            raise ValueError(
                f"{name}: crop_size {list(self.crop_size)} must be a multiple of {multiple} on both "
                "sides for this generator"
            )
        if self.crop_size[0] > self.load_size[0] or self.crop_size[1] > self.load_size[1]:
            raise ValueError(f"{name}: crop_size {list(self.crop_size)} exceeds load_size {list(self.load_size)}")
        for field in ("epochs", "batch_size", "checkpoint_every", "sample_every"):
            if getattr(self, field) < 1:
                raise ValueError(f"{name}: {field} must be at least 1")


def autocast_for(config: TrainingConfig, device: torch.device):
    """bf16 autocast on CUDA when the config asks for it, else a no-op context."""
    if config.amp and device.type == "cuda":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


class UnpairedBatch(NamedTuple):
    """One iteration's data: source (virtual) and target (real) images in [-1, 1], their boundary
    maps B (N, 1, H, W), or (N, 0) for a translator without them, and their one-hot semantic-group
    masks at 1/8 resolution."""

    v: torch.Tensor
    v_boundary: torch.Tensor
    v_mask: torch.Tensor
    r: torch.Tensor
    r_boundary: torch.Tensor
    r_mask: torch.Tensor


class CycleNetworks(nn.Module):
    """The networks of a two-way translator, in one state dict: the generators G: V->R and
    F: R->V, and a discriminator (or critic) per domain: D_R judges real-looking images, D_V
    virtual-looking ones."""

    def __init__(self, g_vr: nn.Module, g_rv: nn.Module, d_r: nn.Module, d_v: nn.Module):
        super().__init__()
        self.g_vr, self.g_rv, self.d_r, self.d_v = g_vr, g_rv, d_r, d_v

    def generators(self) -> list[nn.Module]:
        return [self.g_vr, self.g_rv]

    def discriminators(self) -> list[nn.Module]:
        return [self.d_r, self.d_v]

    def translate_and_cycle(self, v: torch.Tensor, r: torch.Tensor) -> dict[str, torch.Tensor]:
        """v, G(v), F(G(v)) and r, F(r), G(F(r)), by the names the sample grids use."""
        fake_r, fake_v = self.g_vr(v), self.g_rv(r)
        cycled_v, cycled_r = self.g_rv(fake_r), self.g_vr(fake_v)
        return {"v": v, "fake_r": fake_r, "cycled_v": cycled_v, "r": r, "fake_v": fake_v, "cycled_r": cycled_r}


class GANTranslator(Translator):
    """A translator trained by :func:`train_gan`: the contract between one GAN and the loop.

    The loop seeds the RNGs, then calls :meth:`build` (the networks, optimisers and history pools
    become attributes; ``checkpointed`` names those a checkpoint keeps), :meth:`before_epoch` at
    the start of every epoch and :meth:`train_step` on every batch. ``log_fields`` are the loss
    log's columns. generator.pt holds :meth:`generator_state`, the weights of the network
    :meth:`generator_network` builds, which adaptation loads.
    """

    Config: ClassVar[type[TrainingConfig]]
    log_fields: ClassVar[tuple[str, ...]] = ()
    checkpointed: ClassVar[tuple[str, ...]] = ()

    def build(self, device: torch.device, seed: int) -> None:
        raise NotImplementedError

    def before_epoch(self, epoch: int) -> dict[str, float]:
        """Per-epoch settings (a learning rate, SG-GAN's alpha and beta), logged with every row."""
        return {}

    def train_step(self, batch: UnpairedBatch, step: int) -> tuple[dict, dict]:
        """One iteration on a batch on the device (``step`` counts from 0 over the whole run) ->
        (losses, images). A loss missing from the dict (not computed at this step) is logged empty."""
        raise NotImplementedError

    def sample_rows(self, images: dict) -> list[list[torch.Tensor]]:
        """Rows of a sample grid: input | translated | cycled (those this step made), virtual then real."""
        return [
            [images[k][0] for k in ("v", "fake_r", "cycled_v") if k in images],
            [images[k][0] for k in ("r", "fake_v", "cycled_r") if k in images],
        ]

    def generator_network(self) -> nn.Module:
        """A fresh source->target network, as the config shapes it."""
        raise NotImplementedError

    def generator_state(self) -> dict[str, torch.Tensor]:
        """The trained source->target network's weights."""
        raise NotImplementedError

    def grouping(self) -> str:
        """The semantic groups of the batches' masks (see :func:`sggan.data.labels.group_lut`)."""
        return "sggan"

    def boundary(self) -> str | None:
        """The batches' boundary maps (see :class:`UnpairedCrops`); None: this GAN uses none."""
        return None

    def state_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name).state_dict() for name in self.checkpointed}

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        for name in self.checkpointed:
            obj = getattr(self, name)
            if isinstance(obj, HistoryPool):
                obj.load_state_dict(state[name], device)
            else:
                obj.load_state_dict(state[name])

    def size_multiple(self) -> int:
        return self.config.crop_multiple()

    def default_working_size(self) -> tuple[int, int]:
        """The training load size, rounded to the generator's size multiple: the scale it learned."""
        return tuple(nearest_multiple(side, self.size_multiple()) for side in self.config.load_size)

    def train(self, source: list[Frame], target: list[Frame], run_dir: Path, device: torch.device, seed: int) -> None:
        train_gan(self, source, target, run_dir, device, seed)

    def run_settings(self) -> dict[str, Any]:
        """What a run folder's files must agree on with this translator: the model and every
        parameter but those a resumed run may change (``RESUMABLE_CHANGES``)."""
        config = self.config
        return {
            "model": self.name,
            **{key: value for key, value in dataclasses.asdict(config).items() if key not in config.RESUMABLE_CHANGES},
        }

    def generator(self, run_dir: Path | None, device: torch.device) -> nn.Module:
        saved = load_generator_file(run_dir, self.name)
        changed = runs.differences(saved["run"], self.run_settings())
        if changed:
            raise runs.RunFolderError(
                f"{Path(run_dir) / 'generator.pt'} was trained with other settings "
                f"({'; '.join(changed)}); use the settings it was trained with, or retrain it"
            )
        net = self.generator_network()
        net.load_state_dict(saved["state_dict"])
        return net.to(device).eval()


def train_gan(
    translator: GANTranslator,
    source: Sequence[Frame],
    target: Sequence[Frame],
    run_dir: Path,
    device: torch.device,
    seed: int,
) -> None:
    """Train to ``run_dir/generator.pt``, resuming from ``run_dir/checkpoint.pt`` when present.

    A resumed run equals an uninterrupted one: the crops are seeded per item, the shuffles per
    epoch, and the checkpoint holds every state and the RNGs.
    """
    name, config = translator.name, translator.config
    # what the run folder's files must agree on: the settings that shape the result, the seed, the data
    run = {**translator.run_settings(), "seed": seed, "frames": [len(source), len(target)]}
    # recorded beside the run, never compared: a resume after a code update is allowed
    code = version.code_version()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if (run_dir / "generator.pt").exists():
        changed = runs.differences(load_generator_file(run_dir, name)["run"], run)
        if changed:
            raise runs.RunFolderError(
                f"{run_dir / 'generator.pt'} was trained with other settings "
                f"({'; '.join(changed)}); delete {run_dir} to train anew, or choose "
                "another run folder"
            )
        print(f"{name}: {run_dir / 'generator.pt'} exists, training is complete", file=sys.stderr)
        return
    iterations = min(len(source), len(target)) // config.batch_size
    if config.max_iterations_per_epoch:
        iterations = min(iterations, config.max_iterations_per_epoch)
    if iterations < 1:
        raise DataError(
            f"{name}: {len(source)} source and {len(target)} target frames are fewer than one "
            f"batch of {config.batch_size}"
        )

    runs.seed_everything(seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed crop size: let cuDNN pick the fastest kernels
    translator.build(device, seed)
    progress = {
        "epoch": 0,
        "iteration": 0,
        "step": 0,
        "seconds": 0.0,
        "order_v": epoch_order(len(source), seed, 0, 0),
        "order_r": epoch_order(len(target), seed, 0, 1),
    }

    checkpoint_path = run_dir / "checkpoint.pt"
    resumed = checkpoint_path.exists()
    if resumed:
        checkpoint = runs.load_checkpoint(checkpoint_path)
        runs.check_resumable(checkpoint_path, checkpoint["run"], run)
        translator.load_state_dict(checkpoint["state"], device)
        progress = checkpoint["progress"]
        runs.restore_rng(checkpoint["rng"])
        print(
            f"{name}: resuming {run_dir} at epoch {progress['epoch'] + 1}, iteration {progress['iteration']}",
            file=sys.stderr,
        )

    def save_checkpoint() -> None:
        runs.atomic_save(
            {
                "run": run,
                "code_version": code,
                "progress": progress,
                "state": translator.state_dict(),
                "rng": runs.capture_rng(),
            },
            checkpoint_path,
        )

    lut, group_names = group_lut(translator.grouping())
    dataset = UnpairedCrops(
        source,
        target,
        config.load_size,
        config.crop_size,
        config.flip,
        lut,
        len(group_names),
        seed,
        boundary=translator.boundary(),
    )
    log = runs.ResumableLog(
        run_dir / "loss_log.csv",
        ["epoch", "iteration", "step", *translator.log_fields, "seconds"],
        "step",
        progress["step"],
        tensorboard=run_dir / "tensorboard" if config.tensorboard else None,
        scalars=translator.log_fields,
    )
    for obj in vars(translator).values():
        if isinstance(obj, nn.Module):
            obj.train()
    try:
        while progress["epoch"] < config.epochs:
            epoch = progress["epoch"]
            settings = translator.before_epoch(epoch)
            dataset.set_epoch(epoch, progress["order_v"], progress["order_r"])
            loader = epoch_loader(
                dataset,
                progress["iteration"],
                iterations,
                config.batch_size,
                config.workers,
                device.type == "cuda",
                seed,
            )
            bar = tqdm(
                loader,
                initial=progress["iteration"],
                total=iterations,
                file=sys.stderr,
                desc=f"{name} epoch {epoch + 1}/{config.epochs}",
                unit="it",
            )
            last = time.perf_counter()
            for batch in bar:
                batch = UnpairedBatch(*(t.to(device, non_blocking=True) for t in batch))
                losses, images = translator.train_step(batch, progress["step"])
                values = scalars(losses)
                now = time.perf_counter()
                progress["iteration"] += 1
                progress["step"] += 1
                progress["seconds"] += now - last
                last = now
                log.write(
                    {
                        "epoch": epoch,
                        "iteration": progress["iteration"],
                        "step": progress["step"],
                        **settings,
                        **values,
                        "seconds": round(progress["seconds"], 3),
                    }
                )
                shown = [(k, x) for k, x in values.items() if isinstance(x, float)][:3]
                bar.set_postfix({k: f"{x:.3f}" for k, x in shown}, refresh=False)
                if progress["step"] % config.sample_every == 0:
                    grid = sample_grid(translator.sample_rows(images))
                    write_image(run_dir / "samples" / f"step{progress['step']:07d}.png", grid)
                    log.image("samples", grid, progress["step"])
                if progress["step"] % config.checkpoint_every == 0 and progress["iteration"] < iterations:
                    save_checkpoint()
            bar.close()
            progress.update(
                epoch=epoch + 1,
                iteration=0,
                order_v=epoch_order(len(source), seed, epoch + 1, 0),
                order_r=epoch_order(len(target), seed, epoch + 1, 1),
            )
            save_checkpoint()
    finally:
        log.close()
    runs.atomic_save(
        {
            "run": run,
            "code_version": code,
            "config": dataclasses.asdict(config),
            "state_dict": translator.generator_state(),
        },
        run_dir / "generator.pt",
    )


def scalars(losses: dict[str, torch.Tensor | float]) -> dict[str, float]:
    """Loss tensors -> floats with one device sync for all of them."""
    tensors = {k: v for k, v in losses.items() if isinstance(v, torch.Tensor)}
    values = dict(zip(tensors, torch.stack([t.detach().float() for t in tensors.values()]).tolist())) if tensors else {}
    return {k: values.get(k, v) for k, v in losses.items()}


def adam(nets: Iterable[nn.Module], lr: float, beta1: float) -> torch.optim.Adam:
    """One Adam over several networks, as the reference codes optimise both generators (or both
    discriminators) together."""
    return torch.optim.Adam([p for net in nets for p in net.parameters()], lr=lr, betas=(beta1, 0.999))


def load_generator_file(run_dir: Path | None, name: str) -> dict[str, Any]:
    """The dict a finished run saved as generator.pt: {'run' (its settings, seed and data), 'config',
    'state_dict'}."""
    if run_dir is None:
        raise runs.RunFolderError(f"translator {name!r} needs the run folder it was trained into (--run-dir)")
    path = Path(run_dir) / "generator.pt"
    if not path.is_file():
        raise runs.RunFolderError(f"{path} does not exist: train the {name} translator into {run_dir} first")
    saved = runs.load(path, weights_only=True, fix=f"delete it and train the {name} translator into {run_dir} again")
    if "run" not in saved:
        raise runs.RunFolderError(
            f"{path} does not say what it holds (written by another program or an older "
            f"version); delete it and train the {name} translator into {run_dir} again"
        )
    return saved
