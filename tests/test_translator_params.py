"""Translator parameters are checked against their Config field types before any work starts."""

import dataclasses

import pytest

from sggan.cli import UserError
from sggan.config_values import ConfigError
from sggan.translators import available, build_translator, get_translator
from sggan.translators.base import parse_config
from sggan.translators.sggan import Config as SGGANConfig


@pytest.mark.parametrize(
    "params, message",
    [
        ({"use_gradient_loss": "false"}, r"use_gradient_loss must be true or false, got 'false' \(a string"),
        ({"use_gradient_loss": 0}, "use_gradient_loss must be true or false, got 0"),
        ({"epochs": "6"}, "epochs must be a whole number, got '6'"),
        ({"epochs": 6.0}, "epochs must be a whole number, got 6.0"),
        ({"epochs": True}, "epochs must be a whole number, got True"),
        ({"lr": "2e-4"}, r"lr must be a number, got '2e-4' .*2\.0e-4"),
        ({"lr": float("nan")}, "lr must be a number, got nan"),
        ({"lr": -1e-4}, "lr must not be negative"),
        ({"crop_size": [256]}, r"crop_size must be a list of 2 \(a whole number, a whole number\), got \[256\]"),
        ({"crop_size": "256x512"}, "crop_size must be a list of 2"),
        ({"load_size": [0, 512]}, r"load_size must have positive entries, got \[0, 512\]"),
        ({"max_iterations_per_epoch": "3"}, "max_iterations_per_epoch must be a whole number, got '3'"),
        ({"grouping": 8}, "grouping must be a string, got 8"),
        ({"crop_size": [100, 512], "load_size": [256, 512]}, r"crop_size \[100, 512\] must be a multiple of 256"),
        ({"crop_size": [512, 512]}, r"crop_size \[512, 512\] exceeds load_size \[256, 512\]"),
        ({"alpha_beta_late": [0.9, -0.1]}, "must not be negative"),
    ],
)
def test_wrong_types_and_ranges_are_refused_naming_the_parameter(params, message):
    with pytest.raises(ConfigError, match=message) as error:
        build_translator("sggan", params)
    assert str(error.value).startswith("translator 'sggan': ")
    assert isinstance(error.value, UserError) and isinstance(error.value, ValueError)


def test_values_are_converted_to_the_field_types():
    config = parse_config(
        SGGANConfig,
        {
            "lr": 1,
            "crop_size": [256, 512],
            "alpha_beta_early": [1, 0],
            "max_iterations_per_epoch": None,
            "use_gradient_loss": False,
        },
        "sggan",
    )
    assert config.lr == 1.0 and type(config.lr) is float
    assert config.crop_size == (256, 512) and config.alpha_beta_early == (1.0, 0.0)
    assert config.max_iterations_per_epoch is None and config.use_gradient_loss is False


@pytest.mark.parametrize("model", [m for m in available() if get_translator(m).Config is not None])
def test_every_translator_accepts_its_own_defaults_written_out(model):
    """What a user copies from a Config's defaults into a config file must pass the checks."""
    cls = get_translator(model)
    defaults = {"adapt_command": "prog {frames} {out}"} if model == "external" else {}
    config = cls.Config(**defaults)
    written_out = {
        f.name: list(v) if isinstance(v, tuple) else v
        for f in dataclasses.fields(config)
        for v in [getattr(config, f.name)]
    }
    assert parse_config(cls.Config, written_out, model) == config
