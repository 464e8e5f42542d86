"""The settings of each training stage, from the workflow config's ``segmentation:`` block.

The block's top-level keys are the network's (``arch``, ``init``, ``width``, ``amp`` ...) and the
front-end stage's optimisation (``iterations``, ``lr`` ...); its ``context:`` and ``joint:``
blocks set their stage's optimisation, and a key they leave out is the front-end stage's. A
missing ``context:`` or ``joint:`` block trains that stage for 0 iterations (the context module
stays at its identity initialisation, the joint stage copies the context stage's network).
A setting no block states keeps its default in :class:`segmentation.train.TrainConfig`, the one
home of every default.

:func:`stage_settings` gives what the workflow passes as ``python -m segmentation.train --params
JSON``; :func:`stage_config` the resolved :class:`TrainConfig`. Both refuse a wrong key or value,
naming it (config segmentation.context.lr: ...), so the workflow fails when it is read.
"""

from __future__ import annotations

import dataclasses

from segmentation.train import TrainConfig, config_from_settings, typed_setting
from sggan.config_values import ConfigError

STAGES = ("frontend", "context", "joint")
# Keys each stage sets for itself (the schema's segmentation_stage). The context stage trains on
# whole frames of dumped scores: it has no crop.
STAGE_KEYS = {
    "frontend": ("iterations", "batch_size", "accumulate", "crop", "optimizer", "lr", "momentum", "weight_decay"),
    "context": ("iterations", "batch_size", "accumulate", "optimizer", "lr", "momentum", "weight_decay"),
    "joint": ("iterations", "batch_size", "accumulate", "crop", "optimizer", "lr", "momentum", "weight_decay"),
}
# Keys of the whole network and run, the same in every stage that uses them. The front-end's
# initialisation concerns only the front-end stage (later stages start from the previous one);
# class balance only stages that sample crops.
NETWORK_KEYS = {
    "frontend": ("init", "init_weights", "width", "workers", "amp", "peak_tflops", "class_balanced", "tensorboard"),
    "context": ("width", "workers", "amp", "peak_tflops", "tensorboard"),
    "joint": ("width", "workers", "amp", "peak_tflops", "class_balanced", "tensorboard"),
}
# Keys of the segmentation block that are not training settings: the prediction's.
OTHER_KEYS = ("arch", "tile", "predict_shards", "context", "joint")


def final_stage(segmentation: dict) -> str:
    """The stage whose network predicts: the front-end's for arch frontend, else the joint one's."""
    arch = segmentation.get("arch", TrainConfig.arch)
    return "frontend" if arch == "frontend" else "joint"


def stages(segmentation: dict) -> tuple[str, ...]:
    """The stages trained, in order."""
    return STAGES[:1] if final_stage(segmentation) == "frontend" else STAGES


def amp(segmentation: dict) -> bool:
    """Whether every stage, the score dump and prediction use bf16 autocast on CUDA."""
    return segmentation.get("amp", TrainConfig.amp)


def stage_settings(segmentation: dict, stage: str) -> dict:
    """The settings of ``stage`` that the config states (TrainConfig fields), checked."""
    check_block(segmentation)
    settings = {key: segmentation[key] for key in NETWORK_KEYS[stage] if key in segmentation}
    settings["arch"] = "frontend" if stage == "frontend" else "dilation10"
    frontend = {key: segmentation[key] for key in STAGE_KEYS["frontend"] if key in segmentation}
    if stage == "frontend":
        return {**settings, **frontend}
    inherited = {key: value for key, value in frontend.items() if key in STAGE_KEYS[stage]}
    own = segmentation.get(stage)
    return {**settings, **inherited, **(own if own is not None else {"iterations": 0})}


def stage_config(segmentation: dict, stage: str, **run) -> TrainConfig:
    """The resolved TrainConfig of ``stage``: its stated settings over TrainConfig's defaults."""
    return config_from_settings(stage_settings(segmentation, stage), **run)


def check_block(segmentation: dict) -> None:
    """Refuse a key no stage reads, a context crop, or a value of the wrong type."""
    known = set(STAGE_KEYS["frontend"]) | {k for keys in NETWORK_KEYS.values() for k in keys} | set(OTHER_KEYS)
    _refuse_unknown(segmentation, known, "segmentation")
    arch = segmentation.get("arch", TrainConfig.arch)
    if arch not in ("frontend", "dilation10"):
        raise ConfigError(f"config segmentation.arch: {arch!r} is not one of frontend, dilation10")
    for stage in ("context", "joint"):
        block = segmentation.get(stage)
        if block is None:
            continue
        if not isinstance(block, dict):
            raise ConfigError(f"config segmentation.{stage}: expected a mapping of settings, got {block!r}")
        _refuse_unknown(
            block,
            set(STAGE_KEYS[stage]),
            f"segmentation.{stage}",
            "the context stage trains on whole frames: it has no crop" if stage == "context" else "",
        )
    for stage in STAGES:
        for key, value in _stated(segmentation, stage).items():
            where = f"segmentation.{key}" if stage == "frontend" else f"segmentation.{stage}.{key}"
            typed_setting(key, value, f"config {where}")


def _stated(segmentation: dict, stage: str) -> dict:
    """What the config states for ``stage`` itself, without inheritance."""
    if stage == "frontend":
        keys = set(STAGE_KEYS["frontend"]) | set(NETWORK_KEYS["frontend"])
        return {key: value for key, value in segmentation.items() if key in keys}
    return dict(segmentation.get(stage) or {})


def _refuse_unknown(block: dict, known: set[str], where: str, hint: str = "") -> None:
    unknown = sorted(set(block) - known)
    if unknown:
        raise ConfigError(
            f"config {where}: unknown key(s) {unknown}" + (f" ({hint})" if hint else "") + f"; known: {sorted(known)}"
        )


def defaults() -> dict:
    """TrainConfig's default of every setting a stage may state (for the schema's test)."""
    fields = {field.name: field.default for field in dataclasses.fields(TrainConfig)}
    keys = {k for keys in (*STAGE_KEYS.values(), *NETWORK_KEYS.values()) for k in keys} | {"arch"}
    return {key: fields[key] for key in sorted(keys)}
