"""Runs that survive a kill: what both trainers (the GAN loop in :mod:`sggan.training` and
:mod:`segmentation.train`) use so that a killed run, started again, ends exactly as an
uninterrupted one would.

- :func:`seed_everything` (and :func:`rank_seed` for one process of several);
- :func:`capture_rng` / :func:`restore_rng`: Python's, NumPy's, torch's CPU and every CUDA
  device's generator of this process (each rank keeps its own);
- :func:`atomic_save` / :func:`load_checkpoint`: torch files written atomically and fsynced;
- :func:`check_resumable`: refuse a checkpoint written with other run-defining settings, naming
  every difference (a :class:`RunFolderError`, which the command lines print as one line);
- :class:`ResumableLog`: a CSV log that drops the rows logged after the checkpoint resumed from,
  and mirrors its scalars (and the GAN sample grids) to TensorBoard when asked: the writer purges
  the events after that checkpoint too, so a resumed run appends and no step appears twice.
"""

from __future__ import annotations

import csv
import io
import os
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sggan.cli import UserError
from sggan.data.io import atomic_write, atomic_write_text


class RunFolderError(UserError, ValueError):
    """A run folder that does not hold what the command asks for (other settings, another model)
    or a file in it that cannot be read; the message names the file, each difference and the fix."""


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's generators (torch's seeds every CUDA device too)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rank_seed(seed: int, rank: int) -> int:
    """The seed of one process of several: each must draw its own dropout masks, not its
    neighbours' (rank 0 included, so that every rank is seeded alike)."""
    return int(np.random.default_rng([seed, 3, rank]).integers(2**62))


def capture_rng() -> dict[str, Any]:
    """This process's generator states, every CUDA device's included."""
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng(states: dict[str, Any]) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if torch.cuda.is_available():
        for index, state in enumerate(states["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(state, index)


def atomic_save(obj: Any, path: str | os.PathLike) -> None:
    """torch.save, atomically and fsynced: a kill or a crash leaves the old file or the new one."""
    atomic_write(Path(path), lambda tmp: torch.save(obj, tmp), fsync=True)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint on the CPU (RNG states must stay CPU tensors; load_state_dict moves the rest).

    weights_only=False: a checkpoint holds RNG states (NumPy arrays, tuples) and is written by
    this code into its run folder, never downloaded.
    """
    return load(path, weights_only=False, fix="delete it to train from the start")


def load(path: str | os.PathLike, weights_only: bool, fix: str) -> dict[str, Any]:
    """torch.load on the CPU; a file that is there but cannot be read is named, with ``fix``."""
    if not Path(path).is_file():
        raise FileNotFoundError(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only)
    except Exception as err:  # a truncated or foreign file fails in the unpickler with any error type
        reason = str(err).split(". ")[0].splitlines()[0] if str(err) else type(err).__name__
        raise RunFolderError(f"{path} is corrupt or incomplete ({reason}); {fix}") from err


def differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """'key: saved -> current' for every key of ``current`` whose value differs from the saved one."""
    return [
        f"{key}: {saved.get(key)!r} -> {value!r}"
        for key, value in current.items()
        if _plain(saved.get(key)) != _plain(value)
    ]


def check_resumable(path: str | os.PathLike, saved: dict[str, Any], current: dict[str, Any]) -> None:
    """Refuse to resume from ``path`` when a run-defining setting (a key of ``current``) differs
    from the one it was ``saved`` with; the message names every difference."""
    changed = differences(saved, current)
    if changed:
        raise RunFolderError(
            f"{path} was written by a run with other settings ({'; '.join(changed)}); use the same "
            f"settings to resume, or delete {path} (or choose another run folder) to start afresh"
        )


def _plain(value: Any) -> Any:
    """Tuples as lists, so that (8, 8) from the command line equals [8, 8] from a JSON config."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def open_tensorboard(log_dir: str | os.PathLike, purge_step: int):
    """A TensorBoard writer into ``log_dir`` whose readers drop the events logged earlier at
    ``purge_step`` or later (by a killed run after its last checkpoint)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch's writer needs the tensorboard package
        raise UserError(
            "the tensorboard setting is on but the tensorboard package is not installed: "
            "pip install 'sggan-benchmark[tensorboard]', or set tensorboard to false"
        ) from None
    return SummaryWriter(str(log_dir), purge_step=purge_step)


class ResumableLog:
    """A CSV log with one row per step (or per logged iteration) whose ``counter`` column counts up.

    Opened with ``resume_at`` (the counter the checkpoint holds; 0 for a fresh run), it keeps the
    rows up to it and drops the rest, which the killed run logged after its last checkpoint, and
    a row the kill cut short; so every step appears once. Floats are written with 6 digits; a
    field missing from a row is left empty.

    With ``tensorboard`` (a folder), every row's ``scalars`` that hold a number are also written
    there as TensorBoard scalars at the row's counter, and :meth:`image` adds pictures; events
    after ``resume_at`` are purged alike.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        fields: Sequence[str],
        counter: str,
        resume_at: int,
        tensorboard: str | os.PathLike | None = None,
        scalars: Sequence[str] = (),
    ):
        self.path, self.fields, self.counter, self.scalars = Path(path), list(fields), counter, list(scalars)
        self._board = open_tensorboard(tensorboard, purge_step=resume_at + 1) if tensorboard else None
        kept = []
        if resume_at and self.path.exists():
            with self.path.open(newline="") as f:
                kept = [
                    row
                    for row in csv.DictReader(f)
                    if row.get(counter, "").isdigit() and int(row[counter]) <= resume_at and None not in row.values()
                ]  # a line cut by the kill has missing fields
        text = io.StringIO()
        writer = csv.DictWriter(text, self.fields, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(kept)
        atomic_write_text(self.path, text.getvalue())
        self._file = self.path.open("a", newline="")
        self._writer = csv.DictWriter(self._file, self.fields, lineterminator="\n", restval="")

    def write(self, row: dict[str, Any]) -> None:
        self._writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
        self._file.flush()
        if self._board is not None:
            for key in self.scalars:
                try:
                    value = float(row[key])
                except (KeyError, TypeError, ValueError):  # not computed at this step, or empty
                    continue
                self._board.add_scalar(key, value, int(row[self.counter]))

    def image(self, tag: str, rgb: np.ndarray, step: int) -> None:
        """An (H, W, 3) uint8 picture at ``step``, when TensorBoard logging is on."""
        if self._board is not None:
            self._board.add_image(tag, rgb, step, dataformats="HWC")

    def close(self) -> None:
        self._file.close()
        if self._board is not None:
            self._board.close()
