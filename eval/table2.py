"""Table 2 of the paper over seeds, with bootstrap intervals and paired comparisons.

    python -m eval.table2 --score source-only@0=scores/source-only/seed0.json \
        --score source-only@1=scores/source-only/seed1.json --score sggan-2k@0=... --score sggan-2k@1=... \
        --compare sggan-2k,source-only --out-csv results/tables/table2.csv --out-md results/tables/table2.md \
        --out-per-class-csv results/tables/table2_per_class.csv \
        --out-comparisons-csv results/tables/table2_comparisons.csv \
        --out-chart results/figures/per_class_iou.png --provenance provenance.json

``--score METHOD@SEED=PATH`` names one seed's eval.evaluate output (``METHOD=PATH``: the seed in the
provenance record); each score file's per-frame confusion matrices are read from beside it
(``PATH.frames.npz`` for ``PATH.json``). Every method needs the same seeds, and every score file
the same validation frames. Rows follow the order in which methods first appear.

Outputs:

* ``table2.csv``: per method one row per seed (``seed`` = the seed), then summary rows with
  ``seed`` = ``mean``, ``sd`` (sample sd over seeds; empty for one seed), ``ci95_low`` and
  ``ci95_high`` (bootstrap interval of the mean over the validation frames, eval.bootstrap). The
  paper_* columns (the paper's Table 2, for the methods it reports under these keys:
  source-only, cyclegan-2k, sggan-2k, sggan-25k) are filled on the mean row.
* ``table2.md``: mean ± sd (interval) per metric; per-class IoU (mean over seeds); the comparisons.
* ``--out-per-class-csv``: per-class IoU, mean over seeds, one row per method.
* ``--out-comparisons-csv``: per ``--compare A,B``, class IoU of A minus B with its paired
  bootstrap interval over frames and seeds, and whether the interval excludes zero.
* ``--out-chart``: per-class IoU per method with the bootstrap intervals as error bars.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.bootstrap import (
    SUMMARY_METRICS,
    BootstrapConfig,
    Difference,
    confidence_intervals,
    paired_difference,
    point_scores,
)
from eval.evaluate import frame_confusions_path, read_frame_confusions
from eval.tables import (
    format_number,
    markdown_table,
    provenance_note,
    provenance_seeds,
    read_json,
    read_provenance,
    seeds_phrase,
    to_csv,
)
from sggan.cli import run
from sggan.data.io import DataError, atomic_write, atomic_write_text
from sggan.data.labels import NUM_CLASSES, TRAIN_CLASSES

METRICS = SUMMARY_METRICS
COLUMNS = ("method", "seed", *METRICS, *(f"paper_{m}" for m in METRICS))
COMPARISON_COLUMNS = ("a", "b", "claim", "class_iou_a_minus_b", "ci95_low", "ci95_high", "excludes_zero")

# Table 2 of the paper (Cityscapes val, %): pixel acc, class acc, class IoU. Hoffman et al.'s
# feature-level adaptation (class IoU 27.10, cited there) is not a method this benchmark runs.
PAPER_TABLE2 = {
    "source-only": (54.51, 35.95, 24.60),
    "cyclegan-2k": (71.61, 42.98, 28.15),
    "sggan-2k": (72.65, 45.87, 33.81),
    "sggan-25k": (81.72, 47.29, 37.43),
}


@dataclass(frozen=True)
class ScoreArg:
    method: str
    seed: int | None  # None: the provenance record's seed
    path: Path


@dataclass
class MethodRuns:
    """One method's score files, one per seed, in seed order."""

    method: str
    seeds: list[int]
    scores: list[dict[str, float | None]]  # per seed: the metrics of its score file
    confusions: np.ndarray  # (seeds, frames, 19, 20)


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    claim: str = ""


# ----------------------------------------------------------------------------------------- reading
def score_arg(value: str) -> ScoreArg:
    """argparse type of ``--score METHOD[@SEED]=PATH``."""
    name, sep, path = value.partition("=")
    method, at, seed = name.partition("@")
    if not sep or not method or not path or (at and not seed.isdigit()):
        raise argparse.ArgumentTypeError(f"expected METHOD=PATH or METHOD@SEED=PATH, got {value!r}")
    return ScoreArg(method, int(seed) if at else None, Path(path))


def comparison_arg(value: str) -> Comparison:
    """argparse type of ``--compare A,B`` (A minus B)."""
    a, sep, b = value.partition(",")
    if not sep or not a or not b or a == b:
        raise argparse.ArgumentTypeError(f"expected A,B naming two different methods, got {value!r}")
    return Comparison(a, b)


def read_scores(path: str | Path) -> dict:
    data = read_json(path, "python -m eval.evaluate")
    missing = [m for m in METRICS if m not in data]
    if missing:
        raise DataError(f"score file {path} lacks {', '.join(missing)}; is it an eval.evaluate output?")
    return data


