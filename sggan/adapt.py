"""Adapt one shard of a frame list with a translator from the registry (the shared path for
network translators is :mod:`sggan.adaptation`).

    python -m sggan.adapt --model sggan --params '{...}' --run-dir RUN --frames LIST \
        --out DIR --shard 0 --num-shards 4 --working-size 1024 2048 --done SHARD.tsv

Frames whose output already exists are skipped (a killed job resumes); outputs older than the
run folder's generator.pt (adapted by a previous training) are redone. The shard's frame list
``--done`` is written once every frame is verified at its label's size.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sggan.adaptation import AdaptOptions, check_working_size, output_path, verify_adapted
from sggan.cli import parse_json, run
from sggan.data.io import DataError, Frame, image_size, read_frame_list, remove_stale, shard, write_frame_list
from sggan.device import resolve_device
from sggan.disk import adapted_bytes, require_free_space
from sggan.translators import build_translator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="translator model name (registry)")
    parser.add_argument("--params", default="{}", help="translator parameters as JSON")
    parser.add_argument("--run-dir", type=Path, help="training run folder holding checkpoint.pt")
    parser.add_argument("--frames", type=Path, required=True, help="frame list (TSV) of source frames")
    parser.add_argument("--out", type=Path, required=True, help="folder for adapted PNGs, {id}.png")
    parser.add_argument("--shard", type=int, default=0)
    parser.add_argument("--num-shards", type=int, default=1)
    parser.add_argument("--working-size", type=int, nargs=2, required=True, metavar=("H", "W"))
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-amp", action="store_true", help="full fp32 on CUDA")
    parser.add_argument(
        "--done",
        type=Path,
        required=True,
        help="frame list of this shard's adapted frames, written when all are verified",
    )
    args = parser.parse_args(argv)

    translator = build_translator(args.model, parse_json(args.params, "--params"))
    frames = shard(read_frame_list(args.frames), args.shard, args.num_shards)
    options = AdaptOptions(
        working_size=tuple(args.working_size),
        batch_size=args.batch_size,
        workers=args.workers,
        device=resolve_device(args.device),
        amp=not args.no_amp,
    )
    if args.run_dir is not None:
        removed = remove_stale([output_path(args.out, f) for f in frames], args.run_dir / "generator.pt")
        if removed:
            print(f"removed {removed} frames adapted by an older {args.run_dir}", file=sys.stderr)
    todo = [f for f in frames if not output_path(args.out, f).exists()]
    if todo and translator.writes_frames:  # check before writing hundreds of GB, not midway
        require_free_space(
            args.out, adapted_bytes(len(todo), *image_size(todo[0].label)), f"adapting {len(todo)} frames"
        )
    check_working_size(options.working_size, translator.size_multiple())  # before any weights are read
    start = time.perf_counter()
    translator.adapt(frames, args.out, args.run_dir, options)
    seconds = time.perf_counter() - start
    problems = verify_adapted(frames, args.out)
    if problems:
        raise DataError(
            f"translator {args.model!r} did not write every frame correctly into {args.out}:\n  "
            + "\n  ".join(problems[:20])
            + (f"\n  ... {len(problems) - 20} more" if len(problems) > 20 else "")
        )
    write_frame_list(args.done, [Frame(f.id, output_path(args.out, f), f.label) for f in frames])
    print(f"adapted {len(frames)} frames in {seconds:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    run(main)
