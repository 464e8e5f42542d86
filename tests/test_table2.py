import csv
import hashlib
import io
import json
import subprocess

import cv2
import numpy as np
import pytest

from eval import provenance as prov
from eval.bootstrap import BootstrapConfig, confidence_intervals, paired_difference
from eval.evaluate import frame_confusions_path, score_record, write_frame_confusions, write_scores
from eval.table2 import COLUMNS, main
from eval.tables import provenance_note
from sggan import version
from sggan.data.io import DataError
from sggan.data.labels import NUM_CLASSES, TRAIN_CLASSES

FRAMES = [f"frankfurt_000000_{i:06d}" for i in range(8)]
DRAWS = 200


def confusions(rng, accuracy, frames=FRAMES):
    """(frames, 19, 20) matrices of frames of 100 pixels per class, ``accuracy`` right, the
    rest spread over the other classes and void."""
    conf = np.zeros((len(frames), NUM_CLASSES, NUM_CLASSES + 1), dtype=np.int64)
    for f in range(len(frames)):
        right = rng.binomial(100, accuracy, size=NUM_CLASSES)
        for c in range(NUM_CLASSES):
            wrong = rng.multinomial(100 - right[c], np.full(NUM_CLASSES, 1 / NUM_CLASSES))
            conf[f, c, [j for j in range(NUM_CLASSES + 1) if j != c]] = wrong
            conf[f, c, c] = right[c]
    return conf


def write_run(path, conf, frames=FRAMES):
    """A score file and its per-frame matrices, as eval.evaluate writes them."""
    write_frame_confusions(frame_confusions_path(path), frames, conf)
    write_scores(path, {**score_record(conf.sum(axis=0)), "num_images": len(frames)})
    return path


def make_record(tmp_path, seeds):
    config = tmp_path / "config.yaml"
    config.write_text(f"seeds: {seeds}\n")
    path = tmp_path / "prov.json"
    assert (
        prov.main(
            [
                "--config-json",
                json.dumps({"seeds": seeds}),
                "--seed",
                *map(str, seeds),
                "--config-file",
                str(config),
                "--out",
                str(path),
            ]
        )
        == 0
    )
    return path


@pytest.fixture
def record(tmp_path):
    return make_record(tmp_path, [0, 1])


@pytest.fixture
def runs(tmp_path):
    """Two seeds of three methods: sggan-25k clearly better than source-only, my-translator in between."""
    rng = np.random.default_rng(0)
    accuracy = {"sggan-25k": 0.8, "my-translator": 0.5, "source-only": 0.3}
    return {
        (m, seed): write_run(tmp_path / "scores" / m / f"seed{seed}.json", confusions(rng, a))
        for m, a in accuracy.items()
        for seed in (0, 1)
    }


def outputs(tmp_path):
    names = ("table2.csv", "table2.md", "per_class.csv", "comparisons.csv", "chart.png")
    paths = [tmp_path / "out" / n for n in names]
    return paths, [
        "--out-csv",
        str(paths[0]),
        "--out-md",
        str(paths[1]),
        "--out-per-class-csv",
        str(paths[2]),
        "--out-comparisons-csv",
        str(paths[3]),
        "--out-chart",
        str(paths[4]),
    ]


def read_csv(path):
    return list(csv.DictReader(io.StringIO(path.read_text())))


def score_args(runs):
    return [a for (m, seed), path in runs.items() for a in ("--score", f"{m}@{seed}={path}")]


