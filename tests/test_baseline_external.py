"""External translator: a user's program run from command templates, checked frame by frame."""

import json
import shlex
import sys

import pytest
import torch
from conftest import REPO, dry_run, write_frames

from sggan.adapt import main as adapt_main
from sggan.data.io import DataError, Frame, image_size, read_frame_list, write_frame_list
from sggan.translators import build_translator
from sggan.translators.external import External, render

PYTHON = shlex.quote(sys.executable)

# Adapts every frame of the list by resizing its image to its label's size; the optional third
# argument names a frame to forget, the fourth a file that logs the ids it was given.
ADAPT_SCRIPT = """
import csv, sys
from pathlib import Path
from PIL import Image
frames, out = sys.argv[1], Path(sys.argv[2])
forget = sys.argv[3] if len(sys.argv) > 3 else None
with open(frames, newline="") as f:
    rows = list(csv.DictReader(f, delimiter="\\t"))
if len(sys.argv) > 4:
    with open(sys.argv[4], "a") as log:
        log.write(" ".join(r["id"] for r in rows) + "\\n")
for row in rows:
    if row["id"] == forget:
        continue
    size = Image.open(row["label"]).size if row["id"] != "wrong" else (5, 5)
    Image.open(row["image"]).convert("RGB").resize(size).save(out / (row["id"] + ".png"))
print("adapted", len(rows))
"""

# Trains by counting its frames into {run_dir}/model.txt; counts its runs in {run_dir}/runs.txt.
TRAIN_SCRIPT = """
import sys
from pathlib import Path
source, target, run_dir, seed = sys.argv[1:5]
lines = lambda p: len(Path(p).read_text().splitlines()) - 1
Path(run_dir, "model.txt").write_text(f"{lines(source)} {lines(target)} {seed}")
with open(Path(run_dir, "runs.txt"), "a") as f:
    f.write("run\\n")
"""


@pytest.fixture
def scripts(tmp_path):
    (tmp_path / "adapt.py").write_text(ADAPT_SCRIPT)
    (tmp_path / "train.py").write_text(TRAIN_SCRIPT)
    (tmp_path / "fail.py").write_text("import sys; sys.exit(3)")
    return tmp_path


@pytest.fixture
def frames(tmp_path):
    frames = write_frames(tmp_path / "gta", 4, True, 0)  # frame 000's image and label sizes differ
    write_frame_list(tmp_path / "frames.tsv", frames)
    return frames


def adapt(tmp_path, command, out, shell=False):
    adapt_main(
        [
            "--model",
            "external",
            "--params",
            json.dumps({"adapt_command": command, "shell": shell}),
            "--frames",
            str(tmp_path / "frames.tsv"),
            "--out",
            str(out),
            "--working-size",
            "16",
            "32",
            "--done",
            str(tmp_path / "done.tsv"),
        ]
    )


def test_adapts_every_frame_through_the_pipeline_entry_point(tmp_path, scripts, frames):
    out = tmp_path / "adapted frames" / "images"  # a space in the path: one argument all the same
    adapt(tmp_path, f"{PYTHON} {scripts / 'adapt.py'} {{frames}} {{out}}", out)
    done = read_frame_list(tmp_path / "done.tsv")
    assert [f.id for f in done] == [f.id for f in frames]
    for frame in frames:
        assert image_size(out / f"{frame.id}.png") == image_size(frame.label)
    assert sorted(p.name for p in out.parent.iterdir()) == ["images"]  # the staging folder is gone


def test_a_forgotten_frame_is_named_the_others_kept_and_a_rerun_redoes_only_it(tmp_path, scripts, frames):
    out, log = tmp_path / "out", tmp_path / "ids.log"
    forgetful = f"{PYTHON} {scripts / 'adapt.py'} {{frames}} {{out}} 002 {log}"
    with pytest.raises(DataError, match=r"1 of 4 frames[\s\S]*002: not written"):
        adapt(tmp_path, forgetful, out)
    assert sorted(p.name for p in out.iterdir()) == ["000.png", "001.png", "003.png"]
    assert not (tmp_path / "done.tsv").exists()
    adapt(tmp_path, f"{PYTHON} {scripts / 'adapt.py'} {{frames}} {{out}} none {log}", out)
    assert log.read_text().splitlines() == ["000 001 002 003", "002"]
    assert len(read_frame_list(tmp_path / "done.tsv")) == 4


def test_a_frame_at_the_wrong_size_is_named_with_both_sizes(tmp_path, scripts):
    (frame,) = write_frames(tmp_path / "gta", 1, False, 0)
    write_frame_list(tmp_path / "frames.tsv", [Frame("wrong", frame.image, frame.label)])  # the script mis-sizes it
    with pytest.raises(DataError, match="wrong: written at 5x5, its label .* is 48x24"):
        adapt(tmp_path, f"{PYTHON} {scripts / 'adapt.py'} {{frames}} {{out}}", tmp_path / "out")
    assert not (tmp_path / "out" / "wrong.png").exists()