def _read_run(path: Path) -> tuple[dict, list[str], np.ndarray]:
    """A score file, its frames and their confusion matrices, checked to belong together."""
    data = read_scores(path)
    frames, confusions = read_frame_confusions(frame_confusions_path(path))
    pooled = confusions.sum(axis=0)
    if "confusion_matrix" in data and (
        not np.array_equal(pooled[:, :NUM_CLASSES], data["confusion_matrix"])
        or not np.array_equal(pooled[:, NUM_CLASSES], data.get("void_predictions", pooled[:, NUM_CLASSES]))
    ):
        raise DataError(
            f"{frame_confusions_path(path)} does not add up to the confusion matrix of {path}; "
            "rerun python -m eval.evaluate, which writes both"
        )
    return {m: data[m] for m in METRICS}, frames, confusions


def collect_runs(args: list[ScoreArg], run_seeds: list[int]) -> list[MethodRuns]:
    """The score files grouped by method (in first-appearance order), seeds sorted, all checked
    to share seeds and validation frames. A score without a seed has the run's one seed."""
    by_method: dict[str, dict[int, Path]] = {}
    for arg in args:
        if arg.seed is None and len(run_seeds) != 1:
            raise DataError(
                f"--score {arg.method}={arg.path} names no seed, and the run has seeds "
                f"{run_seeds}; write {arg.method}@SEED={arg.path}"
            )
        seed = run_seeds[0] if arg.seed is None else arg.seed
        seeds = by_method.setdefault(arg.method, {})
        if seed in seeds:
            raise DataError(
                f"method {arg.method} seed {seed} is given more than once "
                f"({seeds[seed]} and {arg.path}); name seeds as METHOD@SEED=PATH"
            )
        seeds[seed] = arg.path
    seed_sets = {method: sorted(seeds) for method, seeds in by_method.items()}
    first, first_seeds = next(iter(seed_sets.items()))
    for method, seeds in seed_sets.items():
        if seeds != first_seeds:
            raise DataError(f"every method needs the same seeds: {first} has {first_seeds}, {method} has {seeds}")
    if first_seeds != sorted(run_seeds):
        raise DataError(
            f"the score files have seeds {first_seeds}, but the run's seeds are {sorted(run_seeds)} "
            "(provenance); give one score file per method and run seed"
        )
    runs, reference = [], None
    for method, paths in by_method.items():
        scores, confusions = [], []
        for seed in first_seeds:
            metrics, frames, conf = _read_run(paths[seed])
            if reference is None:
                reference = (paths[seed], frames)
            elif frames != reference[1]:
                raise DataError(
                    f"{paths[seed]} and {reference[0]} are scored on different validation frames; "
                    "every score file must come from the same ground-truth folder"
                )
            scores.append(metrics)
            confusions.append(conf)
        runs.append(MethodRuns(method, first_seeds, scores, np.stack(confusions)))
    return runs


# ----------------------------------------------------------------------------------------- numbers
@dataclass
class Summary:
    mean: dict[str, float]
    sd: dict[str, float]  # NaN for one seed
    low: dict[str, float]
    high: dict[str, float]
    per_class_mean: np.ndarray  # (C,) NaN where a class is absent everywhere
    per_class_low: np.ndarray
    per_class_high: np.ndarray


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def summarise(run: MethodRuns, config: BootstrapConfig) -> Summary:
    values = {m: np.array([_nan(s[m]) for s in run.scores]) for m in METRICS}
    intervals = confidence_intervals(run.confusions, config)
    point = point_scores(run.confusions)  # for the per-class means over seeds
    return Summary(
        mean={m: float(np.mean(v)) for m, v in values.items()},
        sd={m: float(np.std(v, ddof=1)) if len(v) > 1 else float("nan") for m, v in values.items()},
        low={m: float(intervals[m][0]) for m in METRICS},
        high={m: float(intervals[m][1]) for m in METRICS},
        per_class_mean=point["per_class_iou"],
        per_class_low=intervals["per_class_iou"][0],
        per_class_high=intervals["per_class_iou"][1],
    )


def compare(runs: dict[str, MethodRuns], comparison: Comparison, config: BootstrapConfig) -> Difference:
    unknown = [m for m in (comparison.a, comparison.b) if m not in runs]
    if unknown:
        raise DataError(
            f"comparison {comparison.a},{comparison.b} names {', '.join(unknown)}, which has no "
            f"score file; methods: {', '.join(runs)}"
        )
    return paired_difference(runs[comparison.a].confusions, runs[comparison.b].confusions, "class_iou", config)


