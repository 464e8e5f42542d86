"""Device choice shared by every command.

``auto`` picks CUDA when present. On a machine with several GPUs, concurrent jobs that ask for
``cuda`` (or ``auto``) each claim a free card: a job holds an exclusive lock on
``$SGGAN_GPU_LOCKS/{index}.lock`` for its lifetime (the lock dies with the process, so a killed job
frees its card), while Snakemake's ``gpu`` resource keeps no more such jobs running than there are
cards. A job launched by torchrun uses its ``LOCAL_RANK``; an explicit ``cuda:N`` is taken as given.
"""

from __future__ import annotations

import fcntl
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

# Open lock files of the cards this process holds; closing them (at exit) frees the cards.
_held_locks: list = []


def lock_dir() -> Path:
    return Path(os.environ.get("SGGAN_GPU_LOCKS", Path(tempfile.gettempdir()) / "sggan-gpu-locks"))


def claim_slot(count: int, directory: Path, wait: bool = True, poll_s: float = 1.0) -> int:
    """Index of a free slot among ``count``, locked until this process exits."""
    directory.mkdir(parents=True, exist_ok=True)
    announced = False
    while True:
        for index in range(count):
            handle = open(directory / f"{index}.lock", "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            _held_locks.append(handle)
            return index
        if not wait:
            raise RuntimeError(f"all {count} GPUs are held by other jobs (locks in {directory})")
        if not announced:
            print(f"waiting for one of {count} GPUs to be free (locks in {directory})", file=sys.stderr)
            announced = True
        time.sleep(poll_s)


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type != "cuda":
        return device
    if not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} was asked for but CUDA is not available; use 'cpu' or 'auto'")
    if device.index is None:
        if "LOCAL_RANK" in os.environ:
            index = int(os.environ["LOCAL_RANK"])
        elif torch.cuda.device_count() > 1:
            index = claim_slot(torch.cuda.device_count(), lock_dir())
        else:
            index = 0
        device = torch.device("cuda", index)
    torch.cuda.set_device(device)
    return device
