"""Data-parallel training across processes: torchrun's environment, each rank's share of a batch.

    torchrun --nproc_per_node 4 -m segmentation.train ...    # one process per GPU

torchrun sets WORLD_SIZE, RANK and LOCAL_RANK; without them a run is one process (rank 0 of 1).
A run's samples are numbered globally (segmentation.data), and iteration t's batch is samples
t * B .. t * B + B - 1 whatever the number of processes: rank r computes the r-th of W equal
slices of it (the role of torch's DistributedSampler, without its per-epoch shuffling, which the
sample numbering already does). Gradients are averaged across ranks by DistributedDataParallel;
the training loss divides by the labelled pixels of the whole global batch, so W ranks (or
``--accumulate`` micro-batches) compute the same update as one process with the whole batch,
up to floating-point summation order and the dropout masks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def world_from_env() -> World:
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    return World(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", os.environ["RANK"])))


def start(world: World, device: torch.device) -> torch.device:
    """Join the process group (NCCL on GPUs, gloo on CPUs); each rank gets its own GPU."""
    if not world.distributed:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(
            "nccl" if device.type == "cuda" else "gloo",
            rank=world.rank,
            world_size=world.size,
            timeout=timedelta(minutes=30),
        )
    return device


def stop(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


def sum_across(value: torch.Tensor, world: World) -> torch.Tensor:
    """The sum over ranks of a tensor (itself in a single process)."""
    if world.distributed:
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value


def gather_objects(obj, world: World) -> list:
    """[rank 0's obj, rank 1's, ...] on every rank."""
    if not world.distributed:
        return [obj]
    gathered = [None] * world.size
    dist.all_gather_object(gathered, obj)
    return gathered


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


class RankSamples:
    """The global sample numbers this rank computes for iterations start+1 .. stop, in order.

    Iteration t (0-based t = iteration - 1) holds samples t * batch_size + position; this rank
    takes positions rank * B/W .. (rank + 1) * B/W - 1.
    """

    def __init__(self, start: int, stop: int, batch_size: int, world: World):
        if batch_size % world.size:
            raise ValueError(f"batch size {batch_size} does not split over {world.size} processes")
        self.start, self.stop, self.batch_size = start, stop, batch_size
        self.per_rank = batch_size // world.size
        self.offset = world.rank * self.per_rank

    def __len__(self) -> int:
        return max(self.stop - self.start, 0) * self.per_rank

    def __iter__(self):
        for t in range(self.start, self.stop):
            first = t * self.batch_size + self.offset
            yield from range(first, first + self.per_rank)