# ----------------------------------------------------------------------------------------- tables
def _summary_label(config: BootstrapConfig, bound: str) -> str:
    return f"ci{round(100 * config.level)}_{bound}"


def csv_rows(runs: list[MethodRuns], summaries: list[Summary], config: BootstrapConfig) -> list[dict[str, str]]:
    rows = []
    no_paper = {f"paper_{m}": "" for m in METRICS}
    for method_runs, summary in zip(runs, summaries):
        for seed, scores in zip(method_runs.seeds, method_runs.scores):
            rows.append(
                {
                    "method": method_runs.method,
                    "seed": str(seed),
                    **{m: format_number(scores[m]) for m in METRICS},
                    **no_paper,
                }
            )
        paper = PAPER_TABLE2.get(method_runs.method, (None,) * len(METRICS))
        for label, values in (
            ("mean", summary.mean),
            ("sd", summary.sd),
            (_summary_label(config, "low"), summary.low),
            (_summary_label(config, "high"), summary.high),
        ):
            row = {"method": method_runs.method, "seed": label, **{m: format_number(values[m]) for m in METRICS}}
            row.update(
                {f"paper_{m}": format_number(v) for m, v in zip(METRICS, paper)} if label == "mean" else no_paper
            )
            rows.append(row)
    return rows


def _cell(summary: Summary, metric: str) -> str:
    mean, sd, low, high = summary.mean[metric], summary.sd[metric], summary.low[metric], summary.high[metric]
    if np.isnan(mean):
        return ""
    spread = "" if np.isnan(sd) else f" ± {sd:.2f}"
    return f"{mean:.2f}{spread} ({format_number(low)}–{format_number(high)})"


def per_class_rows(runs: list[MethodRuns], summaries: list[Summary]) -> list[dict[str, str]]:
    return [
        {"method": run.method, **{name: format_number(v) for name, v in zip(TRAIN_CLASSES, s.per_class_mean)}}
        for run, s in zip(runs, summaries)
    ]


def comparison_rows(comparisons: list[Comparison], differences: list[Difference]) -> list[dict[str, str]]:
    return [
        {
            "a": c.a,
            "b": c.b,
            "claim": c.claim,
            "class_iou_a_minus_b": format_number(d.estimate),
            "ci95_low": format_number(d.low),
            "ci95_high": format_number(d.high),
            "excludes_zero": "yes" if d.excludes_zero else "no",
        }
        for c, d in zip(comparisons, differences)
    ]


def _verdict(c: Comparison, d: Difference) -> str:
    if not d.excludes_zero:
        return "no clear difference"
    return f"{c.a} better" if d.estimate > 0 else f"{c.b} better"


def to_markdown(
    runs: list[MethodRuns],
    summaries: list[Summary],
    comparisons: list[Comparison],
    differences: list[Difference],
    provenance: dict,
    config: BootstrapConfig,
) -> str:
    seeds = seeds_phrase(runs[0].seeds)
    frames = runs[0].confusions.shape[1]
    level = round(100 * config.level)
    spread = f"mean ± sd over {seeds}" if len(runs[0].seeds) > 1 else f"{seeds} (one seed: no sd)"
    main_rows = [
        {
            "method": run.method,
            "seeds": str(len(run.seeds)),
            **{m: _cell(s, m) for m in METRICS},
            **{
                f"paper_{m}": format_number(v)
                for m, v in zip(METRICS, PAPER_TABLE2.get(run.method, (None,) * len(METRICS)))
            },
        }
        for run, s in zip(runs, summaries)
    ]
    text = (
        f"Table 2: segmentation network trained on (adapted) source frames, scored on the target "
        f"validation images (%): {spread}, and in brackets the {level}% bootstrap interval of "
        f"that mean over the {frames} validation frames ({config.draws} draws of the frames, pooled "
        f"confusion matrices); paper_* columns: the paper's Table 2 (GTA-V -> Cityscapes val).\n\n"
        + markdown_table(main_rows, ("method", "seeds", *METRICS, *(f"paper_{m}" for m in METRICS)), text_columns=2)
        + f"\n\nPer-class IoU (%), mean over {seeds}:\n\n"
        + markdown_table(per_class_rows(runs, summaries), ("method", *TRAIN_CLASSES))
        + "\n"
    )
    if comparisons:
        rows = [
            {
                "a - b": f"{c.a} - {c.b}",
                "claim": c.claim,
                "verdict": _verdict(c, d),
                "class IoU difference": format_number(d.estimate),
                f"{level}% interval": f"{format_number(d.low)} – {format_number(d.high)}",
            }
            for c, d in zip(comparisons, differences)
        ]
        text += (
            f"\nPaired comparisons: class IoU of a minus b (points), with a {level}% bootstrap interval "
            f"that resamples the validation frames (the same for both) and the seeds; a difference "
            f"is clear when the interval excludes zero.\n\n"
            + markdown_table(
                rows, ("a - b", "claim", "verdict", "class IoU difference", f"{level}% interval"), text_columns=3
            )
            + "\n"
        )
    return text + "\n" + provenance_note(provenance) + "\n"


