"""Wall time of the whole toy DAG from nothing, as a user runs it.

    python benchmarks/bench_pipeline.py [--cores 8] [--config config.yaml] [--no-log]
    python benchmarks/bench_pipeline.py --breakdown SNAKEMAKE_LOG [--workdir DIR]   # an earlier run's jobs

Runs `snakemake --cores N all` on the shipped config in a fresh temporary folder (the toy world is
generated there too), then appends the wall time, the per-rule times Snakemake's `benchmark:`
files recorded, and the resulting class IoUs to benchmarks/RESULTS.md; and prints where the time
went: per rule the jobs, their summed wall time from Snakemake's log and their CPU time from the
`benchmark:` files, and the critical path (the chain of jobs, each waiting for the previous one's
output, that ends with the last job). ``--breakdown`` prints that for the log of a run already
made (its `benchmark:` files under ``--workdir``), without running anything.
"""

from __future__ import annotations

import argparse
import csv
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime
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


def benchmarked_rule(workdir: Path, path: Path) -> str:
    """The rule of a `benchmark:` file: results/benchmarks/{rule}.tsv, or {rule}/... per wildcard."""
    first = path.relative_to(workdir / "results" / "benchmarks").parts[0]
    return first.removesuffix(".tsv")


def stage_seconds(workdir: Path) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for path in (workdir / "results" / "benchmarks").rglob("*.tsv"):
        with path.open() as f:
            totals[benchmarked_rule(workdir, path)] += float(next(csv.DictReader(f, delimiter="\t"))["s"])
    return dict(sorted(totals.items()))


def cpu_seconds(workdir: Path) -> dict[str, float]:
    """CPU seconds per rule from the `benchmark:` files (unlike wall time, not inflated by other jobs)."""
    totals: dict[str, float] = defaultdict(float)
    for path in (workdir / "results" / "benchmarks").rglob("*.tsv"):
        rule = benchmarked_rule(workdir, path)
        with path.open() as f:
            value = next(csv.DictReader(f, delimiter="\t")).get("cpu_time", "")
        totals[rule] += float(value) if value not in ("", "NA", "-") else 0.0
    return dict(totals)


_STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]$")


def job_timeline(log: str) -> list[dict]:
    """Every finished job of a Snakemake log: rule, wildcards, start and end (s from the first job),
    its input and output paths."""
    jobs: dict[str, dict] = {}
    stamp, current = None, None
    for line in log.splitlines():
        match = _STAMP.match(line.strip())
        if match:
            stamp = datetime.strptime(" ".join(match.group(1).split()), "%a %b %d %H:%M:%S %Y").timestamp()
            current = None
            continue
        rule = re.match(r"^(?:local)?rule (\S+):$", line)
        if rule and stamp is not None:
            current = {"rule": rule.group(1), "start": stamp, "input": [], "output": [], "wildcards": ""}
            continue
        finished = re.match(r"^Finished jobid: (\d+)", line)
        if finished and finished.group(1) in jobs:
            jobs[finished.group(1)]["end"] = stamp
            continue
        if current is None:
            continue
        key, _, value = line.strip().partition(": ")
        if key in ("input", "output"):
            current[key] = [path.strip() for path in value.split(",")]
        elif key == "wildcards":
            current["wildcards"] = value
        elif key == "jobid":
            jobs[value] = current
    done = [job for job in jobs.values() if "end" in job]
    first = min((job["start"] for job in done), default=0.0)
    for job in done:
        job["start"] -= first
        job["end"] -= first
    return sorted(done, key=lambda job: job["end"])


def critical_path(jobs: list[dict]) -> list[dict]:
    """From the last job back: each time the input-producing job that finished last."""

    def produces(job: dict, path: str) -> bool:
        return any(path == out or path.startswith(out.rstrip("/") + "/") for out in job["output"])

    path = [jobs[-1]] if jobs else []
    while True:
        inputs = path[-1]["input"]
        producers = [job for job in jobs if job is not path[-1] and any(produces(job, p) for p in inputs)]
        if not producers:
            return path[::-1]
        path.append(max(producers, key=lambda job: job["end"]))


def print_breakdown(log: str, workdir: Path) -> None:
    jobs = job_timeline(log)
    cpu = cpu_seconds(workdir)
    per_rule: dict[str, list[dict]] = defaultdict(list)
    for job in jobs:
        per_rule[job["rule"]].append(job)
    wall = max((job["end"] for job in jobs), default=0.0)
    print(f"{len(jobs)} jobs in {wall:.0f} s (from the first job's start to the last job's end)")
    print(f"{'rule':24} {'jobs':>4} {'wall s, summed':>15} {'CPU s':>7}")
    for rule, group in sorted(per_rule.items(), key=lambda item: -sum(j["end"] - j["start"] for j in item[1])):
        summed = sum(job["end"] - job["start"] for job in group)
        print(
            f"{rule:24} {len(group):4d} {summed:15.0f} {cpu[rule]:7.0f}"
            if rule in cpu
            else f"{rule:24} {len(group):4d} {summed:15.0f} {'':>7}"
        )
    print("critical path (start..end s, rule, wildcards):")
    for job in critical_path(jobs):
        print(f"  {job['start']:6.0f}..{job['end']:6.0f}  {job['rule']:24} {job['wildcards']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=8)
    parser.add_argument("--config", type=Path, default=REPO / "config.yaml")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--no-log", action="store_true", help="print only, do not append to RESULTS.md")
    parser.add_argument(
        "--breakdown", type=Path, metavar="SNAKEMAKE_LOG", help="only print the job breakdown of this earlier run's log"
    )
    parser.add_argument("--workdir", type=Path, default=Path("."), help="with --breakdown: that run's folder")
    args = parser.parse_args(argv)
    if args.breakdown:
        print_breakdown(args.breakdown.read_text(), args.workdir)
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="sggan-dag-"))
    shutil.copy(args.config, workdir / "config.yaml")
    start = time.perf_counter()
    # not --quiet: Snakemake's log must name each job's files for the breakdown; it goes to a file
    with (workdir / "snakemake.out").open("w") as out:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "--snakefile",
                str(REPO / "Snakefile"),
                "--directory",
                str(workdir),
                "--cores",
                str(args.cores),
                "all",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        print((workdir / "snakemake.out").read_text()[-5000:], file=sys.stderr)
        raise SystemExit(f"snakemake failed (exit {done.returncode}); its folder: {workdir}")
    with (workdir / "results" / "tables" / "table2.csv").open() as f:
        # the mean row over the run's seeds (table2.csv also holds each seed, the sd and the interval)
        ious = {row["method"]: row["class_iou"] for row in csv.DictReader(f) if row["seed"] == "mean"}
    stages = stage_seconds(workdir)
    print_breakdown(max((workdir / ".snakemake" / "log").glob("*.snakemake.log")).read_text(), workdir)
    row = [
        now(),
        machine(),
        card(),
        commit(),
        str(args.cores),
        f"{wall:.0f}",
        ", ".join(f"{rule} {seconds:.0f}" for rule, seconds in stages.items()),
        ", ".join(f"{method} {iou}" for method, iou in ious.items()),
    ]
    print(" | ".join(row))
    if not args.no_log:
        append_row(row, TABLE_HEADER, SECTION, SECTION_TEXT)
    if not args.keep:
        shutil.rmtree(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
