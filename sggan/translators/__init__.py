"""Translator registry: a translator is looked up by the ``model`` name in its config entry.

Adding a translator means one module here that subclasses :class:`Translator` and decorates it
with :func:`register`, plus one entry under ``translators:`` in the config. The rules never change.
"""

from __future__ import annotations

import importlib
import pkgutil

from sggan.cli import UserError
from sggan.translators.base import Translator

_REGISTRY: dict[str, type[Translator]] = {}


def register(name: str):
    def decorate(cls: type[Translator]) -> type[Translator]:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"translator name {name!r} is registered twice")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def _load_all() -> None:
    # Import every module of this package once so that their @register calls run.
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def available() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def get_translator(name: str) -> type[Translator]:
    _load_all()
    if name not in _REGISTRY:
        raise UserError(
            f"unknown translator model {name!r}; available: {', '.join(sorted(_REGISTRY))}. "
            "A new translator is a module in sggan/translators/ decorated with @register(name)"
        )
    return _REGISTRY[name]


def build_translator(name: str, params: dict | None = None) -> Translator:
    return get_translator(name)(params or {})