def test_one_row_per_method_and_seed_then_mean_sd_and_interval(tmp_path, runs, record):
    paths, out = outputs(tmp_path)
    argv = score_args(runs) + out + ["--provenance", str(record), "--bootstrap-draws", str(DRAWS)]
    assert main(argv) == 0
    rows = read_csv(paths[0])
    assert tuple(rows[0]) == COLUMNS
    assert [(r["method"], r["seed"]) for r in rows[:6]] == [
        ("sggan-25k", s) for s in ("0", "1", "mean", "sd", "ci95_low", "ci95_high")
    ]
    assert [r["method"] for r in rows] == ["sggan-25k"] * 6 + ["my-translator"] * 6 + ["source-only"] * 6
    for method in ("sggan-25k", "my-translator"):
        mine = {r["seed"]: r for r in rows if r["method"] == method}
        per_seed = [json.loads(runs[(method, s)].read_text()) for s in (0, 1)]
        for metric in ("pixel_acc", "class_acc", "class_iou"):
            values = [p[metric] for p in per_seed]
            assert [float(mine[s][metric]) for s in "01"] == pytest.approx(values, abs=0.005)
            assert float(mine["mean"][metric]) == pytest.approx(sum(values) / 2, abs=0.005)
            assert float(mine["sd"][metric]) == pytest.approx(abs(values[0] - values[1]) / 2**0.5, abs=0.005)
        stacked = np.stack(
            [np.load(str(runs[(method, s)]).replace(".json", ".frames.npz"))["confusion"] for s in (0, 1)]
        )
        low, high = confidence_intervals(stacked, BootstrapConfig(draws=DRAWS))["class_iou"]
        assert (float(mine["ci95_low"]["class_iou"]), float(mine["ci95_high"]["class_iou"])) == pytest.approx(
            (float(low), float(high)), abs=0.0051
        )
        assert low < float(mine["mean"]["class_iou"]) < high
    paper = {(r["method"], r["seed"]): r["paper_class_iou"] for r in rows}
    assert paper[("sggan-25k", "mean")] == "37.43" and paper[("sggan-25k", "0")] == ""
    assert paper[("my-translator", "mean")] == ""
    md = paths[1].read_text()
    mean, sd = float(rows[2]["class_iou"]), float(rows[3]["class_iou"])
    assert "| sggan-25k | 2 | " in md and f"{mean:.2f} ± {sd:.2f} ({rows[4]['class_iou']}–{rows[5]['class_iou']})" in md
    assert "mean ± sd over seeds 0, 1" in md and "over the 8 validation frames" in md
    per_class = read_csv(paths[2])
    assert [r["method"] for r in per_class] == ["sggan-25k", "my-translator", "source-only"]
    assert list(per_class[0])[1:] == TRAIN_CLASSES
    first_class = [
        score_record(np.load(str(runs[("source-only", s)]).replace(".json", ".frames.npz"))["confusion"].sum(axis=0))[
            "per_class_iou"
        ][TRAIN_CLASSES[0]]
        for s in (0, 1)
    ]
    assert float(per_class[2][TRAIN_CLASSES[0]]) == pytest.approx(sum(first_class) / 2, abs=0.005)
    assert read_csv(paths[3]) == []  # no --compare
    chart = cv2.imread(str(paths[4]))
    assert chart is not None and chart.shape[1] >= 1000


def test_comparisons_say_which_differences_are_clear(tmp_path, runs, record):
    paths, out = outputs(tmp_path)
    twin = {
        s: write_run(
            tmp_path / f"twin{s}.json",
            np.load(str(runs[("my-translator", s)]).replace(".json", ".frames.npz"))["confusion"],
        )
        for s in (0, 1)
    }
    argv = score_args(runs) + [a for s, p in twin.items() for a in ("--score", f"twin@{s}={p}")]
    argv += [
        "--compare",
        "sggan-25k,source-only",
        "--compare",
        "twin,my-translator",
        "--compare",
        "source-only,sggan-25k",
        "--claim",
        "translation helps",
        "--claim",
        "",
        "--claim",
        "backwards",
    ]
    assert main(argv + out + ["--provenance", str(record), "--bootstrap-draws", str(DRAWS)]) == 0
    rows = read_csv(paths[3])
    assert [(r["a"], r["b"], r["claim"], r["excludes_zero"]) for r in rows] == [
        ("sggan-25k", "source-only", "translation helps", "yes"),
        ("twin", "my-translator", "", "no"),
        ("source-only", "sggan-25k", "backwards", "yes"),
    ]
    assert (rows[1]["class_iou_a_minus_b"], rows[1]["ci95_low"], rows[1]["ci95_high"]) == ("0.00", "0.00", "0.00")
    table = {(r["method"], r["seed"]): float(r["class_iou"]) for r in read_csv(paths[0])}
    assert float(rows[0]["class_iou_a_minus_b"]) == pytest.approx(
        table[("sggan-25k", "mean")] - table[("source-only", "mean")], abs=0.011
    )
    assert float(rows[2]["class_iou_a_minus_b"]) == pytest.approx(-float(rows[0]["class_iou_a_minus_b"]))
    stacked = {
        m: np.stack([np.load(str(runs[(m, s)]).replace(".json", ".frames.npz"))["confusion"] for s in (0, 1)])
        for m in ("sggan-25k", "source-only")
    }
    diff = paired_difference(stacked["sggan-25k"], stacked["source-only"], config=BootstrapConfig(draws=DRAWS))
    assert (float(rows[0]["ci95_low"]), float(rows[0]["ci95_high"])) == pytest.approx((diff.low, diff.high), abs=0.005)
    md = paths[1].read_text()
    assert "| sggan-25k - source-only | translation helps |" in md and "sggan-25k better" in md
    assert "| twin - my-translator |" in md and "no clear difference" in md
    assert "| source-only - sggan-25k | backwards |" in md


