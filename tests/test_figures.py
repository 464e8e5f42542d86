"""The paper's figures: each built from tiny fake inputs, and wired into the DAG only when configured."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from conftest import REPO, dry_run

from eval import figures
from eval.figures import HEADER, PAD
from sggan.data.io import DataError, Frame, read_image, write_frame_list, write_image, write_label_ids

CELL = (24, 40)
IDS = ["a01", "a02", "a03"]


def expected_size(rows, cols, cell=CELL):
    h, w = cell
    return HEADER + rows * h + (rows + 1) * PAD, cols * w + (cols + 1) * PAD


def assert_not_blank(png: Path, shape):
    image = read_image(png)
    assert image.shape[:2] == shape
    assert image.std() > 5 and len(np.unique(image.reshape(-1, 3), axis=0)) > 10
    assert not list(png.parent.glob(f".{png.name}.*"))  # no temporary left behind


def fake_label(rng, h=30, w=50):
    """Label ids in blocks: road below, sky above, a car and a building, so boundaries exist."""
    label = np.full((h, w), 23, np.uint8)  # sky
    label[h // 2 :] = 7  # road
    label[5 : h // 2, 30:45] = 11  # building
    x = int(rng.integers(5, 20))
    label[h // 2 - 3 : h // 2 + 5, x : x + 8] = 26  # car
    return label


@pytest.fixture
def world(tmp_path):
    rng = np.random.default_rng(0)
    frames = []
    for frame_id in IDS:
        label = fake_label(rng)
        image_path, label_path = tmp_path / "src" / f"{frame_id}.png", tmp_path / "src" / f"{frame_id}_label.png"
        write_image(
            image_path, (figures.PALETTE[label] * 0.8 + rng.integers(0, 50, (*label.shape, 3))).astype(np.uint8)
        )
        write_label_ids(label_path, label, palette=True)
        frames.append(Frame(frame_id, image_path, label_path))
        for method, shift in (("sggan-2k", 0), ("sggan-2k-no-grad", 20), ("sggan-2k-no-sd", 40)):
            write_image(
                tmp_path / "adapted" / method / f"{frame_id}.png",
                rng.integers(shift, 200 + shift // 2, (32, 64, 3)).astype(np.uint8),
            )
        for method in ("source-only", "sggan-2k"):
            noisy = label.copy()
            noisy[rng.random(label.shape) < 0.2] = 8
            write_label_ids(tmp_path / "pred" / method / f"{frame_id}_labelIds.png", noisy)
    write_frame_list(tmp_path / "frames.tsv", frames)
    for method, n in (("sggan-2k", 60), ("cyclegan-2k", 30)):
        rows = ["epoch,iteration,step,alpha,g_adv,cycle,d_total,seconds"]
        rows += [
            f"0,{i},{i},1,{1 + np.exp(-i / 10) + rng.random() * 0.1},{0.5 / i},{0.3 + rng.random() * 0.2},{i * 0.1}"
            for i in range(1, n + 1)
        ]
        (tmp_path / f"{method}.csv").write_text("\n".join(rows) + "\n")
    return tmp_path


def test_fig4_grid_of_input_and_each_translator(world):
    out = world / "figs" / "fig4.png"
    adapted = {m: world / "adapted" / m for m in ("sggan-2k", "sggan-2k-no-sd")}
    figures.fig4_translations(world / "frames.tsv", adapted, out, num=2, cell=CELL)
    assert_not_blank(out, expected_size(rows=2, cols=3))


def test_fig5_zoomed_crops_on_the_densest_boundaries(world):
    out = world / "fig5.png"
    assert (
        figures.main(
            [
                "fig5",
                "--frames",
                str(world / "frames.tsv"),
                "--with-grad",
                str(world / "adapted/sggan-2k"),
                "--without-grad",
                str(world / "adapted/sggan-2k-no-grad"),
                "--num",
                "4",
                "--cell-size",
                *map(str, CELL),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert_not_blank(out, expected_size(rows=len(IDS), cols=6))  # only 3 frames listed


def test_densest_window_finds_the_boundaries():
    label = np.zeros((40, 80), np.uint8)
    label[20:30, 50:60] = 26  # one small object: its outline is the only boundary
    y, x = figures.densest_window(label, (10, 20))
    assert 10 <= y <= 20 and 40 <= x <= 50  # the window covers the object's outline
    assert figures.boundary_map(label).sum() > 0


def test_fig6_difference_maps(world):
    out = world / "fig6.png"
    figure = figures.fig6_discriminator_diff(
        world / "frames.tsv", world / "adapted/sggan-2k", world / "adapted/sggan-2k-no-sd", out, num=1, cell=CELL
    )
    assert_not_blank(out, expected_size(rows=1, cols=6))
    assert np.array_equal(read_image(out), figure)


def test_fig7_predictions_in_cityscapes_colours(world):
    out = world / "fig7.png"
    predictions = {m: world / "pred" / m for m in ("source-only", "sggan-2k")}
    figure = figures.fig7_segmentation(world / "frames.tsv", predictions, out, num=3, cell=CELL)
    assert_not_blank(out, expected_size(rows=3, cols=4))
    # the ground-truth panel of the first row is in palette colours (road, sky, building, car)
    h, w = CELL
    panel = figure[HEADER + PAD : HEADER + PAD + h, 2 * PAD + w : 2 * PAD + 2 * w].reshape(-1, 3)
    palette = {tuple(figures.PALETTE[i]) for i in (7, 11, 23, 26)}
    assert {tuple(c) for c in np.unique(panel, axis=0)} <= palette


def test_missing_adapted_frame_is_a_clear_error(world):
    out = world / "fig4.png"
    with pytest.raises(DataError, match="nowhere"):
        figures.main(
            ["fig4", "--frames", str(world / "frames.tsv"), "--adapted", f"x={world}/nowhere", "--out", str(out)]
        )
    assert not out.exists()


def test_loss_curves_one_panel_per_translator(world):
    out = world / "loss.png"
    logs = {
        "sggan-2k": world / "sggan-2k.csv",
        "cyclegan-2k": world / "cyclegan-2k.csv",
        "external": world / "missing.csv",
    }
    figures.loss_curves(logs, out)
    image = cv2.imread(str(out))
    assert image.shape[:2] == figures.loss_figure_size(3) and image.std() > 5
    assert figures.loss_terms(figures.read_loss_log(logs["sggan-2k"])) == ["g_adv", "cycle", "d_total"]
    smoothed = figures.smooth(np.arange(10.0), 3)
    assert smoothed[0] == 0 and smoothed[-1] == 8  # mean of 7, 8, 9


def write_train_log(path: Path, rows: list[tuple[int, float]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["iteration,loss,images_per_s,tflops,mfu"] + [f"{i},{loss},12.5,0.1," for i, loss in rows]
    path.write_text("\n".join(lines) + "\n")


def test_segmentation_curves_plot_each_stages_loss_per_method(tmp_path):
    write_train_log(tmp_path / "a/frontend.csv", [(2, 3.0), (4, 2.0), (6, 1.0)])
    write_train_log(tmp_path / "b/frontend.csv", [(2, 4.0), (4, 3.0), (6, 1.0)])
    write_train_log(tmp_path / "a/joint.csv", [(10, 0.5), (20, 0.25)])
    logs = {
        "frontend": {"source-only": tmp_path / "a/frontend.csv", "sggan-2k": tmp_path / "b/frontend.csv"},
        "joint": {"source-only": tmp_path / "a/joint.csv"},
    }
    fig = figures.segmentation_curves_figure(logs, smoothing=2)
    frontend, joint = fig.axes
    assert frontend.get_title() == "segmentation: frontend" and joint.get_title() == "segmentation: joint"
    assert [line.get_label() for line in frontend.lines] == ["source-only", "sggan-2k"]
    # a trailing mean of 2 rows: 3, (3+2)/2, (2+1)/2
    np.testing.assert_array_equal(frontend.lines[0].get_xdata(), [2, 4, 6])
    np.testing.assert_allclose(frontend.lines[0].get_ydata(), [3.0, 2.5, 1.5])
    np.testing.assert_allclose(frontend.lines[1].get_ydata(), [4.0, 3.5, 2.0])
    np.testing.assert_allclose(joint.lines[0].get_ydata(), [0.5, 0.375])

    out = tmp_path / "curves.png"
    figures.main(
        ["segmentation", "--out", str(out)]
        + [f"--log={method}/{stage}={path}" for stage, methods in logs.items() for method, path in methods.items()]
    )
    assert read_image(out).shape[:2] == figures.loss_figure_size(2)


def test_segmentation_curves_refuse_a_log_without_loss(tmp_path):
    (tmp_path / "log.csv").write_text("step,g_total\n1,0.5\n")
    with pytest.raises(DataError, match="not a segmentation training log"):
        figures.read_train_log(tmp_path / "log.csv")
    with pytest.raises(figures.UserError, match="METHOD/STAGE=CSV"):
        figures.main(["segmentation", "--log", f"frontend={tmp_path / 'log.csv'}", "--out", str(tmp_path / "o.png")])


def test_sample_grids_show_each_translators_last_grid(tmp_path):
    red, green = np.array([255, 0, 0], np.uint8), np.array([0, 255, 0], np.uint8)
    for step in (2, 4, 10):  # the earlier grids green, the last one red
        write_image(
            tmp_path / "run" / "samples" / f"step{step:07d}.png", np.tile(red if step == 10 else green, (16, 48, 1))
        )
    assert figures.latest_sample(tmp_path / "run") == (10, tmp_path / "run" / "samples" / "step0000010.png")
    assert figures.latest_sample(tmp_path / "external") is None
    out = tmp_path / "samples.png"
    figures.main(
        ["samples", f"--run=sggan-2k={tmp_path / 'run'}", f"--run=mine={tmp_path / 'external'}", "--out", str(out)]
    )
    image = read_image(out)
    assert image.shape[:2] == figures.loss_figure_size(2)
    assert (image == red).all(axis=2).sum() > 16 * 48  # the last grid, enlarged
    assert not (image == green).all(axis=2).any()  # not an earlier one


def toy_dry_run(workdir: Path, *args: str) -> str:
    (workdir / "config.yaml").write_text((REPO / "config.yaml").read_text())
    result = dry_run(workdir, *args)
    assert result.returncode == 0, result.stdout[-3000:]
    return result.stdout


def test_toy_dag_asks_only_for_the_figures_of_configured_methods(tmp_path):
    out = toy_dry_run(tmp_path)
    for rule in ("fig4_translations", "fig7_segmentation", "loss_curves", "sample_grids", "segmentation_curves"):
        assert f"rule {rule}:" in out
    assert "--run=sggan-2k=results/translators/sggan-2k/seed0 " in out
    assert "--log=oracle/joint=results/segmentation/oracle/seed0/joint/train_log.csv" in out
    assert "rule fig5_gradient_zoom:" not in out and "rule fig6_discriminator_diff:" not in out
    assert "--adapted=sggan-2k=results/adapted/sggan-2k/seed0/images" in out
    assert "--adapted=source-only" not in out  # the input column stands for it
    assert "--prediction=sggan-25k=results/predictions/sggan-25k/seed0/labels" in out


def test_ablations_named_in_figures_add_figs_5_and_6(tmp_path):
    # in a config file: snakemake --config would pass the nested false as the string 'false'
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    toy = config["translators"]["sggan-2k"]["params"]
    config["translators"].update(
        {
            "no-grad": {"model": "sggan", "regime": "2k", "params": {**toy, "use_gradient_loss": False}},
            "sggan-2k-no-sd": {"model": "sggan", "regime": "2k", "params": {**toy, "semantic_discriminator": False}},
        }
    )
    config["figures"].update(
        {
            "fig5_gradient_zoom": {"full": "sggan-2k", "ablation": "no-grad"},
            "fig6_discriminator_diff": {"full": "sggan-2k", "ablation": "sggan-2k-no-sd"},
        }
    )
    (tmp_path / "ablations.yaml").write_text(yaml.safe_dump(config))
    out = toy_dry_run(tmp_path, "--configfile", str(tmp_path / "ablations.yaml"))
    assert "rule fig5_gradient_zoom:" in out and "rule fig6_discriminator_diff:" in out
    assert "--without-grad results/adapted/no-grad/seed0/images" in out
    assert "--without-sd results/adapted/sggan-2k-no-sd/seed0/images" in out
