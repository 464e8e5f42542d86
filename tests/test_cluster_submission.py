"""The cluster profiles' real submission path: every job of a dry run of each shipped config,
with the resources Snakemake resolved through the profile, handed to the executor plugin's own
code that writes the sbatch command line or the pod spec (tests/cluster_submission.py)."""

import json
import re
import subprocess
import sys

import pytest
from conftest import PAPER, REPO, WITHOUT_STANDARD_INCEPTION, fake_real_data

GPU_RULES = {
    "train_translator",
    "adapt",
    "train_frontend",
    "dump_frontend_scores",
    "train_context",
    "train_joint",
    "predict",
    "kid_target_features",
    "kid",
    "semantic_preservation",
}


def submit(plugin: str, workdir, *snakemake_args: str) -> list[dict]:
    out = workdir / f"{plugin}-submissions.json"
    command = [
        sys.executable,
        str(REPO / "tests" / "cluster_submission.py"),
        plugin,
        str(out),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--workflow-profile",
        str(REPO / "workflow" / "profiles" / plugin),
        *snakemake_args,
    ]
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert result.returncode == 0 and out.is_file(), result.stdout[-3000:]
    return json.loads(out.read_text())


def sbatch_gpu_requests(call: str) -> list[str]:
    options = call.split(" --wrap=")[0]  # the job's own command line follows --wrap
    return re.findall(r"--gpus\S*|--gres=\S*gpu\S*|--gpus-per-\S+", options)


def sbatch_partition(call: str) -> str:
    return re.search(r" -p (\S+)", call).group(1)


def paper_run(tmp_path, samples) -> list[str]:
    """--configfile arguments of the paper config with data roots in an override file."""
    gta, cityscapes = fake_real_data(tmp_path / "datasets", samples)
    override = tmp_path / "my-data.yaml"
    override.write_text(f"data:\n  gta_root: {gta}\n  cityscapes_root: {cityscapes}\n" + WITHOUT_STANDARD_INCEPTION)
    return ["--configfile", str(PAPER), str(override)]


def toy_run(tmp_path) -> list[str]:
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text())
    return []


def check_slurm(jobs: list[dict], gpus_per_job: int) -> None:
    assert jobs
    for job in jobs:
        requests = sbatch_gpu_requests(job["sbatch"])
        if gpus_per_job and job["rule"] in GPU_RULES:
            assert requests == [f"--gpus={gpus_per_job}"], (job["rule"], requests)
            assert sbatch_partition(job["sbatch"]) == "gpu-partition", job["rule"]
        else:
            assert requests == [], (job["rule"], requests)
            assert sbatch_partition(job["sbatch"]) == "cpu-partition", job["rule"]


def check_kubernetes(jobs: list[dict], gpus_per_job: int) -> None:
    assert jobs
    for job in jobs:
        gpu_keys = {k for k in {**job["requests"], **job["limits"]} if "gpu" in k}
        if gpus_per_job and job["rule"] in GPU_RULES:
            assert gpu_keys == {"nvidia.com/gpu"}, (job["rule"], job["requests"])
            # Kubernetes rejects a GPU request without an equal limit
            assert job["requests"]["nvidia.com/gpu"] == job["limits"]["nvidia.com/gpu"] == str(gpus_per_job)
            assert job["tolerations"] == ["nvidia.com/gpu"]
        else:
            assert gpu_keys == set() and job["tolerations"] == [], job["rule"]
        assert job["image"] == "your-registry/sggan-benchmark:latest" and "/mnt/sggan" in job["volumes"]
        # limits as requested (scale: 0), with room on the pod's own disk for declared files
        for key in ("memory", "ephemeral-storage"):
            assert job["limits"][key] == job["requests"][key], (job["rule"], key)
        assert int(job["requests"]["ephemeral-storage"].rstrip("M")) >= 4000


CHECKS = {"slurm": check_slurm, "kubernetes": check_kubernetes}


@pytest.mark.parametrize("plugin", ["slurm", "kubernetes"])
def test_paper_config_submits_one_gpu_request_per_gpu_job(tmp_path, toy_samples, plugin):
    jobs = submit(plugin, tmp_path, *paper_run(tmp_path, toy_samples))
    # the paper DAG, three seeds: 8 trained translators per seed and source-only once adapted in 4
    # shards, 10 segmentation networks per seed predicted in 4
    assert sum(job["rule"] == "adapt" for job in jobs) == 4 * (8 * 3 + 1)
    assert sum(job["rule"] == "predict" for job in jobs) == 4 * 10 * 3
    assert {job["rule"] for job in jobs} >= GPU_RULES
    # localrules run where Snakemake runs and are never submitted
    assert not {"all", "table2", "provenance"} & {job["rule"] for job in jobs}
    CHECKS[plugin](jobs, gpus_per_job=1)


@pytest.mark.slow
@pytest.mark.parametrize("plugin", ["slurm", "kubernetes"])
def test_toy_config_submits_no_gpu_request(tmp_path, plugin):
    jobs = submit(plugin, tmp_path, *toy_run(tmp_path))
    assert {job["rule"] for job in jobs} >= {"train_translator", "adapt", "train_frontend", "predict", "kid"}
    CHECKS[plugin](jobs, gpus_per_job=0)
