"""End to end: the whole DAG on a tiny toy world, as a user runs it, in a temporary folder."""
import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sggan.adapt import verify_adapted
from sggan.data.io import read_frame_list

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "data" / "tiny_config.yaml"
pytestmark = pytest.mark.slow


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
               "--directory", str(workdir), "--cores", "2", *args]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if check and result.returncode != 0:
        pytest.fail(f"snakemake {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}")
    return result


def table(workdir: Path) -> list[dict]:
    with (workdir / "results/tables/table2.csv").open() as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("pipeline")
    shutil.copy(TINY, workdir / "config.yaml")
    snakemake(workdir, "all")
    return workdir


def test_table2_has_every_row_with_valid_scores(finished_run):
    rows = table(finished_run)
    assert [r["method"] for r in rows] == ["source-only", "sggan-2k", "sggan-2k-no-sd", "oracle", "ideal"]
    for row in rows:
        for column in ("pixel_acc", "class_acc", "class_iou"):
            assert 0.0 <= float(row[column]) <= 100.0
    paper = {r["method"]: r["paper_class_iou"] for r in rows}
    assert paper["source-only"] == "24.60" and paper["sggan-2k"] == "33.81" and paper["oracle"] == ""
    note = (finished_run / "results/tables/table2.md").read_text()
    assert "seed" in note and "config" in note


def test_every_source_frame_is_adapted_at_its_label_size(finished_run, monkeypatch):
    monkeypatch.chdir(finished_run)  # frame lists hold paths relative to the workflow's folder
    source = read_frame_list(finished_run / "results/data/gta.tsv")
    assert len(source) == 24
    for method in ("source-only", "sggan-2k"):
        assert verify_adapted(source, finished_run / f"results/adapted/{method}/images") == []
    run = finished_run / "results/translators/sggan-2k"
    assert (run / "loss_log.csv").exists() and any((run / "samples").iterdir())


def test_second_run_has_nothing_to_do(finished_run):
    result = snakemake(finished_run, "-n", "all")
    assert "Nothing to be done" in result.stdout + result.stderr


def test_killed_run_resumes_to_the_same_table(finished_run, tmp_path):
    shutil.copy(TINY, tmp_path / "config.yaml")
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
               "--directory", str(tmp_path), "--cores", "1", "all"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 300
    # kill the whole job tree once translator training is under way
    while not (tmp_path / "results/translators/sggan-2k/checkpoint.pt").exists():
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "results/tables/table2.csv").exists()
    snakemake(tmp_path, "--unlock")  # a SIGKILL leaves Snakemake's lock behind
    snakemake(tmp_path, "--rerun-incomplete", "all")
    assert table(tmp_path) == table(finished_run)