def test_a_failing_or_missing_program_is_a_clear_error(tmp_path, scripts, frames):
    with pytest.raises(RuntimeError, match="adapt_command exited with status 3"):
        adapt(tmp_path, f"{PYTHON} {scripts / 'fail.py'} {{frames}} {{out}}", tmp_path / "out")
    with pytest.raises(RuntimeError, match="adapt_command cannot start.*no-such-program"):
        adapt(tmp_path, "no-such-program {frames} {out}", tmp_path / "out")


def test_shell_mode_quotes_every_placeholder(tmp_path, scripts, frames):
    out = tmp_path / "it's here" / "images"
    command = f"{PYTHON} {scripts / 'adapt.py'} {{frames}} {{out}} | cat && echo finished >&2"
    adapt(tmp_path, command, out, shell=True)
    assert sorted(p.name for p in out.iterdir()) == [f"{f.id}.png" for f in frames]
    argv = render("prog {out}; ls", {"out": "a b'c"}, shell=True)
    assert argv == ["/bin/sh", "-c", "prog 'a b'\"'\"'c'; ls"]
    assert render("prog --out={out} '{{x}}'", {"out": "a b"}, shell=False) == ["prog", "--out=a b", "{x}"]


def test_training_runs_the_command_once_and_leaves_a_marker_recording_it(tmp_path, scripts, frames):
    command = f"{PYTHON} {scripts / 'train.py'} {{source}} {{target}} {{run_dir}} {{seed}}"
    translator = build_translator("external", {"adapt_command": "prog {frames} {out}", "train_command": command})
    assert translator.trainable
    run = tmp_path / "run dir"
    translator.train(frames, frames[:3], run, torch.device("cpu"), seed=7)
    assert (run / "model.txt").read_text() == "4 3 7"
    marker = torch.load(run / "generator.pt", weights_only=True)
    assert marker["external"] and marker["train_command"][-1] == "7" and str(run) in marker["train_command"]
    translator.train(frames, frames[:3], run, torch.device("cpu"), seed=7)  # finished: not run again
    assert (run / "runs.txt").read_text() == "run\n"
    with pytest.raises(NotImplementedError, match="no torch generator"):
        translator.generator(run, torch.device("cpu"))


def test_failed_training_leaves_no_marker(tmp_path, scripts, frames):
    translator = build_translator(
        "external", {"adapt_command": "prog {frames} {out}", "train_command": f"{PYTHON} {scripts / 'fail.py'}"}
    )
    with pytest.raises(RuntimeError, match="train_command exited with status 3"):
        translator.train(frames, frames, tmp_path / "run", torch.device("cpu"), seed=0)
    assert not (tmp_path / "run" / "generator.pt").exists()


def test_config_checks_the_templates_and_trainable_follows_the_train_command():
    translator = build_translator("external", {"adapt_command": "prog {frames} {out}"})
    assert isinstance(translator, External) and not translator.trainable
    with pytest.raises(NotImplementedError, match="no train_command"):
        translator.train([], [], "run", torch.device("cpu"), seed=0)
    with pytest.raises(ValueError, match="adapt_command is required"):
        build_translator("external", {})
    with pytest.raises(ValueError, match=r"must use \{out\}"):
        build_translator("external", {"adapt_command": "prog {frames}"})
    with pytest.raises(ValueError, match=r"placeholder \{frame\}; known: \{frames\}, \{out\}, \{run_dir\}"):
        build_translator("external", {"adapt_command": "prog {frame} {out}"})
    with pytest.raises(ValueError, match="literal brace"):
        build_translator("external", {"adapt_command": "prog {frames} {out} }"})
    with pytest.raises(ValueError, match=r"train_command .* placeholder \{out\}"):
        build_translator("external", {"adapt_command": "p {frames} {out}", "train_command": "t {out}"})


def test_external_translators_wire_into_the_dag_trained_only_with_a_train_command(tmp_path):
    """The workflow reads `trainable` on the configured instance: a training job only where needed."""
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text())
    translators = (
        'translators={ext-fixed: {model: external, params: {adapt_command: "prog {frames} {out}"}}, '
        'ext-trained: {model: external, regime: 2k, params: {adapt_command: "prog {frames} {out}", '
        'train_command: "train {source} {target} {run_dir}"}}}'
    )
    result = dry_run(tmp_path, "--config", translators)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "output: results/translators/ext-trained/seed0/generator.pt" in result.stdout
    assert "ext-fixed/generator.pt" not in result.stdout and "results/adapted/ext-fixed/frames.tsv" in result.stdout
    assert "-m sggan.adapt --model external" in result.stdout
