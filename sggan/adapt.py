"""Adapt source frames with a translator from the registry (the shared path for network
translators is :mod:`sggan.adaptation`), in one of two modes.

A shard of the pipeline's frame list, each written at its label's size:

    python -m sggan.adapt --model sggan --params '{...}' --run-dir RUN --frames LIST \
        --out DIR --shard 0 --num-shards 4 --working-size 1024 2048 --done SHARD.tsv

A folder of the user's own images, without labels (the reference CycleGAN's test mode), each
written as DIR/{stem}.png at its own size:

    python -m sggan.adapt --model sggan --params '{...}' --run-dir RUN --images MY_FRAMES --out DIR

Without --working-size the folder mode translates at the size the translator was trained at (its
load_size, rounded to what the generator takes): the scale its generator learned; pass
``--working-size 1024 2048`` to translate as the paper's pipeline does.

Frames whose output already exists are skipped (a killed job resumes); outputs older than the
run folder's generator.pt (adapted by a previous training) are redone. The frame list ``--done``
(required with --frames) is written once every frame is verified at its label's size.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sggan.adaptation import AdaptOptions, check_working_size
from sggan.adapted import output_path, verify_adapted
from sggan.cli import UserError, parse_json, run
from sggan.data.io import DataError, Frame, image_size, read_frame_list, remove_stale, shard, write_frame_list
from sggan.device import resolve_device
from sggan.disk import adapted_bytes, require_free_space
from sggan.translators import build_translator
from sggan.translators.base import Translator

#: What --images reads from its folder (OpenCV decodes them all); other files are left alone.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="translator model name (registry)")
    parser.add_argument("--params", default="{}", help="translator parameters as JSON")
    parser.add_argument("--run-dir", type=Path, help="training run folder holding generator.pt")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--frames", type=Path, help="frame list (TSV) of source frames; outputs at label size")
    source.add_argument(
        "--images", type=Path, help="folder of images without labels; outputs {stem}.png at each image's size"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for adapted PNGs, {id}.png")
    parser.add_argument("--shard", type=int, default=0)
    parser.add_argument("--num-shards", type=int, default=1)
    parser.add_argument(
        "--working-size",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        help="size the network sees (required with --frames; with --images, default: the training load_size)",
    )
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-amp", action="store_true", help="full fp32 on CUDA")
    parser.add_argument(
        "--done",
        type=Path,
        help="frame list of this shard's adapted frames, written when all are verified (required with --frames)",
    )
    args = parser.parse_args(argv)

    translator = build_translator(args.model, parse_json(args.params, "--params"))
    if args.frames is not None:
        for flag, value in (("--working-size", args.working_size), ("--done", args.done)):
            if value is None:
                raise UserError(f"{flag} is required with --frames")
        frames = read_frame_list(args.frames)
        working_size = tuple(args.working_size)
    else:
        if args.out.resolve() == args.images.resolve():
            raise UserError(f"--out {args.out} is the --images folder: the outputs would replace the inputs")
        frames = folder_frames(args.images)
        require_trained(translator, args.run_dir)
        working_size = tuple(args.working_size) if args.working_size else translator.default_working_size()
    frames = shard(frames, args.shard, args.num_shards)
    options = AdaptOptions(
        working_size=working_size,
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
    if options.working_size is not None:  # before any weights are read
        check_working_size(options.working_size, translator.size_multiple())
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
    if args.done is not None:
        write_frame_list(args.done, [Frame(f.id, output_path(args.out, f), f.label) for f in frames])
    print(f"adapted {len(frames)} frames in {seconds:.1f} s", file=sys.stderr)


def folder_frames(folder: Path) -> list[Frame]:
    """The images of a folder as frames that are their own size reference: a frame's "label" is
    the image itself, so the shared path writes each output at its input's size."""
    if not folder.is_dir():
        raise DataError(f"--images {folder} is not a folder")
    paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise DataError(f"--images {folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    by_stem: dict[str, Path] = {}
    for path in paths:
        if path.stem in by_stem:
            raise DataError(
                f"--images {folder}: {by_stem[path.stem].name} and {path.name} would both be written as "
                f"{path.stem}.png; rename one"
            )
        by_stem[path.stem] = path
        try:  # an unreadable image is refused before any work starts
            image_size(path)
        except DataError as err:
            raise DataError(f"{err}; replace it with a readable image or move it out of {folder}") from None
    return [Frame(stem, path, path) for stem, path in by_stem.items()]


def require_trained(translator: Translator, run_dir: Path | None) -> None:
    """A trainable translator adapts only from a finished run folder (its generator.pt)."""
    if not translator.trainable:
        return
    if run_dir is None:
        raise UserError(f"translator {translator.name!r} needs --run-dir, the folder it was trained into")
    if not (run_dir / "generator.pt").is_file():
        raise UserError(
            f"{run_dir / 'generator.pt'} does not exist: {run_dir} holds no trained {translator.name} translator "
            "(train it first, or give the run folder the pipeline trained it into)"
        )


if __name__ == "__main__":
    run(main)
