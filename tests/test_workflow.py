"""The workflow's wiring: dry runs of the shipped configs, fail-fast data checks, config validation."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "workflow" / "configs" / "paper.yaml"


def dry_run(workdir: Path, *args: str, target: tuple[str, ...] = ("all",)) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "snakemake", "-n", "-p", "--snakefile", str(REPO / "Snakefile"),
               "--directory", str(workdir), "--cores", "8", *target, *args]
    return subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def fake_real_data(root: Path, samples) -> tuple[Path, Path]:
    """GTA-V and Cityscapes roots in their real layouts, built from sample files (conftest.SampleFiles):
    the wiring tests take the toy world's, which are always there."""
    gta, cityscapes = root / "gta", root / "cityscapes"
    shutil.copytree(samples.root / "gta", gta)
    shutil.copytree(samples.root / "cityscapes", cityscapes)
    return gta, cityscapes


def test_toy_dry_run_lists_every_stage(tmp_path):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    result = dry_run(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    for rule in ("toy_world", "check_gta", "splits", "train_translator", "adapt", "gather_adapted",
                 "class_stats", "train_frontend", "dump_frontend_scores", "train_context", "train_joint",
                 "predict", "evaluate", "table2"):
        assert rule in result.stdout


def test_paper_config_lists_the_full_dag_when_data_is_present(tmp_path, toy_samples):
    gta, cityscapes = fake_real_data(tmp_path / "datasets", toy_samples)
    # no target: `all` is the default, so nothing has to follow --configfile (which takes several)
    result = dry_run(tmp_path, "--config", f"data={{gta_root: {gta}, cityscapes_root: {cityscapes}}}",
                     "--configfile", str(PAPER), target=())
    assert result.returncode == 0, result.stdout[-3000:]
    assert "rule toy_world" not in result.stdout
    # paper settings, not the toy's: the paper config replaces config.yaml rather than merging into it
    assert "--iterations 40000" in result.stdout and "--width 1.0" in result.stdout
    for method in ("source-only", "sggan-2k", "sggan-25k", "sggan-2k-no-grad", "sggan-2k-no-sd", "cyclegan-2k",
                   "dualgan-2k", "simgan-2k", "bigan-2k", "oracle"):
        assert f"results/scores/{method}.json" in result.stdout
    assert result.stdout.count("rule adapt:") == 4 * 9  # 4 shards for each of the 9 translators
    # Dilation10's three stages per method, each its own job, with the paper's schedule
    for rule in ("train_frontend", "dump_frontend_scores", "train_context", "train_joint"):
        assert result.stdout.count(f"rule {rule}:") == 10, rule  # 9 translators and the oracle
    assert result.stdout.count("rule predict:") == 4 * 10  # in 4 shards
    assert "--init imagenet" in result.stdout and "--crop 256 " in result.stdout
    assert "--iterations 24000 --batch-size 100" in result.stdout
    assert "--iterations 60000 --batch-size 1 --accumulate 1 --crop 1024" in result.stdout
    assert "segmentation.predict --model results/segmentation/oracle/joint/model.pt" in result.stdout


def test_a_data_file_after_the_paper_config_points_it_at_the_data(tmp_path, toy_samples):
    # the README's way to use real data without editing a tracked file
    gta, cityscapes = fake_real_data(tmp_path / "datasets", toy_samples)
    my_data = tmp_path / "my-data.yaml"
    my_data.write_text(f"data:\n  gta_root: {gta}\n  cityscapes_root: {cityscapes}\n")
    result = dry_run(tmp_path, "--configfile", str(PAPER), str(my_data), target=())
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"--root {gta} " in result.stdout and f"--root {cityscapes} " in result.stdout
    # merged into the paper config, not replacing it: its other settings stay
    assert "--iterations 40000" in result.stdout and result.stdout.count("rule adapt:") == 4 * 9


def test_paper_config_without_data_fails_fast_naming_the_path_and_the_download(tmp_path):
    result = dry_run(tmp_path, "--configfile", str(PAPER),
                     "--config", f"data={{gta_root: {tmp_path}/nowhere, cityscapes_root: {tmp_path}/none}}")
    assert result.returncode != 0
    message = result.stdout
    assert f"{tmp_path}/nowhere" in message and "download" in message.lower()


def test_unknown_translator_is_refused_at_start(tmp_path):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    result = dry_run(tmp_path, "--config", "translators={mine: {model: no-such-model}}")
    assert result.returncode != 0
    assert "no-such-model" in result.stdout and "available" in result.stdout


def test_an_ab_pair_of_an_unconfigured_translator_is_refused_at_start(tmp_path):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    result = dry_run(tmp_path, "--config", "ab_study={pairs: [{a: sggan-2k, b: dualgan-2k}]}")
    assert result.returncode != 0
    assert "ab_study.pairs[0]: 'sggan-2k' vs 'dualgan-2k' must name two different configured" in result.stdout


def test_schema_names_a_wrong_config_value(tmp_path):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    result = dry_run(tmp_path, "--config", "adaptation={working_size: [128]}")
    assert result.returncode != 0
    assert "working_size" in result.stdout


@pytest.mark.parametrize("profile", ["default", "slurm", "kubernetes"])
def test_every_profile_dry_runs(tmp_path, profile):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    profile_dir = REPO / "workflow" / "profiles" / profile
    result = dry_run(tmp_path, "--workflow-profile", str(profile_dir))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "rule table2" in result.stdout
    # per-rule settings must name rules that exist, or they silently reach nothing
    for rule in yaml.safe_load((profile_dir / "config.yaml").read_text()).get("set-resources", {}):
        assert f"rule {rule}:" in result.stdout, f"{profile} profile sets resources of unknown rule {rule}"


def test_kubernetes_profile_keeps_the_bulk_on_the_shared_volume(tmp_path):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    result = dry_run(tmp_path, "--workflow-profile", str(REPO / "workflow/profiles/kubernetes"))
    assert result.returncode == 0, result.stdout[-3000:]
    out = result.stdout
    volume = "/mnt/sggan/work"
    # what no declared file carries is read and written in place on the volume ...
    assert f"--run-dir {volume}/results/translators/sggan-2k " in out
    assert f"--out {volume}/results/adapted/sggan-2k/images " in out
    assert f"--out {volume}/results/predictions/oracle/labels " in out
    assert f"sggan.data.toyworld --out {volume}/data/toy " in out
    # ... and the declared files a job writes there are copied where the storage provider takes them
    for made in ("translators/sggan-2k/generator.pt", "segmentation/oracle/joint/model.pt"):
        assert re.search(rf"&& cp {volume}/results/{made} \S*/storage/results/{made}\n", out), made
    assert " results/adapted/sggan-2k/images" not in out
