"""Table 1 of the paper from the A/B study's answers, next to the paper's own numbers.

    python -m eval.table1 --kit results/ab_study/kit --db results/ab_study/answers.sqlite \
        --out-csv results/tables/table1.csv --out-md results/tables/table1.md

One row per pair of the kit's ``study.json``, in its order: the share of answers that judged
method A's image more realistic than method B's (%), its 95% Wilson score interval, how many
answers and distinct raters it rests on, and the paper's value. Answers to the pair asked the
other way round (B, A) count too, with their preference flipped; answers to other pairs do not.
The database is written by ``python -m eval.ab serve`` and ``python -m eval.ab import``; until it
exists every pair has 0 answers and empty cells, so the table can be built before any rating.

The Wilson interval rather than the normal approximation: it stays inside [0, 100] and keeps
its coverage near 0% and 100%, where the paper's values (97-99.8%) lie, and for few answers.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from eval.ab import store
from eval.ab.kit import read_study, study_pairs
from eval.tables import markdown_table, to_csv
from sggan.cli import run
from sggan.data.io import atomic_write_text

Z95 = 1.959963984540054  # two-sided 95% normal quantile
COLUMNS = ("method_a", "method_b", "prefer_a_percent", "ci95_low", "ci95_high", "answers", "raters", "paper_percent")


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of the proportion ``successes / n``, as fractions; (nan, nan) for n = 0."""
    if n == 0:
        return math.nan, math.nan
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, {n}], got {successes}")
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # at 0 and n the bound is exactly 0 or 1; rounding would leave a speck either side
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def _percent(value: float | None) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.1f}"


def table_rows(kit: str | Path, db: str | Path) -> list[dict[str, str]]:
    """One row of formatted cells per configured pair; empty cells where there are no answers."""
    rows = []
    for pair in study_pairs(read_study(kit)):
        counts = store.tally(db, pair.a, pair.b)
        low, high = wilson_interval(counts.prefer_a, counts.answers)
        share = counts.prefer_a / counts.answers if counts.answers else math.nan
        rows.append(
            {
                "method_a": pair.a,
                "method_b": pair.b,
                "prefer_a_percent": _percent(100 * share),
                "ci95_low": _percent(100 * low),
                "ci95_high": _percent(100 * high),
                "answers": str(counts.answers),
                "raters": str(counts.raters),
                "paper_percent": _percent(pair.paper_percent),
            }
        )
    return rows


def collection_note(kit: str | Path, db: str | Path) -> str:
    answers, raters = store.totals(db)
    have = (
        f"{answers} answers from {raters} raters in {db}."
        if answers
        else f"No answers yet ({db} {'has none' if Path(db).exists() else 'does not exist yet'})."
    )
    return (
        f"{have} Collect answers in the lab with `python -m eval.ab serve --kit {kit} --db {db}` "
        f"(raters open the printed localhost address), or on a crowd platform: host the kit's `images/` at "
        f"the kit's `--image-base-url`, create a task from `{kit}/crowd/task.html` with the batch "
        f"`{kit}/crowd/batch.csv`, then "
        f"`python -m eval.ab import --kit {kit} --db {db} --results Batch_results.csv`. "
        "Then rebuild this table."
    )


def to_markdown(rows: list[dict[str, str]], note: str) -> str:
    return (
        "Table 1: human A/B study, share of answers judging method A's adapted frame more realistic "
        "than method B's (%), with its 95% Wilson interval; answers and raters it rests on; "
        "paper_percent: the paper's Table 1 (500 held-out GTA-V frames at 256x512, 123 Amazon "
        "Mechanical Turk workers).\n\n" + markdown_table(rows, COLUMNS, text_columns=2) + "\n\n" + note + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eval.table1", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kit", required=True, help="kit folder written by python -m eval.ab kit (its study.json)")
    parser.add_argument("--db", default="results/ab_study/answers.sqlite", help="answers database; need not exist yet")
    parser.add_argument("--out-csv", required=True)
    parser.add_argument("--out-md", required=True)
    args = parser.parse_args(argv)
    rows = table_rows(args.kit, args.db)
    note = collection_note(args.kit, args.db)
    atomic_write_text(args.out_csv, to_csv(rows, COLUMNS))
    atomic_write_text(args.out_md, to_markdown(rows, note))
    return 0


if __name__ == "__main__":
    run(main)
