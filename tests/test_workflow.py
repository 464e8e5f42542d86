"""The workflow's wiring: dry runs of the shipped configs, fail-fast data checks, config validation."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import PAPER, REPO, WITHOUT_STANDARD_INCEPTION, dry_run, fake_real_data


def test_toy_dry_run_lists_every_stage(tmp_path):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    result = dry_run(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    for rule in (
        "toy_world",
        "check_gta",
        "splits",
        "train_translator",
        "adapt",
        "gather_adapted",
        "class_stats",
        "train_frontend",
        "dump_frontend_scores",
        "train_context",
        "train_joint",
        "predict",
        "evaluate",
        "table2",
    ):
        assert rule in result.stdout


def test_paper_config_lists_the_full_dag_when_data_is_present(tmp_path, toy_samples):
    gta, cityscapes = fake_real_data(tmp_path / "datasets", toy_samples)
    # no target: `all` is the default, so nothing has to follow --configfile (which takes several)
    result = dry_run(
        tmp_path,
        "--config",
        f"data={{gta_root: {gta}, cityscapes_root: {cityscapes}}}",
        "quality={kid_weights: random}",  # as WITHOUT_STANDARD_INCEPTION
        "--configfile",
        str(PAPER),
        target=(),
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "rule toy_world" not in result.stdout
    # paper settings, not the toy's: the paper config replaces config.yaml rather than merging into it
    settings = stage_settings(result.stdout)
    assert settings["frontend"]["iterations"] == 40000 and settings["frontend"]["width"] == 1.0
    for method in (
        "source-only",
        "sggan-2k",
        "sggan-25k",
        "sggan-2k-no-grad",
        "sggan-2k-no-sd",
        "cyclegan-2k",
        "dualgan-2k",
        "simgan-2k",
        "bigan-2k",
        "oracle",
    ):
        for seed in (0, 1, 2):
            assert f"results/scores/{method}/seed{seed}.json" in result.stdout
    # three seeds of every trained translator; source-only's frames are the same for all seeds
    assert result.stdout.count("rule train_translator:") == 8 * 3
    assert result.stdout.count("rule adapt:") == 4 * (8 * 3 + 1)  # in 4 shards
    # Dilation10's three stages per method and seed, each its own job, with the paper's schedule
    for rule in ("train_frontend", "dump_frontend_scores", "train_context", "train_joint"):
        assert result.stdout.count(f"rule {rule}:") == 10 * 3, rule  # 9 translators and the oracle
    assert result.stdout.count("rule predict:") == 4 * 10 * 3  # in 4 shards
    assert settings["frontend"]["init"] == "imagenet" and settings["frontend"]["crop"] == 256
    assert (settings["context"]["iterations"], settings["context"]["batch_size"]) == (24000, 100)
    assert settings["joint"]["iterations"] == 60000 and settings["joint"]["momentum"] == 0.9
    assert "segmentation.predict --model results/segmentation/oracle/seed2/joint/model.pt" in result.stdout
    # fp32 for the published numbers: adaptation, score dumps and prediction pass --no-amp
    for command in ("sggan.adapt", "segmentation.dump", "segmentation.predict"):
        lines = [line for line in result.stdout.splitlines() if f"-m {command} " in line]
        assert lines and all(" --no-amp " in line for line in lines), command
    assert all(stage["amp"] is False for stage in settings.values())


def stage_settings(dry_run_output: str) -> dict[str, dict]:
    """The --params of each segmentation stage's training commands (the same for every method)."""
    settings = {}
    for rule, params in re.findall(
        r"rule train_(frontend|context|joint):.*?segmentation\.train --params '(.*?)'", dry_run_output, flags=re.S
    ):
        assert settings.setdefault(rule, json.loads(params)) == json.loads(params)
    return settings


