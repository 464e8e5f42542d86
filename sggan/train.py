"""Train a translator from the registry on source and target frame lists.

    python -m sggan.train --model sggan --params '{"epochs": 25}' --source SRC.tsv \
        --target TGT.tsv --run-dir results/translators/sggan-2k --seed 0

The run folder receives ``checkpoint.pt`` (resumed from if present), sample grids, a loss log,
and finally ``generator.pt``, the marker that training finished. ``--out FILE`` also writes that
generator to FILE (the workflow's declared output, when run folders live in a shared folder).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch

from sggan.cli import parse_json, run
from sggan.data.io import atomic_write, read_frame_list
from sggan.device import resolve_device
from sggan.translators import build_translator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="translator model name (registry)")
    parser.add_argument("--params", default="{}", help="translator parameters as JSON")
    parser.add_argument("--source", type=Path, required=True, help="frame list of source (virtual) frames")
    parser.add_argument("--target", type=Path, required=True, help="frame list of target (real) frames")
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, help="also write the finished generator.pt to this path")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: torch's default)")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    translator = build_translator(args.model, parse_json(args.params, "--params"))
    args.run_dir.mkdir(parents=True, exist_ok=True)
    translator.train(
        read_frame_list(args.source), read_frame_list(args.target), args.run_dir, resolve_device(args.device), args.seed
    )
    generator = args.run_dir / "generator.pt"
    if args.out and args.out.resolve() != generator.resolve():
        atomic_write(args.out, lambda tmp: shutil.copyfile(generator, tmp))


if __name__ == "__main__":
    run(main)
