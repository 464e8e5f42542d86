"""The segmentation stages' settings: merging the config's blocks, TrainConfig as the one home of
defaults, the command line's --params, and the paper's schedule against its documented table."""

import ast
import json
import re
from pathlib import Path

import pytest
import torch
import yaml
from conftest import write_segmentation_frames

from segmentation import stages
from segmentation.train import config_from_settings, parse_args
from segmentation.train import main as train_main
from sggan.adaptation import AdaptOptions
from sggan.config_values import ConfigError

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
PAPER = yaml.safe_load((REPO / "workflow/configs/paper.yaml").read_text())

BLOCK = {
    "arch": "dilation10",
    "init": "scratch",
    "width": 0.5,
    "amp": False,
    "iterations": 10,
    "batch_size": 4,
    "crop": [16, 24],
    "optimizer": "adam",
    "lr": 0.01,
    "momentum": 0.8,
    "context": {"iterations": 3, "batch_size": 2, "lr": 0.1},
    "joint": {"iterations": 5, "crop": 8},
}


def test_each_stage_states_its_own_keys_over_the_front_ends():
    assert stages.stage_settings(BLOCK, "frontend") == {
        "arch": "frontend",
        "init": "scratch",
        "width": 0.5,
        "amp": False,
        "iterations": 10,
        "batch_size": 4,
        "crop": [16, 24],
        "optimizer": "adam",
        "lr": 0.01,
        "momentum": 0.8,
    }
    # no init (it starts from the previous stage), no crop (whole frames)
    assert stages.stage_settings(BLOCK, "context") == {
        "arch": "dilation10",
        "width": 0.5,
        "amp": False,
        "iterations": 3,
        "batch_size": 2,
        "optimizer": "adam",
        "lr": 0.1,
        "momentum": 0.8,
    }
    assert stages.stage_settings(BLOCK, "joint") == {
        "arch": "dilation10",
        "width": 0.5,
        "amp": False,
        "iterations": 5,
        "batch_size": 4,
        "crop": 8,
        "optimizer": "adam",
        "lr": 0.01,
        "momentum": 0.8,
    }


def test_a_stage_without_its_block_trains_nothing_and_unstated_values_are_the_dataclass_defaults():
    block = {"width": 0.5, "iterations": 10, "batch_size": 4, "crop": 16}
    config = stages.stage_config(block, "context", out="run")
    assert (config.iterations, config.batch_size, config.arch) == (0, 4, "dilation10")
    assert (config.lr, config.momentum, config.weight_decay, config.optimizer) == (1e-4, 0.99, 5e-4, "sgd")
    assert stages.stage_config(block, "frontend", out="run").crop == (16, 16)
    assert stages.stages(block) == ("frontend", "context", "joint")
    assert stages.stages({**block, "arch": "frontend"}) == ("frontend",)
    assert stages.final_stage({**block, "arch": "frontend"}) == "frontend"


@pytest.mark.parametrize(
    "block, message",
    [
        ({"context": {"crop": 64}}, "segmentation.context: unknown key(s) ['crop'] (the context stage trains on whole"),
        ({"joint": {"learning_rate": 1}}, "segmentation.joint: unknown key(s) ['learning_rate']"),
        ({"lr": "0.1"}, "config segmentation.lr must be a number, got '0.1'"),
        ({"joint": {"iterations": 1.5}}, "config segmentation.joint.iterations must be a whole number, got 1.5"),
        ({"class_balanced": "false"}, "config segmentation.class_balanced must be true or false, got 'false'"),
        ({"crop": [8, 8, 8]}, "config segmentation.crop must be a list of 2 (a whole number, a whole number)"),
        ({"joint": {"crop": 0}}, "config segmentation.joint.crop must have positive entries, got [0, 0]"),
        ({"momentum": -0.9}, "config segmentation.momentum must not be negative, got -0.9"),
        ({"arch": "dilation8"}, "segmentation.arch: 'dilation8' is not one of frontend, dilation10"),
    ],
)
def test_wrong_keys_and_values_are_refused_naming_them(block, message):
    with pytest.raises(ConfigError) as err:
        stages.check_block({"width": 0.5, "iterations": 1, "batch_size": 1, "crop": 8, **block})
    assert message in str(err.value)


def test_settings_take_the_fields_types():
    config = config_from_settings({"lr": 1, "crop": 8, "amp": False, "init_weights": None}, out="x")
    assert config.lr == 1.0 and isinstance(config.lr, float)
    assert config.crop == (8, 8) and config.amp is False and config.init_weights is None
    with pytest.raises(ConfigError, match="'out'"):  # paths are flags, not settings
        config_from_settings({"out": "y"}, out="x")
    with pytest.raises(ConfigError, match="segmentation setting batch_size must be a whole number, got True"):
        config_from_settings({"batch_size": True}, out="x")


