"""The contract every translator fulfils.

A translator is built from its config ``params`` (a dict), may be trained on source and target
frame lists into a run folder, and adapts source frames: by default through a generator network
(:meth:`Translator.generator`) and the shared batched full-resolution path in
:mod:`sggan.adaptation`; a translator that is not a torch network (an external program) overrides
:meth:`Translator.adapt` instead.
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from sggan.adaptation import AdaptOptions, adapt_frames
from sggan.config_values import ConfigError, checked
from sggan.data.io import Frame


class Translator:
    name: ClassVar[str] = ""
    #: False for translators with nothing to learn (identity); the pipeline then skips training.
    #: Read it on an instance: it may depend on the parameters (a property, as for an external
    #: program that is trainable only when given a training command).
    trainable: bool = True
    #: False for a translator whose outputs are its source frames themselves (identity links
    #: them), so adaptation needs no free disk.
    writes_frames: bool = True
    #: The dataclass holding this translator's hyper-parameters; ``params`` must match its fields.
    Config: ClassVar[type] = None

    def __init__(self, params: dict[str, Any]):
        self.config = parse_config(self.Config, params, self.name) if self.Config else None

    def train(self, source: list[Frame], target: list[Frame], run_dir: Path, device: torch.device, seed: int) -> None:
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

    def default_working_size(self) -> tuple[int, int] | None:
        """The working size for a user's folder of images when none is given; None: no default
        (a translator that does not resize through one, as identity, ignores it)."""
        return None

    def adapt(self, frames: list[Frame], out_dir: Path, run_dir: Path | None, options: AdaptOptions) -> None:
        adapt_frames(
            self.generator(run_dir, options.device), frames, out_dir, options, size_multiple=self.size_multiple()
        )


def parse_config(cls: type, params: dict[str, Any], owner: str):
    """Build a config dataclass from a dict, checking every value against its field's type.

    bool is only true/false (never the string "false"), int only a whole number (not "6" or 6.0),
    float any finite number, a tuple a list of its length; numbers must be non-negative (no
    translator parameter is negative) and whole-number tuple entries (sizes, widths) positive. The dataclass's
    own ``__post_init__`` then checks what depends on several fields (crop within load size, sizes
    a multiple of what the generator needs). Any failure is a :class:`ConfigError` naming the
    translator, the parameter and the fix, raised before any work starts.
    """
    if not isinstance(params, dict):
        raise ConfigError(
            f"translator {owner!r}: params must be a mapping of parameter names to values, got {params!r}"
        )
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - fields)
    if unknown:
        raise ConfigError(f"translator {owner!r}: unknown parameter(s) {unknown}; known: {sorted(fields)}")
    types = typing.get_type_hints(cls)
    kwargs = {
        name: checked(value, types[name], f"translator {owner!r}: parameter {name}") for name, value in params.items()
    }
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"translator {owner!r}: {str(err).removeprefix(f'{owner}: ')}") from None
