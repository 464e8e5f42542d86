"""The paper-schedule projection's arithmetic, with the FLOP counts fixed by hand."""

import pytest

from benchmarks import project_paper
from benchmarks.project_paper import MEASURED, project

CONFIG = {
    "splits": {"translator_target": 10, "heldout_source": 5, "regimes": {"2k": 10, "25k": "all"}},
    "translators": {
        "source-only": {"model": "identity"},
        "sggan-25k": {"model": "sggan", "regime": "25k", "params": {"epochs": 2}},
        "cyclegan-2k": {"model": "cyclegan", "regime": "2k", "params": {"epochs": 4}},
    },
    "adaptation": {"working_size": [256, 512]},
    "segmentation": {
        "iterations": 100,
        "batch_size": 8,
        "crop": 256,
        "workers": 4,
        "context": {"iterations": 10, "batch_size": 100},
        "joint": {"iterations": 50, "batch_size": 1, "crop": 1024},
    },
    "oracle": True,
}


@pytest.fixture
def jobs(monkeypatch):
    monkeypatch.setattr(
        project_paper, "translator_iteration_flops", lambda model, params: {"sggan": 1e12, "cyclegan": 5e12}[model]
    )
    monkeypatch.setattr(
        project_paper, "generator_frame_flops", lambda model, params, size: {"sggan": 1e12, "cyclegan": 10e12}[model]
    )
    monkeypatch.setattr(
        project_paper,
        "segmentation_flops",
        lambda seg: {"frontend": 2e12, "joint": 8e12, "context": 1e6, "frontend_frame": 3e12, "frame": 6e12},
    )
    return {(job.row, job.stage): job for job in project(CONFIG)}


def test_translator_jobs_from_epochs_frames_and_measured_rates(jobs):
    sggan_rate, adapt_rate, unet_rate = (
        MEASURED[k][0] for k in ("sggan_train_it_s", "adapt_frames_s", "unet_alone_frames_s")
    )
    sggan = jobs[("sggan-25k", "train sggan")]
    assert sggan.work == 2 * 10 and sggan.rate == sggan_rate  # min(24966 - 5, 10) iterations an epoch
    assert sggan.hours == pytest.approx(20 / sggan_rate / 3600)
    cyclegan = jobs[("cyclegan-2k", "train cyclegan")]
    assert cyclegan.work == 4 * 10 and cyclegan.rate == pytest.approx(sggan_rate / 5)  # 5x the FLOPs
    assert jobs[("sggan-25k", "adapt")].rate == adapt_rate  # the codec's floor: the U-Net is faster
    assert jobs[("cyclegan-2k", "adapt")].rate == pytest.approx(min(adapt_rate, unet_rate / 10))
    assert ("source-only", "adapt") not in jobs and ("source-only", "train identity") not in jobs


def test_segmentation_jobs_for_every_row_and_the_oracle(jobs):
    rows = {row for row, _ in jobs}
    assert rows == {"source-only", "sggan-25k", "cyclegan-2k", "oracle"}
    frontend = jobs[("oracle", "front-end")]
    assert frontend.work == 800 and frontend.rate == MEASURED["frontend_train_img_s"][0]
    assert jobs[("oracle", "dump scores")].work == 2975 and jobs[("sggan-25k", "dump scores")].work == 24966
    achieved = MEASURED["frontend_train_img_s"][0] * 2e12
    assert jobs[("oracle", "joint")].rate == pytest.approx(achieved / 8e12)
    assert jobs[("oracle", "context")].rate == pytest.approx(4 / project_paper.SCORE_FILE_LOAD_S)  # loader-bound
    assert jobs[("oracle", "predict")].rate == pytest.approx(1 / (MEASURED["frontend_infer_s"][0] * 2))