def test_a_data_file_after_the_paper_config_points_it_at_the_data(tmp_path, toy_samples):
    # the README's way to use real data without editing a tracked file
    gta, cityscapes = fake_real_data(tmp_path / "datasets", toy_samples)
    my_data = tmp_path / "my-data.yaml"
    my_data.write_text(f"data:\n  gta_root: {gta}\n  cityscapes_root: {cityscapes}\n" + WITHOUT_STANDARD_INCEPTION)
    result = dry_run(tmp_path, "--configfile", str(PAPER), str(my_data), target=())
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"--root {gta} " in result.stdout and f"--root {cityscapes} " in result.stdout
    # merged into the paper config, not replacing it: its other settings stay
    assert '"iterations": 40000' in result.stdout and result.stdout.count("rule adapt:") == 4 * (8 * 3 + 1)


@pytest.mark.parametrize("weights", ["missing", "wrong"])
def test_paper_config_refuses_a_missing_or_wrong_inception_weights_file_at_start(tmp_path, toy_samples, weights):
    gta, cityscapes = fake_real_data(tmp_path / "datasets", toy_samples)
    weights_file = tmp_path / "weights-inception-2015-12-05-6726825d.pth"
    if weights == "wrong":
        weights_file.write_bytes(b"an interrupted download")
    my_data = tmp_path / "my-data.yaml"
    my_data.write_text(
        f"data:\n  gta_root: {gta}\n  cityscapes_root: {cityscapes}\nquality:\n  kid_weights_file: {weights_file}\n"
    )
    result = dry_run(tmp_path, "--configfile", str(PAPER), str(my_data), target=())
    assert result.returncode == 2, result.stdout[-3000:]
    errors = [line for line in result.stdout.splitlines() if line.startswith("error:")]
    url = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
    assert len(errors) == 1 and errors[0].startswith(f"error: config quality.kid_weights_file: {weights_file} ")
    assert f"download {url}" in errors[0] and ("sha256" in errors[0]) == (weights == "wrong")
    assert "Traceback" not in result.stdout and "rule " not in result.stdout


def jobs(dry_run_output: str) -> dict[str, int]:
    """Job counts per rule, from a dry run's job stats."""
    return {
        rule: int(count)
        for rule, count in re.findall(r"^(\w+)\s+(\d+)$", dry_run_output, flags=re.M)
        if rule != "total"
    }


def test_seeds_multiply_only_the_seeded_work(tmp_path):
    config = yaml.safe_load((REPO / "tests/data/tiny_config.yaml").read_text())
    counts = {}
    for seeds in ([0], [0, 1]):
        (tmp_path / "config.yaml").write_text(yaml.safe_dump({**config, "seeds": seeds}))
        result = dry_run(tmp_path)
        assert result.returncode == 0, result.stdout[-3000:]
        counts[len(seeds)] = jobs(result.stdout)
    one, two = counts[1], counts[2]
    seeded = (
        "train_translator",
        "class_stats",
        "train_frontend",
        "dump_frontend_scores",
        "train_context",
        "train_joint",
        "predict",
        "evaluate",
    )
    assert {rule: two[rule] for rule in seeded} == {rule: 2 * one[rule] for rule in seeded}
    # 2 shards of source-only's frames, shared, and of each seed of the 2 trained translators
    assert (one["adapt"], two["adapt"]) == (2 * 3, 2 * (1 + 2 * 2))
    shared = set(one) - set(seeded) - {"adapt", "gather_adapted"}
    assert {rule: two[rule] for rule in shared} == {rule: one[rule] for rule in shared}
    assert "toy_world" in shared and "splits" in shared and "kid" in shared and "table2" in shared


def test_paper_config_without_data_fails_fast_naming_the_path_and_the_download(tmp_path):
    result = dry_run(
        tmp_path,
        "--configfile",
        str(PAPER),
        "--config",
        f"data={{gta_root: {tmp_path}/nowhere, cityscapes_root: {tmp_path}/none}}",
    )
    assert result.returncode != 0
    message = result.stdout
    assert f"{tmp_path}/nowhere" in message and "download" in message.lower()


