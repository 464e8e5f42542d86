"""Data-parallel training on the CPU: two processes joined by gloo, as torchrun would start them."""

import os
import socket
import time

import pytest
import torch
import torch.multiprocessing as mp
from conftest import write_segmentation_frames

from segmentation import dump
from segmentation.train import TrainConfig, fit

WORLD = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(rank: int, runs: list[tuple[str, dict, int]], out: str) -> None:
    """One rank: the environment torchrun gives it, then each run in turn (its own rendezvous port)."""
    torch.set_num_threads(1)
    for name, config, port in runs:
        os.environ.update(
            WORLD_SIZE=str(WORLD), RANK=str(rank), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)
        )
        model = fit(TrainConfig(**config), progress=False)
        torch.save(model.state_dict(), f"{out}/{name}_rank{rank}.pt")


def run_ranks(runs, out):
    context = mp.spawn(worker, args=(runs, str(out)), nprocs=WORLD, join=False)
    deadline = time.time() + 240
    while not context.join(timeout=5):
        if time.time() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("the distributed run did not finish in 4 minutes")


def test_two_processes_train_in_step_and_match_one_process(tmp_path):
    frames = write_segmentation_frames(tmp_path)
    common = {"width": 1 / 32, "seed": 5, "device": "cpu", "init": "scratch", "checkpoint_every": 2, "log_every": 1}
    fit(
        TrainConfig(
            out=str(tmp_path / "frontend0"),
            frames=str(frames),
            arch="frontend",
            iterations=1,
            batch_size=2,
            crop=(8, 8),
            **common,
        ),
        progress=False,
    )
    dump.dump(
        tmp_path / "frontend0" / "model.pt",
        dump.read_frame_list(frames),
        tmp_path / "scores",
        torch.device("cpu"),
        progress=False,
    )
    frontend = {
        "frames": str(frames),
        "arch": "frontend",
        "iterations": 3,
        "batch_size": 4,
        "crop": (8, 8),
        "lr": 1e-3,
        **common,
    }
    context = {
        "scores": str(tmp_path / "scores"),
        "arch": "dilation10",
        "iterations": 3,
        "batch_size": 2,
        "init_from": str(tmp_path / "frontend0" / "model.pt"),
        "lr": 1e-2,
        **common,
    }
    run_ranks(
        [
            ("frontend", {**frontend, "out": str(tmp_path / "ddp_frontend")}, free_port()),
            ("context", {**context, "out": str(tmp_path / "ddp_context")}, free_port()),
        ],
        tmp_path,
    )

    for name in ("frontend", "context"):
        ranks = [torch.load(tmp_path / f"{name}_rank{r}.pt") for r in range(WORLD)]
        for key in ranks[0]:  # DistributedDataParallel keeps the replicas identical
            assert torch.equal(ranks[0][key], ranks[1][key]), (name, key)
    frontend_saved = torch.load(tmp_path / "ddp_frontend" / "model.pt")["model"]
    start = torch.load(tmp_path / "frontend0" / "model.pt")["model"]
    first = "frontend.features.conv1_1.weight"
    assert not torch.equal(frontend_saved[first], start[first])
    assert len(torch.load(tmp_path / "ddp_frontend" / "checkpoint.pt", weights_only=False)["rng"]) == WORLD

    # the context stage has no dropout: each rank's half of every batch, gradients averaged, is
    # the single-process update on the whole batch
    single = fit(TrainConfig(**{**context, "out": str(tmp_path / "single_context")}), progress=False).state_dict()
    distributed = torch.load(tmp_path / "context_rank0.pt")
    for key, value in single.items():
        assert torch.allclose(value, distributed[key], atol=1e-6), key
