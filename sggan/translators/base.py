"""The contract every translator fulfils.

A translator is built from its config ``params`` (a dict), may be trained on source and target
frame lists into a run folder, and adapts source frames: by default through a generator network
(:meth:`Translator.generator`) and the shared batched full-resolution path in
:mod:`sggan.adapt`; a translator that is not a torch network (an external program) overrides
:meth:`Translator.adapt` instead.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from sggan.data.io import Frame


class Translator:
    name: ClassVar[str] = ""
    #: False for translators with nothing to learn (identity); the pipeline then skips training.
    #: Read it on an instance: it may depend on the parameters (a property, as for an external
    #: program that is trainable only when given a training command).
    trainable: bool = True
    #: The dataclass holding this translator's hyper-parameters; ``params`` must match its fields.
    Config: ClassVar[type] = None

    def __init__(self, params: dict[str, Any]):
        self.config = parse_config(self.Config, params, self.name) if self.Config else None

    def train(self, source: list[Frame], target: list[Frame], run_dir: Path,
              device: torch.device, seed: int) -> None:
        """Train on the two frame lists.

        Writes ``run_dir/checkpoint.pt`` during training (and resumes from it when present) and
        finally ``run_dir/generator.pt``, the finished source->target generator, which is the
        pipeline's marker that training is complete.
        """
        raise NotImplementedError(f"translator {self.name!r} has nothing to train")

    def generator(self, run_dir: Path | None, device: torch.device) -> nn.Module:
        """The source->target network, in eval mode, mapping (N,3,H,W) in [-1,1] to the same."""
        raise NotImplementedError

    #: Input sides of the generator must be multiples of this (2**depth for a U-Net).
    def size_multiple(self) -> int:
        return 1

    def adapt(self, frames: list[Frame], out_dir: Path, run_dir: Path | None,
              options: "AdaptOptions") -> None:
        from sggan.adapt import adapt_frames
        adapt_frames(self.generator(run_dir, options.device), frames, out_dir, options,
                     size_multiple=self.size_multiple())


@dataclasses.dataclass
class AdaptOptions:
    working_size: tuple[int, int]        # (H, W) the network sees; resized back to label size
    batch_size: int = 1
    workers: int = 0
    device: torch.device = torch.device("cpu")
    amp: bool = True                     # bf16/fp16 autocast on CUDA
    channels_last: bool = True


def parse_config(cls: type, params: dict[str, Any], owner: str):
    """Build a config dataclass from a dict, refusing unknown keys with a clear message."""
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - fields)
    if unknown:
        raise ValueError(f"translator {owner!r}: unknown parameter(s) {unknown}; known: {sorted(fields)}")
    kwargs = {}
    for field in dataclasses.fields(cls):
        if field.name in params:
            value = params[field.name]
            kwargs[field.name] = tuple(value) if isinstance(value, list) else value
    return cls(**kwargs)
