"""Pieces shared by the unpaired GAN translators (SG-GAN and the baselines).

- :class:`UnpairedCrops`: iteration i of an epoch pairs source[order_a[i]] with target[order_b[i]]
  and yields (image, label, group mask) for both, cropped and flipped by an RNG seeded with
  (seed, epoch, i), so the data do not depend on loader state and a resumed run sees the same
  crops.
- :class:`HistoryPool`: Shrivastava et al.'s history of generated images, each kept with its
  companions (SG-GAN: the group mask it is judged with).
- checkpoints (one dict, written atomically) with the RNG states that make a resumed run equal
  an uninterrupted one; sample grids; the CSV loss log.
- :func:`train_gan`: the resumable epoch loop of the baselines (CycleGAN, DualGAN, SimGAN,
  BiGAN), configured by a :class:`TrainingConfig` and driven by the :class:`GANParts` each
  translator builds: its networks, its iteration, its samples.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import math
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, NamedTuple, Sequence

import cv2
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from sggan.progress import tqdm

from sggan.data.io import Frame, read_image, read_label, write_image

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
    """Crops of two unpaired frame lists: item i = (image, label, mask) of source and of target.

    Images are (3, h, w) float in [-1, 1], labels (h, w) int64 label ids, masks one-hot groups at
    1/``mask_stride`` of the crop. Call :meth:`set_epoch` before iterating an epoch.
    """

    def __init__(self, source: Sequence[Frame], target: Sequence[Frame], load_size: tuple[int, int],
                 crop_size: tuple[int, int], flip: bool, group_lut: np.ndarray, num_groups: int,
                 seed: int, mask_stride: int = 8):
        if crop_size[0] > load_size[0] or crop_size[1] > load_size[1]:
            raise ValueError(f"crop size {crop_size} is larger than the load size {load_size}")
        self.source, self.target = list(source), list(target)
        self.load_size, self.crop_size = tuple(load_size), tuple(crop_size)
        self.flip = flip
        self.group_lut, self.num_groups, self.mask_stride = group_lut, num_groups, mask_stride
        self.seed = seed
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
        image, label = resize_frame(read_image(frame.image), read_label(frame.label), self.load_size)
        (load_h, load_w), (crop_h, crop_w) = self.load_size, self.crop_size
        top, left = int(rng.integers(0, load_h - crop_h + 1)), int(rng.integers(0, load_w - crop_w + 1))
        image = image[top:top + crop_h, left:left + crop_w]
        label = label[top:top + crop_h, left:left + crop_w]
        if flip:
            image, label = image[:, ::-1], label[:, ::-1]
        mask = one_hot_groups(np.ascontiguousarray(label), self.group_lut, self.num_groups, self.mask_stride)
        image = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div(127.5).sub(1.0)
        return image, torch.from_numpy(label.astype(np.int64)), torch.from_numpy(mask)


def epoch_loader(dataset: Dataset, start_iteration: int, iterations: int, batch_size: int,
                 workers: int, pin_memory: bool, seed: int) -> DataLoader:
    """Batches for iterations [start_iteration, iterations) of the epoch, in order.

    The loader gets its own generator: by default a DataLoader draws its worker seed from
    torch's global RNG, which would make a resumed run's dropout masks differ.
    """
    indices = list(range(start_iteration * batch_size, iterations * batch_size))
    return DataLoader(dataset, batch_size=batch_size, sampler=indices, num_workers=workers,
                      pin_memory=pin_memory, drop_last=True, generator=torch.Generator().manual_seed(seed),
                      prefetch_factor=4 if workers else None)


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
            item = tuple(t[k:k + 1].detach().clone() for t in batch)
            if len(self.entries) < self.size:
                self.entries.append(item)
            elif self.rng.random() < 0.5:
                slot = self.rng.randrange(self.size)
                item, self.entries[slot] = self.entries[slot], item
            chosen.append(item)
        return tuple(torch.cat(parts) for parts in zip(*chosen))

    def state_dict(self) -> dict[str, Any]:
        return {"size": self.size, "entries": [tuple(t.cpu() for t in e) for e in self.entries],
                "rng": self.rng.getstate()}

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        self.size = state["size"]
        self.entries = [tuple(t.to(device) for t in e) for e in state["entries"]]
        self.rng.setstate(state["rng"])


# --------------------------------------------------------------------------------- checkpoints


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def capture_rng_states() -> dict[str, Any]:
    states = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """torch.save to a temporary file in the same folder, then rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | os.PathLike, device: torch.device) -> dict[str, Any]:
    # weights_only=False: the checkpoint holds RNG states (numpy arrays, tuples) and is written
    # by this code into the run folder, never downloaded.
    return torch.load(path, map_location=device, weights_only=False)