# ----------------------------------------------------------------------------------------- chart
def per_class_figure(runs: list[MethodRuns], summaries: list[Summary], config: BootstrapConfig):
    """Grouped bars: per class, each method's mean IoU over seeds with its bootstrap interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = 0.8 / len(runs)
    x = np.arange(NUM_CLASSES)
    fig, ax = plt.subplots(figsize=(min(30.0, max(10.0, 0.15 * NUM_CLASSES * len(runs))), 4.5), dpi=100)
    for i, (method_runs, s) in enumerate(zip(runs, summaries)):
        mean = np.nan_to_num(s.per_class_mean)
        below = np.nan_to_num(s.per_class_mean - s.per_class_low)
        above = np.nan_to_num(s.per_class_high - s.per_class_mean)
        ax.bar(
            x + (i - (len(runs) - 1) / 2) * width,
            mean,
            width,
            label=method_runs.method,
            yerr=np.stack([below, above]),
            capsize=1.5,
            error_kw={"elinewidth": 0.7},
        )
    ax.set_xticks(x)
    ax.set_xticklabels(TRAIN_CLASSES, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("IoU (%)")
    ax.set_title(
        f"Per-class IoU, mean over {seeds_phrase(runs[0].seeds)}; "
        f"bars: {round(100 * config.level)}% bootstrap interval over validation frames",
        fontsize=9,
    )
    ax.legend(fontsize=7, ncol=min(len(runs), 6))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def per_class_chart(runs: list[MethodRuns], summaries: list[Summary], out: str | Path, config: BootstrapConfig) -> None:
    import matplotlib.pyplot as plt

    fig = per_class_figure(runs, summaries, config)
    atomic_write(Path(out), lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)


# ----------------------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.table2", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--score",
        type=score_arg,
        action="append",
        required=True,
        metavar="METHOD[@SEED]=PATH.json",
        help="one seed's eval.evaluate output (its .frames.npz beside it); repeat",
    )
    parser.add_argument(
        "--compare",
        type=comparison_arg,
        action="append",
        default=[],
        metavar="A,B",
        help="report class IoU of A minus B with a paired bootstrap interval; repeat",
    )
    parser.add_argument(
        "--claim",
        action="append",
        default=[],
        metavar="TEXT",
        help="what each --compare tests, in the same order (optional)",
    )
    parser.add_argument("--out-csv", required=True)
    parser.add_argument("--out-md", required=True)
    parser.add_argument("--out-per-class-csv")
    parser.add_argument("--out-comparisons-csv")
    parser.add_argument("--out-chart", help="PNG of per-class IoU with error bars")
    parser.add_argument("--provenance", required=True, help="JSON written by python -m eval.provenance")
    parser.add_argument("--bootstrap-draws", type=int, default=BootstrapConfig.draws)
    parser.add_argument("--bootstrap-seed", type=int, default=BootstrapConfig.seed)
    args = parser.parse_args(argv)
    if args.claim and len(args.claim) != len(args.compare):
        parser.error(f"--claim is given {len(args.claim)} times but --compare {len(args.compare)} times")
    if args.bootstrap_draws < 1:
        parser.error("--bootstrap-draws must be at least 1")
    comparisons = [
        Comparison(c.a, c.b, claim) for c, claim in zip(args.compare, args.claim or [""] * len(args.compare))
    ]
    config = BootstrapConfig(draws=args.bootstrap_draws, seed=args.bootstrap_seed)
    provenance = read_provenance(args.provenance)
    runs = collect_runs(args.score, provenance_seeds(provenance))
    summaries = [summarise(run, config) for run in runs]
    by_method = {run.method: run for run in runs}
    differences = [compare(by_method, c, config) for c in comparisons]
    atomic_write_text(args.out_csv, to_csv(csv_rows(runs, summaries, config), COLUMNS))
    atomic_write_text(args.out_md, to_markdown(runs, summaries, comparisons, differences, provenance, config))
    if args.out_per_class_csv:
        atomic_write_text(args.out_per_class_csv, to_csv(per_class_rows(runs, summaries), ("method", *TRAIN_CLASSES)))
    if args.out_comparisons_csv:
        atomic_write_text(
            args.out_comparisons_csv, to_csv(comparison_rows(comparisons, differences), COMPARISON_COLUMNS)
        )
    if args.out_chart:
        per_class_chart(runs, summaries, args.out_chart, config)
    return 0


if __name__ == "__main__":
    run(main)