@pytest.mark.parametrize(
    "override, message",
    [
        (
            "translators={mine: {model: no-such-model}}",
            "error: config translators.mine: unknown translator model 'no-such-model'; available:",
        ),
        (
            "ab_study={pairs: [{a: sggan-2k, b: dualgan-2k}]}",
            "error: config ab_study.pairs[0]: 'sggan-2k' vs 'dualgan-2k' must name two different configured",
        ),
        (
            "figures={fig5_gradient_zoom: {full: sggan-2k, ablation: sggan-2k-no-grad}}",
            "error: config figures.fig5_gradient_zoom.ablation: 'sggan-2k-no-grad' is not a configured translator",
        ),
        (
            {"context": {"iterations": 5, "crop": 8}},
            "error: config segmentation.context: unknown key(s) ['crop'] (the context stage trains on whole frames",
        ),
    ],
)
def test_config_mistakes_are_refused_at_start_in_one_line(tmp_path, override, message):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    if isinstance(override, dict):  # segmentation settings, which the schema leaves to segmentation.stages
        config["segmentation"].update(override)
        override = "device=cpu"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = dry_run(tmp_path, "--config", override)
    assert result.returncode == 2, result.stdout[-3000:]
    assert message in result.stdout and "Traceback" not in result.stdout and 'File "' not in result.stdout