def test_old_command_line_for_one_seed_takes_the_seed_from_the_provenance(tmp_path):
    record = make_record(tmp_path, [7])
    rng = np.random.default_rng(1)
    paths, out = outputs(tmp_path)
    scores = [
        ("sggan-25k", write_run(tmp_path / "a.json", confusions(rng, 0.7))),
        ("source-only", write_run(tmp_path / "c.json", confusions(rng, 0.4))),
    ]
    argv = [a for m, p in scores for a in ("--score", f"{m}={p}")]
    assert (
        main(
            argv
            + [
                "--out-csv",
                str(paths[0]),
                "--out-md",
                str(paths[1]),
                "--provenance",
                str(record),
                "--bootstrap-draws",
                str(DRAWS),
            ]
        )
        == 0
    )
    rows = read_csv(paths[0])
    assert [(r["method"], r["seed"]) for r in rows][:5] == [
        ("sggan-25k", "7"),
        ("sggan-25k", "mean"),
        ("sggan-25k", "sd"),
        ("sggan-25k", "ci95_low"),
        ("sggan-25k", "ci95_high"),
    ]
    assert rows[0]["class_iou"] == rows[1]["class_iou"] and rows[2]["class_iou"] == ""
    md = paths[1].read_text().splitlines()
    table = [line for line in md if line.startswith("| sggan-25k")]
    assert "±" not in table[0] and f" {rows[1]['class_iou']} ({rows[3]['class_iou']}–" in table[0]
    assert "seed 7 (one seed: no sd)" in md[0]
    note = md[-1]
    assert str(tmp_path / "config.yaml") in note and "seed 7" in note and version.code_version() in note
    assert not paths[2].exists() and not paths[4].exists()  # only what is asked for


def test_bad_inputs_are_reported(tmp_path, runs, record):
    (tmp_path / "one").mkdir()
    one_seed = make_record(tmp_path / "one", [0])
    out = ["--out-csv", str(tmp_path / "t.csv"), "--out-md", str(tmp_path / "t.md"), "--provenance", str(one_seed)]
    path = runs[("sggan-25k", 0)]

    def fails(argv, message, provenance=one_seed):
        with pytest.raises(DataError) as err:
            main(argv + out + ["--provenance", str(provenance)])
        assert message in str(err.value)
        assert not (tmp_path / "t.csv").exists()

    fails(["--score", f"x={tmp_path / 'none.json'}"], "none.json does not exist")
    fails(["--score", f"x={path}"], "missing.json does not exist", tmp_path / "missing.json")
    fails(["--score", f"x@0={path}", "--score", f"x@0={runs[('sggan-25k', 1)]}"], "x seed 0 is given more than once")
    fails(
        ["--score", f"x@0={path}", "--score", f"x@1={path}", "--score", f"y@0={path}"],
        "every method needs the same seeds: x has [0, 1], y has [0]",
        record,
    )
    fails(["--score", f"x@0={path}", "--compare", "x,y"], "comparison x,y names y, which has no score file")
    fails(["--score", f"x={path}"], "names no seed, and the run has seeds [0, 1]; write x@SEED=", record)
    fails(["--score", f"x@0={path}", "--score", f"x@2={path}"], "seeds [0, 2], but the run's seeds are [0, 1]", record)
    (tmp_path / "partial.json").write_text('{"pixel_acc": 1}')
    fails(["--score", f"x={tmp_path / 'partial.json'}"], "lacks class_acc, class_iou")
    (tmp_path / "old.json").write_text(path.read_text())  # a score file without its per-frame matrices
    fails(["--score", f"x={tmp_path / 'old.json'}"], "old.frames.npz does not exist")
    rng = np.random.default_rng(3)
    stale = write_run(tmp_path / "stale.json", confusions(rng, 0.5))
    write_frame_confusions(frame_confusions_path(stale), FRAMES, confusions(rng, 0.5))
    fails(["--score", f"x={stale}"], "does not add up to the confusion matrix of")
    other = write_run(tmp_path / "other.json", confusions(rng, 0.5), frames=[f + "x" for f in FRAMES])
    fails(["--score", f"x={path}", "--score", f"y={other}"], "scored on different validation frames")
    for bad in (
        ["--score", "no-equals-sign"],
        ["--score", "x@a=p"],
        ["--score", f"x={path}", "--compare", "x,x"],
        ["--score", f"x={path}", "--compare", "x,y", "--claim", "a", "--claim", "b"],
    ):
        with pytest.raises(SystemExit):
            main(bad + out)


