"""Config values checked against the type of the dataclass field they set: translator parameters
(sggan.translators.base.parse_config) and segmentation settings (segmentation.train), so that
``"false"`` is never read as true, nor ``"6"`` fails deep inside a run.
"""

from __future__ import annotations

import math
import typing
from typing import Any

from sggan.cli import UserError


class ConfigError(UserError, ValueError):
    """A config value of the wrong type or out of range, or a config that names what does not
    exist (a ValueError too, as the dataclasses' own checks raise)."""


_TYPE_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "a string", type(None): "null"}


def _describe(annotation) -> str:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is tuple:
        return f"a list of {len(args)} ({', '.join(_describe(a) for a in args)})"
    if args:  # a union such as int | None
        return " or ".join(_describe(a) for a in args)
    return _TYPE_WORDS.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _wrong_type(value: Any, annotation, where: str) -> ConfigError:
    hint = ""
    if isinstance(value, str):
        hint = {
            bool: " (a string: write true or false without quotes; snakemake --config passes nested values "
            "as strings, so set it in a config file)",
            int: " (a string: write the number without quotes)",
            float: " (a string: write the number without quotes; in YAML an exponent needs a decimal "
            "point, 2.0e-4, or it is read as a string)",
        }.get(annotation, "")
    return ConfigError(f"{where} must be {_describe(annotation)}, got {value!r}{hint}")


def checked(value: Any, annotation, where: str) -> Any:
    """``value`` as the field's type (an int for a float field becomes a float, a list a tuple)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise ConfigError(f"{where} must be {_describe(annotation)}, got {value!r}")
        items = tuple(checked(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        if any(type(v) is int and v <= 0 for v in items):  # sizes and widths; 0.0 is a valid weight
            raise ConfigError(f"{where} must have positive entries, got {list(value)}")
        return items
    if args:  # a union such as int | None: the first alternative that accepts the value
        if value is None and type(None) in args:
            return None
        options = [option for option in args if option is not type(None)]
        if len(options) == 1:  # keeps that type's own message (e.g. "must not be negative")
            return checked(value, options[0], where)
        for option in options:
            try:
                return checked(value, option, where)
            except ConfigError:
                pass
        raise _wrong_type(value, annotation, where)
    if annotation is type(None):
        if value is not None:
            raise ConfigError(f"{where} must be null, got {value!r}")
        return None
    ok = {
        bool: lambda v: isinstance(v, bool),
        int: lambda v: isinstance(v, int) and not isinstance(v, bool),
        float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
        str: lambda v: isinstance(v, str),
    }.get(annotation)
    if ok is None:
        return value
    if not ok(value):
        raise _wrong_type(value, annotation, where)
    if annotation in (int, float) and value < 0:
        raise ConfigError(f"{where} must not be negative, got {value!r}")
    return float(value) if annotation is float else value