def test_schema_defaults_are_the_dataclasses():
    segmentation = SCHEMA["properties"]["segmentation"]["properties"]
    documented = {key: spec["default"] for key, spec in segmentation.items() if "default" in spec}
    assert {"arch", "init", "amp", "class_balanced"} <= set(documented)
    for key, default in documented.items():
        assert default == stages.defaults()[key], key
    assert SCHEMA["properties"]["adaptation"]["properties"]["amp"]["default"] == AdaptOptions.amp


def test_params_and_flags_make_the_same_config_and_a_setting_given_twice_is_refused(tmp_path, capsys):
    settings = {"arch": "frontend", "iterations": 3, "crop": [8, 16], "lr": 0.01, "amp": False}
    by_params, _ = parse_args(["--run-dir", str(tmp_path), "--frames", "f.tsv", "--params", json.dumps(settings)])
    by_flags, _ = parse_args(
        [
            "--run-dir",
            str(tmp_path),
            "--frames",
            "f.tsv",
            "--arch",
            "frontend",
            "--iterations",
            "3",
            "--crop",
            "8",
            "16",
            "--lr",
            "0.01",
            "--no-amp",
        ]
    )
    assert by_params == by_flags
    assert (by_params.crop, by_params.init, by_params.momentum) == ((8, 16), "imagenet", 0.99)
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--run-dir", str(tmp_path), "--frames", "f.tsv", "--params", '{"lr": 0.1}', "--lr", "0.2"])
    assert exit_.value.code == 2 and "['lr'] given both in --params and as flags" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(["--run-dir", str(tmp_path), "--frames", "f.tsv", "--params", '{"lr": "fast"}'])
    assert "segmentation setting lr must be a number, got 'fast'" in capsys.readouterr().err


def test_the_finished_model_is_also_written_to_out(tmp_path):
    frames = write_segmentation_frames(tmp_path)
    settings = {"arch": "frontend", "init": "scratch", "iterations": 1, "batch_size": 1, "crop": 8, "width": 1 / 32}
    train_main(
        [
            "--params",
            json.dumps(settings),
            "--frames",
            str(frames),
            "--run-dir",
            str(tmp_path / "run"),
            "--device",
            "cpu",
            "--out",
            str(tmp_path / "published" / "model.pt"),
        ]
    )
    assert (tmp_path / "published" / "model.pt").read_bytes() == (tmp_path / "run" / "model.pt").read_bytes()
    assert torch.load(tmp_path / "run" / "model.pt")["model_config"]["arch"] == "frontend"


def documented_schedule() -> dict[tuple[str, str], object]:
    """docs/fidelity.md's "Segmentation schedule" table: (stage, setting) -> value."""
    text = (REPO / "docs" / "fidelity.md").read_text()
    section = text.split("## Segmentation schedule", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\w+) \| (\w+) \| ([^|]+) \|", section, flags=re.M)
    return {(stage, key): ast.literal_eval(value.strip()) for stage, key, value in rows if stage != "stage"}


# The settings that shape what a stage learns (workers, tiles and logging do not).
SCHEDULE = (
    "arch",
    "init",
    "width",
    "amp",
    "class_balanced",
    "iterations",
    "batch_size",
    "accumulate",
    "crop",
    "optimizer",
    "lr",
    "momentum",
    "weight_decay",
)


def test_every_value_of_every_paper_stage_is_the_documented_one():
    table = documented_schedule()
    segmentation = PAPER["segmentation"]
    checked = set()
    for stage in stages.stages(segmentation):
        resolved = stages.stage_config(segmentation, stage, out="run")
        used = [key for key in SCHEDULE if key in stages.STAGE_KEYS[stage] + stages.NETWORK_KEYS[stage] + ("arch",)]
        for key in used:
            assert (stage, key) in table, f"docs/fidelity.md has no row for {stage} {key}"
            assert getattr(resolved, key) == table[stage, key], (stage, key)
            checked.add((stage, key))
    assert checked == set(table)  # and no row documents a value no stage uses
    assert table["joint", "momentum"] == 0.9


def test_no_paper_value_arrives_by_inheritance_or_default():
    segmentation = PAPER["segmentation"]
    for stage in ("context", "joint"):
        assert set(stages.STAGE_KEYS[stage]) <= set(segmentation[stage]), stage
    stated_for_all = set(stages.STAGE_KEYS["frontend"]) | {"arch", "init", "width", "amp", "class_balanced"}
    assert stated_for_all <= set(segmentation)
    assert PAPER["adaptation"]["amp"] is False and segmentation["amp"] is False  # fp32 for the published numbers