def set_requires_grad(nets: Iterable[nn.Module], flag: bool) -> None:
    for net in nets:
        for p in net.parameters():
            p.requires_grad_(flag)


# --------------------------------------------------------------------------------- logs and samples


def to_rgb_uint8(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [-1, 1] -> (H, W, 3) uint8."""
    return image.detach().float().add(1).mul(127.5).round().clamp(0, 255).byte().permute(1, 2, 0).cpu().numpy()


def write_sample_grid(path: str | os.PathLike, rows: Sequence[Sequence[torch.Tensor]]) -> None:
    """One PNG: each row the given (3, H, W) images side by side, rows stacked (padded black)."""
    strips = [np.concatenate([to_rgb_uint8(image) for image in row], axis=1) for row in rows]
    width = max(s.shape[1] for s in strips)
    strips = [np.pad(s, ((0, 0), (0, width - s.shape[1]), (0, 0))) for s in strips]
    write_image(path, np.concatenate(strips, axis=0))


class LossLog:
    """CSV of per-iteration losses. On resume, rows logged after the checkpoint (by a run that
    was then killed) are dropped, so every step appears once."""

    def __init__(self, path: str | os.PathLike, fields: Sequence[str], resume_step: int | None):
        self.path = Path(path)
        self.fields = list(fields)
        kept = []
        if resume_step is not None and self.path.exists():
            with self.path.open(newline="") as f:
                kept = [row for row in csv.DictReader(f)
                        if row.get("step", "").isdigit() and int(row["step"]) <= resume_step
                        and None not in row.values()]  # a line cut by the kill has missing fields
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", newline="") as f:
            writer = csv.DictWriter(f, self.fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(kept)
        os.replace(tmp, self.path)
        self._file = self.path.open("a", newline="")
        self._writer = csv.DictWriter(self._file, self.fields)

    def write(self, row: dict[str, Any]) -> None:
        self._writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
        self._file.flush()

    def close(self) -> None:
        self._file.close()


# --------------------------------------------------------------------------------- the baselines' loop


@dataclasses.dataclass
class TrainingConfig:
    """Loop settings every GAN baseline shares; each translator's Config extends it.

    Frames are resized to load_size (H, W) and randomly cropped to crop_size; an epoch is
    min(|source|, |target|) // batch_size iterations with both lists reshuffled.
    """
    epochs: int = 25
    batch_size: int = 1
    load_size: tuple[int, int] = (256, 512)
    crop_size: tuple[int, int] = (256, 512)
    flip: bool = True
    checkpoint_every: int = 500              # iterations
    sample_every: int = 100                  # iterations
    max_iterations_per_epoch: int | None = None
    workers: int = 2                         # DataLoader workers
    amp: bool = False                        # bf16 autocast on CUDA

    #: Fields that may change when a run resumes; any other change makes the checkpoint stale.
    RESUMABLE_CHANGES: ClassVar[frozenset[str]] = frozenset(
        {"epochs", "checkpoint_every", "sample_every", "workers", "max_iterations_per_epoch"})

    def crop_multiple(self) -> int:
        """Crop sides must be multiples of this (the generator's size multiple)."""
        return 1

    def __post_init__(self):
        name = type(self).__module__.rsplit(".", 1)[-1]
        multiple = self.crop_multiple()
        if self.crop_size[0] % multiple or self.crop_size[1] % multiple:
            raise ValueError(f"{name}: crop_size {list(self.crop_size)} must be a multiple of {multiple} on both "
                             "sides for this generator")
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
    """One iteration's data: source (virtual) and target (real) images in [-1, 1], their label-id
    maps and their one-hot semantic-group masks at 1/8 resolution."""
    v: torch.Tensor
    v_labels: torch.Tensor
    v_mask: torch.Tensor
    r: torch.Tensor
    r_labels: torch.Tensor
    r_mask: torch.Tensor


@dataclasses.dataclass
class GANParts:
    """What a translator hands the shared loop, built after the seed is set.

    ``state``: every object whose state a checkpoint keeps (networks, optimisers, history
    pools), by name. ``iteration(batch, step)``: one training iteration on an
    :class:`UnpairedBatch` on the device (step counts from 0 over the whole run) -> (losses, images); a loss missing from the
    dict (a term not computed at this step) is logged empty. ``sample_rows(images)``: the rows
    of a sample grid. ``generator()``: the state dict of the finished source->target network.
    ``before_epoch(epoch)``: per-epoch settings (e.g. the learning rate), logged with every row.
    """
    state: dict[str, Any]
    iteration: Callable[[UnpairedBatch, int], tuple[dict, dict]]
    sample_rows: Callable[[dict], list[list[torch.Tensor]]]
    generator: Callable[[], dict[str, torch.Tensor]]
    before_epoch: Callable[[int], dict[str, float]] = lambda epoch: {}


def train_gan(name: str, config: TrainingConfig, source: Sequence[Frame], target: Sequence[Frame],
              run_dir: Path, device: torch.device, seed: int, build: Callable[[], GANParts],
              log_fields: Sequence[str], grouping: str = "sggan") -> None:
    """Train to ``run_dir/generator.pt``, resuming from ``run_dir/checkpoint.pt`` when present.

    A resumed run equals an uninterrupted one: the crops are seeded per item, the shuffles per
    epoch, and the checkpoint holds every state and the RNGs. ``log_fields`` names the columns of
    the loss log between (epoch, iteration, step) and seconds; ``grouping`` the semantic groups of
    the batches' masks (see :func:`sggan.data.labels.group_lut`).
    """
    from sggan.data.labels import group_lut

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if (run_dir / "generator.pt").exists():
        print(f"{name}: {run_dir / 'generator.pt'} exists, training is complete", file=sys.stderr)
        return
    iterations = min(len(source), len(target)) // config.batch_size
    if config.max_iterations_per_epoch:
        iterations = min(iterations, config.max_iterations_per_epoch)
    if iterations < 1:
        raise ValueError(f"{name}: {len(source)} source and {len(target)} target frames are fewer than one "
                         f"batch of {config.batch_size}")

    seed_everything(seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed crop size: let cuDNN pick the fastest kernels
    parts = build()
    state = {"epoch": 0, "iteration": 0, "step": 0, "seconds": 0.0,
             "order_v": epoch_order(len(source), seed, 0, 0), "order_r": epoch_order(len(target), seed, 0, 1)}
    frames = [len(source), len(target)]

    checkpoint_path = run_dir / "checkpoint.pt"
    resumed = checkpoint_path.exists()
    if resumed:
        checkpoint = load_checkpoint(checkpoint_path, device)
        check_resumable(checkpoint, config, seed, frames, checkpoint_path)
        for key, obj in parts.state.items():
            if isinstance(obj, HistoryPool):
                obj.load_state_dict(checkpoint["state"][key], device)
            else:
                obj.load_state_dict(checkpoint["state"][key])
        state = {k: checkpoint[k] for k in state}
        restore_rng_states(checkpoint["rng"])
        print(f"{name}: resuming {run_dir} at epoch {state['epoch'] + 1}, iteration {state['iteration']}",
              file=sys.stderr)

    def save_checkpoint() -> None:
        atomic_torch_save({"state": {k: obj.state_dict() for k, obj in parts.state.items()}, **state,
                           "rng": capture_rng_states(), "config": dataclasses.asdict(config), "seed": seed,
                           "frames": frames}, checkpoint_path)

    lut, group_names = group_lut(grouping)
    dataset = UnpairedCrops(source, target, config.load_size, config.crop_size, config.flip, lut, len(group_names),
                            seed)
    log = LossLog(run_dir / "loss_log.csv", ["epoch", "iteration", "step", *log_fields, "seconds"],
                  resume_step=state["step"] if resumed else None)
    for obj in parts.state.values():
        if isinstance(obj, nn.Module):
            obj.train()
    try:
        while state["epoch"] < config.epochs:
            epoch = state["epoch"]
            settings = parts.before_epoch(epoch)
            dataset.set_epoch(epoch, state["order_v"], state["order_r"])
            loader = epoch_loader(dataset, state["iteration"], iterations, config.batch_size, config.workers,
                                  device.type == "cuda", seed)
            progress = tqdm(loader, initial=state["iteration"], total=iterations, file=sys.stderr,
                            desc=f"{name} epoch {epoch + 1}/{config.epochs}", unit="it")
            last = time.perf_counter()
            for batch in progress:
                batch = UnpairedBatch(*(t.to(device, non_blocking=True) for t in batch))
                losses, images = parts.iteration(batch, state["step"])
                values = scalars(losses)
                now = time.perf_counter()
                state["iteration"] += 1
                state["step"] += 1
                state["seconds"] += now - last
                last = now
                log.write({"epoch": epoch, "iteration": state["iteration"], "step": state["step"], **settings,
                           **values, "seconds": round(state["seconds"], 3)})
                shown = [(k, x) for k, x in values.items() if isinstance(x, float)][:3]
                progress.set_postfix({k: f"{x:.3f}" for k, x in shown}, refresh=False)
                if state["step"] % config.sample_every == 0:
                    write_sample_grid(run_dir / "samples" / f"step{state['step']:07d}.png", parts.sample_rows(images))
                if state["step"] % config.checkpoint_every == 0 and state["iteration"] < iterations:
                    save_checkpoint()
            progress.close()
            state.update(epoch=epoch + 1, iteration=0,
                         order_v=epoch_order(len(source), seed, epoch + 1, 0),
                         order_r=epoch_order(len(target), seed, epoch + 1, 1))
            save_checkpoint()
    finally:
        log.close()
    atomic_torch_save({"state_dict": parts.generator(), "config": dataclasses.asdict(config)},
                      run_dir / "generator.pt")


def scalars(losses: dict[str, torch.Tensor | float]) -> dict[str, float]:
    """Loss tensors -> floats with one device sync for all of them."""
    tensors = {k: v for k, v in losses.items() if isinstance(v, torch.Tensor)}
    values = dict(zip(tensors, torch.stack([t.detach().float() for t in tensors.values()]).tolist())) \
        if tensors else {}
    return {k: values.get(k, v) for k, v in losses.items()}


def check_resumable(checkpoint: dict, config: TrainingConfig, seed: int, frames: list[int], path: Path) -> None:
    """Refuse a checkpoint written by a different setup, naming every difference."""
    saved = checkpoint["config"]
    now = dataclasses.asdict(config)
    changed = sorted(k for k in now if k not in config.RESUMABLE_CHANGES and saved.get(k) != now[k])
    problems = [f"{k}: {saved.get(k)!r} -> {now[k]!r}" for k in changed]
    if checkpoint["seed"] != seed:
        problems.append(f"seed: {checkpoint['seed']} -> {seed}")
    if checkpoint["frames"] != frames:
        problems.append(f"frames (source, target): {checkpoint['frames']} -> {frames}")
    if problems:
        raise ValueError(f"{path} was written by a different training setup ({'; '.join(problems)}); "
                         "delete the run folder to start over, or restore the old settings to resume")


def adam(nets: Iterable[nn.Module], lr: float, beta1: float) -> torch.optim.Adam:
    """One Adam over several networks, as the reference codes optimise both generators (or both
    discriminators) together."""
    return torch.optim.Adam([p for net in nets for p in net.parameters()], lr=lr, betas=(beta1, 0.999))


def cycle_sample_rows(images: dict) -> list[list[torch.Tensor]]:
    """Sample grid rows of a two-way translator: input | translated | cycled (those this iteration
    made), virtual then real."""
    return [[images[k][0] for k in ("v", "fake_r", "cycled_v") if k in images],
            [images[k][0] for k in ("r", "fake_v", "cycled_r") if k in images]]


def load_unet_generator(run_dir: Path | None, name: str, generator_depth: int, device: torch.device) -> nn.Module:
    """The finished U-Net of a run folder, refusing one of another depth than the config's."""
    from sggan.models import UNetGenerator

    saved = load_generator_file(run_dir, name)
    trained = saved["config"]
    if trained["generator_depth"] != generator_depth:
        raise ValueError(f"{run_dir}/generator.pt holds a U-Net of depth {trained['generator_depth']}, the "
                         f"config asks for {generator_depth}; use the parameters it was trained with")
    net = UNetGenerator(trained["ngf"], trained["generator_depth"])
    net.load_state_dict(saved["state_dict"])
    return net.to(device).eval()


def load_generator_file(run_dir: Path | None, name: str) -> dict[str, Any]:
    """The dict a finished run saved as generator.pt: {'state_dict', 'config'}."""
    if run_dir is None:
        raise FileNotFoundError(f"translator {name!r} needs the run folder it was trained into")
    path = Path(run_dir) / "generator.pt"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: train the {name} translator into {run_dir} first")
    return torch.load(path, map_location="cpu", weights_only=True)