def test_jobs_run_the_interpreter_that_runs_snakemake(tmp_path):
    # a `python` first on the PATH that fails, as an interpreter without the project's packages would
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").write_text("#!/bin/sh\nexit 3\n")
    (tmp_path / "bin" / "python").chmod(0o755)
    shutil.copy(REPO / "tests/data/tiny_config.yaml", tmp_path / "config.yaml")
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(tmp_path),
        "--cores",
        "1",
        "results/data/toy_world.txt",
    ]
    result = subprocess.run(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"},
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Toy world" in (tmp_path / "results/data/toy_world.txt").read_text()


@pytest.mark.parametrize(
    "override, message",
    [
        ("adaptation={working_size: [128]}", "error: config: adaptation.working_size: [128] is too short"),
        (
            "adaptation={working_size: [128, wide]}",
            "error: config: adaptation.working_size.1: 'wide' is not of type 'integer'",
        ),
        ("segmentation={iterations: five}", "error: config: segmentation.iterations: 'five' is not of type 'integer'"),
    ],
)
def test_schema_names_a_wrong_config_value_in_one_line(tmp_path, override, message):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = dry_run(tmp_path, "--config", override)
    assert result.returncode == 2, result.stdout[-3000:]
    errors = [line for line in result.stdout.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(message), result.stdout[-3000:]
    assert "Failed validating" not in result.stdout and "Traceback" not in result.stdout


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
    assert f"--run-dir {volume}/results/translators/sggan-2k/seed0 " in out
    assert f"--out {volume}/results/adapted/sggan-2k/seed0/images " in out
    assert f"--out {volume}/results/predictions/oracle/seed0/labels " in out
    assert f"sggan.data.toyworld --out {volume}/data/toy " in out
    # ... and the jobs write their declared files where the storage provider takes them
    for run, made in (("translators/sggan-2k/seed0", "generator.pt"), ("segmentation/oracle/seed0/joint", "model.pt")):
        assert re.search(rf"--run-dir {volume}/results/{run} --out \S*/storage/results/{run}/{made} ", out), made
    assert "&& cp" not in out
    assert " results/adapted/sggan-2k/seed0/images" not in out


def parsed_workflow(workdir: Path, *deployment_methods: str) -> dict:
    """The rules and the jobs' shell prefix as Snakemake parses them (tests/parsed_workflow.py)."""
    result = subprocess.run(
        [sys.executable, str(REPO / "tests/parsed_workflow.py"), str(workdir), *deployment_methods],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_every_job_that_runs_a_program_records_its_time_and_memory(tmp_path):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    rules = parsed_workflow(tmp_path)["rules"]
    assert len([rule for rule in rules.values() if rule["shell"]]) >= 27
    for name, rule in rules.items():
        if rule["shell"]:
            assert rule["benchmark"], f"rule {name} has no benchmark:"
            bench = rule["benchmark"]
            assert bench == f"results/benchmarks/{name}.tsv" or bench.startswith(f"results/benchmarks/{name}/"), bench
            # a wildcard the file name lacks would have that rule's jobs overwrite each other's record
            assert rule["benchmark_wildcards"] == rule["output_wildcards"], name


def test_every_job_writes_both_of_its_streams_to_its_log(tmp_path):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    rules = parsed_workflow(tmp_path)["rules"]
    for name, rule in rules.items():
        if rule["shell"]:
            assert len(rule["log"]) == 1, name
            # stdout first, then stderr onto it: the other order would leave stderr on the terminal
            assert rule["command"].rstrip().endswith("> {log:q} 2>&1"), (name, rule["command"])


def test_every_rule_names_the_one_conda_environment(tmp_path):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    rules = parsed_workflow(tmp_path)["rules"]
    for name, rule in rules.items():
        if rule["shell"]:
            assert rule["conda"] == str(REPO / "workflow/envs/sggan.yaml"), name


def test_jobs_run_the_deployed_environments_python_under_conda(tmp_path):
    # read from the parsed workflow: a dry run with --software-deployment-method conda calls conda
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    host = parsed_workflow(tmp_path)
    assert host["prefix"] == f"set -euo pipefail; PYTHON={shlex.quote(sys.executable)}; " and host["checkout"] is None
    # conda activates the rule's environment before the prefix runs: its `python` has the checkout
    # installed by workflow/envs/sggan.post-deploy.sh from the path the Snakefile hands it
    conda = parsed_workflow(tmp_path, "conda")
    assert conda["prefix"] == "set -euo pipefail; PYTHON=python; " and conda["checkout"] == str(REPO)
    # environment modules alone change no rule (none declares envmodules:), so the host's interpreter stays
    assert parsed_workflow(tmp_path, "env_modules")["prefix"] == host["prefix"]


def test_every_job_runs_in_the_configured_container_and_its_python_under_apptainer(tmp_path):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    assert all(rule["container"] is None for rule in parsed_workflow(tmp_path)["rules"].values())
    image = "docker://registry.example/sggan-benchmark:1"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({**config, "container": image}))
    apptainer = parsed_workflow(tmp_path, "apptainer")
    assert {name: rule["container"] for name, rule in apptainer["rules"].items() if rule["shell"]} == {
        name: image for name, rule in apptainer["rules"].items() if rule["shell"]
    }
    assert apptainer["prefix"] == "set -euo pipefail; PYTHON=python; "  # the image's, not this machine's


def test_post_deploy_script_installs_the_checkout_it_is_given(tmp_path):
    (tmp_path / "python").write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/args"\n')
    (tmp_path / "python").chmod(0o755)
    script = REPO / "workflow/envs/sggan.post-deploy.sh"
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "SGGAN_CHECKOUT": "/some/checkout"}
    result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    # with the metrics extra: paper.yaml's KID/FID jobs import torch-fidelity
    assert (tmp_path / "args").read_text().split() == [
        "-m",
        "pip",
        "install",
        "--no-cache-dir",
        "-e",
        "/some/checkout[metrics]",
    ]
    del env["SGGAN_CHECKOUT"]
    (tmp_path / "args").unlink()
    result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith("error: SGGAN_CHECKOUT is not set")
    assert not (tmp_path / "args").exists()


def test_snakemake_lint_finds_nothing(tmp_path):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    command = [sys.executable, "-m", "snakemake", "--lint", "--snakefile", str(REPO / "Snakefile")]
    result = subprocess.run(
        [*command, "--directory", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert result.returncode == 0 and "Lints for" not in result.stdout, result.stdout[-3000:]
