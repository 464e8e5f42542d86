"""A translator's run folder knows what it holds: the model, its parameters, the seed and the data
(checkpoint.pt and generator.pt). Adapting with, or training into, a folder that holds something
else is refused with each difference spelled out, and a corrupt file is named with its fix; on
the command line each is one 'error:' line (exit 2)."""

import json

import pytest
import torch
from conftest import write_frames

from sggan import runs, version
from sggan.adapt import main as adapt_main
from sggan.cli import USER_ERROR_EXIT, run
from sggan.data.io import write_frame_list
from sggan.translators import build_translator

CPU = torch.device("cpu")
SHORT = {"epochs": 1, "max_iterations_per_epoch": 1, "load_size": [16, 32], "crop_size": [16, 32], "workers": 0}
SGGAN = {**SHORT, "generator_depth": 3, "ngf": 4, "ndf": 4, "pool_size": 1}
DUALGAN = {**SHORT, "generator_depth": 3, "ngf": 4, "ndf": 4}
CYCLEGAN = {**SHORT, "ngf": 4, "ndf": 4, "blocks": 1}


@pytest.fixture
def frames(tmp_path):
    return write_frames(tmp_path / "v", 2, True, 0), write_frames(tmp_path / "r", 2, False, 1)


def trained(model: str, params: dict, frames, run_dir):
    build_translator(model, params).train(*frames, run_dir, CPU, seed=0)
    return run_dir


def test_adapting_with_another_model_or_other_parameters_is_refused(frames, tmp_path):
    run_dir = trained("dualgan", DUALGAN, frames, tmp_path / "run")
    with pytest.raises(
        runs.RunFolderError,
        match=r"generator.pt was trained with other settings \(model: 'dualgan' "
        r"-> 'sggan'; .*use the settings it was trained with, or retrain",
    ):
        build_translator("sggan", SGGAN).generator(run_dir, CPU)
    with pytest.raises(runs.RunFolderError, match=r"\(generator_depth: 3 -> 4\)"):
        build_translator("dualgan", {**DUALGAN, "generator_depth": 4}).generator(run_dir, CPU)
    # settings a run may change when it resumes are no difference
    assert not build_translator("dualgan", {**DUALGAN, "epochs": 3}).generator(run_dir, CPU).training


def test_the_adapt_command_prints_the_mismatch_as_one_error_line(frames, tmp_path, capsys):
    run_dir = trained("dualgan", DUALGAN, frames, tmp_path / "run")
    write_frame_list(tmp_path / "frames.tsv", frames[0])
    argv = [
        "--model",
        "sggan",
        "--params",
        json.dumps(SGGAN),
        "--run-dir",
        str(run_dir),
        "--frames",
        str(tmp_path / "frames.tsv"),
        "--out",
        str(tmp_path / "adapted"),
        "--working-size",
        "16",
        "32",
        "--device",
        "cpu",
        "--done",
        str(tmp_path / "done.tsv"),
    ]
    with pytest.raises(SystemExit) as exit_info:
        run(lambda: adapt_main(argv))
    assert exit_info.value.code == USER_ERROR_EXIT
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("error: ") and "model: 'dualgan' -> 'sggan'" in lines[-1]
    assert not (tmp_path / "adapted").exists()


def test_training_into_a_finished_folder_of_another_model_or_setup_is_refused(frames, tmp_path):
    run_dir = trained("sggan", SGGAN, frames, tmp_path / "run")
    before = (run_dir / "generator.pt").read_bytes()
    with pytest.raises(runs.RunFolderError, match=r"model: 'sggan' -> 'cyclegan'.*delete .*run to train anew"):
        build_translator("cyclegan", CYCLEGAN).train(*frames, run_dir, CPU, seed=0)
    with pytest.raises(runs.RunFolderError, match=r"seed: 0 -> 1"):
        build_translator("sggan", SGGAN).train(*frames, run_dir, CPU, seed=1)
    with pytest.raises(runs.RunFolderError, match=r"lambda_grad: 5.0 -> 1.0"):
        build_translator("sggan", {**SGGAN, "lambda_grad": 1.0}).train(*frames, run_dir, CPU, seed=0)
    assert (run_dir / "generator.pt").read_bytes() == before
    build_translator("sggan", SGGAN).train(*frames, run_dir, CPU, seed=0)  # the same setup: complete


@pytest.mark.parametrize("damage", ["truncated", "empty", "foreign"])
def test_a_corrupt_checkpoint_or_generator_is_named_with_its_fix(damage, frames, tmp_path):
    run_dir = trained("sggan", SGGAN, frames, tmp_path / "run")

    def spoil(path):
        data = path.read_bytes()
        path.write_bytes({"truncated": data[: len(data) // 2], "empty": b"", "foreign": b"not a torch file"}[damage])

    spoil(run_dir / "generator.pt")
    with pytest.raises(
        runs.RunFolderError,
        match=r"run/generator.pt is corrupt or incomplete \(.*\); delete it and "
        r"train the sggan translator into .*run again",
    ):
        build_translator("sggan", SGGAN).generator(run_dir, CPU)
    (run_dir / "generator.pt").unlink()
    spoil(run_dir / "checkpoint.pt")
    with pytest.raises(
        runs.RunFolderError,
        match=r"run/checkpoint.pt is corrupt or incomplete \(.*\); delete it to "
        r"train from the start",
    ):
        build_translator("sggan", SGGAN).train(*frames, run_dir, CPU, seed=0)


def test_run_folder_files_record_the_code_version(frames, tmp_path):
    # recorded, not compared: the version changes with every commit and a resume must survive that
    run_dir = trained("dualgan", DUALGAN, frames, tmp_path / "run")
    for name in ("generator.pt", "checkpoint.pt"):
        assert torch.load(run_dir / name, weights_only=False)["code_version"] == version.code_version()