def test_provenance_record(tmp_path):
    config_file = tmp_path / "c.yaml"
    config_file.write_text("a: 1\n")
    record = prov.provenance({"b": [1, 2], "a": "é"}, [3, 4], [str(config_file), str(tmp_path / "gone.yaml")])
    canonical = '{"a":"é","b":[1,2]}'
    assert record["config_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert record["config_sha256"] == prov.provenance({"a": "é", "b": [1, 2]}, [3], [])["config_sha256"]
    assert record["config_files"] == [
        {"path": str(config_file), "sha256": hashlib.sha256(b"a: 1\n").hexdigest()},
        {"path": str(tmp_path / "gone.yaml"), "sha256": None},
    ]
    assert record["seeds"] == [3, 4] and record["config"] == {"b": [1, 2], "a": "é"}
    assert "; seeds 3, 4; code" in provenance_note(record)
    before_seed_lists = {k: v for k, v in record.items() if k != "seeds"} | {"seed": 5}
    assert "; seed 5; code" in provenance_note(before_seed_lists)
    assert record["timestamp_utc"].endswith("+00:00")
    assert record["torch_version"] and record["hostname"]


def test_code_version_is_git_describe_of_this_checkout():
    described = subprocess.run(
        ["git", "-C", str(version.REPO_ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True
    ).stdout.strip()
    assert version.code_version() == described


def test_code_version_falls_back_to_package_version(tmp_path, monkeypatch):
    # a copy inside some other repository must not report that repository's commit
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "site-packages").mkdir()
    monkeypatch.setattr(version, "REPO_ROOT", tmp_path / "site-packages")
    monkeypatch.delenv("SGGAN_CODE_VERSION", raising=False)
    assert version.code_version() == "sggan-benchmark 0.1.0"
    # a copy told its commit when it was made (a container image, the GPU machine's tree) says so
    monkeypatch.setenv("SGGAN_CODE_VERSION", "3e36079")
    assert version.code_version() == "3e36079"


def test_provenance_cli_reads_config_from_file(tmp_path):
    (tmp_path / "config.json").write_text('{"world": {"seed": 1}}')
    out = tmp_path / "p.json"
    assert prov.main(["--config-json", f"@{tmp_path / 'config.json'}", "--seed", "1", "--out", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written["config"] == {"world": {"seed": 1}} and written["config_files"] == []
    with pytest.raises(SystemExit):
        prov.main(["--config-json", "[1, 2]", "--seed", "1", "--out", str(out)])


def test_verdict_names_the_method_the_interval_favours():
    # a mutant that named the wrong winner survived the other tests (benchmarks/mutation.py)
    from eval.bootstrap import Difference
    from eval.table2 import Comparison, _verdict

    pair = Comparison("sggan-2k", "source-only")
    assert _verdict(pair, Difference(0.5, 0.2, 0.8)) == "sggan-2k better"
    assert _verdict(pair, Difference(-0.5, -0.8, -0.2)) == "source-only better"
    assert _verdict(pair, Difference(0.5, -0.1, 1.1)) == "no clear difference"


def test_per_class_chart_draws_each_methods_means_and_intervals(tmp_path):
    """The bars read back from the figure: per class and method, the mean IoU as the height, the
    bootstrap interval as the error bar, at the class's tick; a class absent everywhere as 0."""
    import matplotlib.pyplot as plt
    from matplotlib.container import BarContainer

    from eval.table2 import MethodRuns, Summary, per_class_chart, per_class_figure

    rng = np.random.default_rng(3)
    means = [rng.uniform(10, 90, NUM_CLASSES) for _ in range(3)]
    means[1][4] = np.nan  # absent in every seed and frame
    summaries = [
        Summary({}, {}, {}, {}, mean, mean - rng.uniform(1, 5, NUM_CLASSES), mean + rng.uniform(1, 5, NUM_CLASSES))
        for mean in means
    ]
    methods = ["source-only", "sggan-25k", "oracle"]
    runs = [MethodRuns(m, [0, 1], [], np.zeros((2, 1, NUM_CLASSES, NUM_CLASSES + 1))) for m in methods]
    config = BootstrapConfig(draws=DRAWS, level=0.9)
    fig = per_class_figure(runs, summaries, config)
    [ax] = fig.axes
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [c.get_label() for c in bars] == methods
    for i, (container, s) in enumerate(zip(bars, summaries)):
        centres = np.array([p.get_x() + p.get_width() / 2 for p in container.patches])
        np.testing.assert_allclose(centres, np.arange(NUM_CLASSES) + (i - 1) * 0.8 / 3)
        np.testing.assert_allclose([p.get_width() for p in container.patches], 0.8 / 3)
        np.testing.assert_allclose([p.get_y() for p in container.patches], 0)
        np.testing.assert_allclose([p.get_height() for p in container.patches], np.nan_to_num(s.per_class_mean))
        [segments] = [lines.get_segments() for lines in container.errorbar.lines[2]]
        bottoms, tops = np.array([seg[0] for seg in segments]), np.array([seg[1] for seg in segments])
        np.testing.assert_allclose(bottoms[:, 0], centres)
        np.testing.assert_allclose(tops[:, 0], centres)
        present = ~np.isnan(s.per_class_mean)
        np.testing.assert_allclose(bottoms[present, 1], s.per_class_low[present])
        np.testing.assert_allclose(tops[present, 1], s.per_class_high[present])
        np.testing.assert_allclose(bottoms[~present, 1], 0)  # an empty bar without an interval
        np.testing.assert_allclose(tops[~present, 1], 0)
    assert list(ax.get_xticks()) == list(range(NUM_CLASSES))
    assert [t.get_text() for t in ax.get_xticklabels()] == list(TRAIN_CLASSES)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == methods
    assert ax.get_ylabel() == "IoU (%)"
    assert ax.get_title() == (
        "Per-class IoU, mean over seeds 0, 1; bars: 90% bootstrap interval over validation frames"
    )
    assert tuple(fig.get_size_inches()) == (10.0, 4.5) and fig.dpi == 100  # 0.15 in a bar, 10 to 30 wide
    many = per_class_figure(runs * 4, summaries * 4, config)
    assert tuple(many.get_size_inches()) == (30.0, 4.5)
    one = per_class_figure(runs[:1], summaries[:1], config)  # one method: its bars on the ticks
    [bars] = [c for c in one.axes[0].containers if isinstance(c, BarContainer)]
    np.testing.assert_allclose([p.get_x() + p.get_width() / 2 for p in bars.patches], np.arange(NUM_CLASSES))
    assert one.axes[0].get_title().startswith("Per-class IoU, mean over seeds 0, 1;")
    for figure in (fig, many, one):
        plt.close(figure)
    per_class_chart(runs, summaries, tmp_path / "chart.png", config)
    assert cv2.imread(str(tmp_path / "chart.png")).shape == (450, 1000, 3)
