"""A user's own translator program, run by command templates from the config.

    translators:
      mine:
        model: external
        regime: 2k                      # needed only with a train_command
        params:
          adapt_command: "python my_translate.py --list {frames} --out {out} --weights {run_dir}/w.ckpt"
          train_command: "python my_train.py --source {source} --target {target} --out {run_dir}"

Placeholders, replaced by paths (each one argument, spaces and all):

- adapt_command: ``{frames}`` a frame list (TSV with the header ``id image label``) of the frames
  to adapt; ``{out}`` a folder into which the program must write ``{out}/{id}.png`` for every
  frame, an RGB PNG of exactly the size of the frame's *label* (GTA-V images and labels can
  differ); ``{run_dir}`` the translator's run folder (optional).
- train_command: ``{source}`` and ``{target}`` frame lists, ``{run_dir}`` the run folder to keep
  what it learns in, ``{seed}`` the pipeline's seed (all optional). The translator is trainable
  iff a train_command is given; the pipeline then trains it once, before any adaptation.

Write a literal brace as ``{{`` or ``}}``. The command runs without a shell: the template is split
like a shell line (quotes group words) and each placeholder becomes exactly one argument, so paths
never need quoting and cannot inject commands. Pipes, redirections, ``&&`` or environment
variables need a shell: set ``shell: true`` and the template runs under ``/bin/sh -c`` with every
placeholder shell-quoted. The program's output goes to the job's log.

Adaptation runs the program once per shard on the frames not yet adapted, with ``{out}`` a
staging folder beside the output folder; each frame it wrote at its label's size is then moved
into place atomically, so a killed or failing program never leaves a half-written frame behind
and a rerun redoes only the missing ones. Frames it missed or mis-sized are a DataError that names
each. Training ends by writing ``run_dir/generator.pt``: the pipeline's marker that training is
complete (and the input that makes adaptation wait for training and redo frames adapted before a
retraining), here a small file recording the command, since an external program has no torch
generator to save.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import shutil
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from sggan.adaptation import AdaptOptions
from sggan.adapted import output_path
from sggan.data.io import DataError, Frame, image_size, read_image, write_frame_list
from sggan.runs import atomic_save
from sggan.translators import register
from sggan.translators.base import Translator

ADAPT_PLACEHOLDERS = ("frames", "out", "run_dir")
TRAIN_PLACEHOLDERS = ("source", "target", "run_dir", "seed")


def placeholders(template: str, known: tuple[str, ...], what: str) -> set[str]:
    """The placeholder names a template uses; refuses unknown names, format specs, stray braces."""
    try:
        fields = [
            (name, spec, conversion)
            for _, name, spec, conversion in string.Formatter().parse(template)
            if name is not None
        ]
    except ValueError as err:
        raise ValueError(f"external: {what} {template!r}: {err} (write a literal brace as {{{{ or }}}})") from None
    for name, spec, conversion in fields:
        if name not in known or spec or conversion:
            raise ValueError(
                f"external: {what} {template!r} has the placeholder {{{name}}}"
                f"{' with a format' if spec or conversion else ''}; known: " + ", ".join(f"{{{k}}}" for k in known)
            )
    return {name for name, _, _ in fields}


def render(template: str, values: dict[str, object], shell: bool) -> list[str]:
    """The argument vector of a command template with its placeholders filled in."""
    if shell:
        return ["/bin/sh", "-c", template.format(**{k: shlex.quote(str(v)) for k, v in values.items()})]
    return [token.format(**{k: str(v) for k, v in values.items()}) for token in shlex.split(template)]


def run_command(argv: list[str], what: str) -> None:
    print(f"external: running the {what}: {shlex.join(argv)}", file=sys.stderr, flush=True)
    try:
        # stdout=2: the program's output joins ours on stderr, which the rule sends to the job's log
        completed = subprocess.run(argv, stdout=2)
    except (FileNotFoundError, PermissionError) as err:
        raise RuntimeError(f"external: the {what} cannot start: {err}") from None
    if completed.returncode != 0:
        raise RuntimeError(f"external: the {what} exited with status {completed.returncode}: {shlex.join(argv)}")


@dataclasses.dataclass
class Config:
    adapt_command: str = ""
    train_command: str | None = None
    shell: bool = False  # run the templates under /bin/sh -c (pipes, redirections...)

    def __post_init__(self):
        if not self.adapt_command:
            raise ValueError("external: adapt_command is required, e.g. 'python my.py --list {frames} --out {out}'")
        missing = {"frames", "out"} - placeholders(self.adapt_command, ADAPT_PLACEHOLDERS, "adapt_command")
        if missing:
            raise ValueError(
                f"external: adapt_command {self.adapt_command!r} must use "
                + " and ".join(f"{{{k}}}" for k in sorted(missing))
                + ": the frame list to adapt and the folder to write {id}.png into"
            )
        if self.train_command is not None:
            if not self.train_command.strip():
                raise ValueError("external: train_command is empty; leave it out for a program with nothing to train")
            placeholders(self.train_command, TRAIN_PLACEHOLDERS, "train_command")


@register("external")
class External(Translator):
    Config = Config

    @property
    def trainable(self) -> bool:
        return self.config.train_command is not None

    def generator(self, run_dir: Path | None, device: torch.device) -> nn.Module:
        raise NotImplementedError(
            "an external translator has no torch generator: it adapts by running its adapt_command"
        )

    def train(self, source: list[Frame], target: list[Frame], run_dir: Path, device: torch.device, seed: int) -> None:
        if not self.trainable:
            raise NotImplementedError("this external translator has no train_command: nothing to train")
        run_dir = Path(run_dir)
        marker = run_dir / "generator.pt"
        if marker.exists():
            print(f"external: {marker} exists, training is complete", file=sys.stderr)
            return
        run_dir.mkdir(parents=True, exist_ok=True)
        lists = {"source": run_dir / "source.tsv", "target": run_dir / "target.tsv"}
        write_frame_list(lists["source"], source)
        write_frame_list(lists["target"], target)
        argv = render(self.config.train_command, {**lists, "run_dir": run_dir, "seed": seed}, self.config.shell)
        run_command(argv, "train_command")
        atomic_save(
            {"external": True, "train_command": argv, "seed": seed, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
            marker,
        )

    def adapt(self, frames: list[Frame], out_dir: Path, run_dir: Path | None, options: AdaptOptions) -> None:
        out_dir = Path(out_dir)
        todo = [f for f in frames if not output_path(out_dir, f).exists()]
        if not todo:
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        # beside the outputs: the same file system, so that moving a frame into place is atomic
        staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.external-"))
        try:
            frame_list, staged = staging / "frames.tsv", staging / "out"
            staged.mkdir()
            write_frame_list(frame_list, todo)
            values = {"frames": frame_list, "out": staged, "run_dir": run_dir if run_dir is not None else ""}
            run_command(render(self.config.adapt_command, values, self.config.shell), "adapt_command")
            problems = [problem for frame in todo if (problem := _place(frame, staged, out_dir))]
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if problems:
            shown = "\n  ".join(problems[:20]) + (f"\n  ... {len(problems) - 20} more" if len(problems) > 20 else "")
            raise DataError(
                f"external: the adapt_command did not write {len(problems)} of {len(todo)} frames "
                f"correctly (each must be {{out}}/ID.png at its label's size); the "
                f"{len(todo) - len(problems)} written correctly are kept, a rerun retries the rest:"
                f"\n  {shown}"
            )


def _place(frame: Frame, staged: Path, out_dir: Path) -> str | None:
    """Move a staged frame into the output folder if it is whole and at its label's size; else why not."""
    path = output_path(staged, frame)
    if not path.exists():
        return f"{frame.id}: not written"
    try:
        got = read_image(path).shape[:2]  # decodes the whole file: a truncated PNG fails here
    except DataError:
        return f"{frame.id}: written, but not a readable image"
    want = image_size(frame.label)
    if got != want:
        return f"{frame.id}: written at {got[1]}x{got[0]}, its label {frame.label} is {want[1]}x{want[0]}"
    os.replace(path, output_path(out_dir, frame))
    return None
