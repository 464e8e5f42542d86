"""Wall time of the whole toy DAG from nothing, as a user runs it.

    python benchmarks/bench_pipeline.py [--cores 8] [--config config.yaml] [--no-log]

Runs `snakemake --cores N all` on the shipped config in a fresh temporary folder (the toy world is
generated there too), then appends the wall time, the per-rule times Snakemake's `benchmark:`
files recorded, and the resulting class IoUs to benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere

from benchmarks.results_log import append_row, card, commit, machine, now  # noqa: E402

SECTION = "## Whole toy DAG (`benchmarks/bench_pipeline.py`)"
SECTION_TEXT = """
`snakemake --cores N all` with the shipped `config.yaml` in an empty folder: toy world, checks,
splits, translator training, adaptation, segmentation, prediction, evaluation, Table 2. The
per-stage column adds up each rule's `s` from Snakemake's `benchmark:` files (jobs overlap, so
the sum can exceed the wall time).
"""
TABLE_HEADER = "| date | machine | card | commit | cores | wall (s) | per stage (s) | class IoU per method |"


def stage_seconds(workdir: Path) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for path in (workdir / "results" / "benchmarks").rglob("*.tsv"):
        rule = path.relative_to(workdir / "results" / "benchmarks").parts[0]
        with path.open() as f:
            totals[rule] += float(next(csv.DictReader(f, delimiter="\t"))["s"])
    return dict(sorted(totals.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=8)
    parser.add_argument("--config", type=Path, default=REPO / "config.yaml")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--no-log", action="store_true", help="print only, do not append to RESULTS.md")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="sggan-dag-"))
    shutil.copy(args.config, workdir / "config.yaml")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                    "--directory", str(workdir), "--cores", str(args.cores), "--quiet", "all"], check=True)
    wall = time.perf_counter() - start
    with (workdir / "results" / "tables" / "table2.csv").open() as f:
        ious = {row["method"]: row["class_iou"] for row in csv.DictReader(f)}
    stages = stage_seconds(workdir)
    row = [now(), machine(), card(), commit(), str(args.cores), f"{wall:.0f}",
           ", ".join(f"{rule} {seconds:.0f}" for rule, seconds in stages.items()),
           ", ".join(f"{method} {iou}" for method, iou in ious.items())]
    print(" | ".join(row))
    if not args.no_log:
        append_row(row, TABLE_HEADER, SECTION, SECTION_TEXT)
    if not args.keep:
        shutil.rmtree(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
