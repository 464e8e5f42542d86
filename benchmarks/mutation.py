"""Mutation testing of the modules that compute the numbers: do the tests notice a wrong number?

    pip install -e ".[mutation]"
    python benchmarks/mutation.py [--only eval/metrics.py ...] [--out benchmarks/out/mutation] [--report-only]
    python benchmarks/mutation.py --only eval/table2.py --functions 'eval.table2.x_per_class_*'

On demand, not part of the test run. mutmut makes small changes ("mutants") to one module at a time
(``a + b`` -> ``a - b``, ``0`` -> ``1``, ``<`` -> ``<=``, a dropped argument...) and runs that
module's fast tests against each; a mutant no test fails on "survives". Per module, a copy of the
packages and tests is made in ``OUT/<module>/`` with mutmut set to mutate only that module (or
only some of its functions) and to run only the module's own tests, one test process at a time
(other jobs share the CPUs). Writes ``OUT/report.md`` after each module: per module, how many
mutants were killed and how many were not, then each of those mutants' diff. docs/mutation.md says why each
survivor left does not matter. A module of ~200 mutants takes about 5-10 minutes on one core.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("sggan", "segmentation", "eval")
ALSO_COPY = ("tests", "workflow", "Snakefile", "config.yaml")  # what the tests read besides the packages


@dataclass(frozen=True)
class Target:
    module: str  # the file to mutate
    tests: tuple[str, ...]  # the fast tests that guard it
    functions: tuple[str, ...] = ()  # mutmut name globs of the functions to mutate; empty: all
    deselect: tuple[str, ...] = ()  # tests that cannot run in the copy (it is not a git checkout)


TARGETS = [
    Target("sggan/losses.py", ("tests/test_sggan_losses.py",)),
    Target("eval/metrics.py", ("tests/test_metrics.py", "tests/test_evaluate.py")),
    Target("eval/evaluate.py", ("tests/test_evaluate.py",)),
    Target("eval/ground_truth.py", ("tests/test_ground_truth.py", "tests/test_evaluate.py")),
    Target(
        "segmentation/predict.py",
        ("tests/test_inference.py",),
    ),
    # adaptation's resizes: the frame to the working size, the network's range, back to the label's size
    Target(
        "sggan/adaptation.py",
        ("tests/test_adapt.py",),
        (
            "sggan.adaptation.*_SourceFrames*__getitem__*",
            "sggan.adaptation.x_to_network*",
            "sggan.adaptation.x_to_uint8*",
            "sggan.adaptation.x__resize_to_labels*",
        ),
    ),
    # the SG-GAN objective as assembled: which terms, weights, masks and boundary maps
    Target(
        "sggan/translators/sggan.py",
        ("tests/test_sggan_objective.py",),
        (
            "sggan.translators.sggan.x_generator_objective*",
            "sggan.translators.sggan.x_discriminator_objective*",
            "sggan.translators.sggan.*Config*alpha_beta*",
            "sggan.translators.sggan.*SGGAN*before_epoch*",
            "sggan.translators.sggan.*SGGAN*discriminator_step*",
        ),
    ),
    Target(
        "eval/tables.py",
        ("tests/test_tables.py", "tests/test_table2.py", "tests/test_table1.py", "tests/test_quality.py"),
        deselect=("tests/test_table2.py::test_code_version_is_git_describe_of_this_checkout",),
    ),
    Target(
        "eval/table2.py",
        ("tests/test_table2.py",),
        deselect=("tests/test_table2.py::test_code_version_is_git_describe_of_this_checkout",),
    ),
]

# mutmut must import its mutated copy; setuptools' finder of an editable install (pip install -e)
# would hand out the checkout instead, so the launcher drops it before mutmut starts.
LAUNCHER = (
    "import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]; "
    "from mutmut.__main__ import cli; cli()"
)


def prepare(target: Target, work: Path) -> None:
    """A fresh copy of the packages and tests with a mutmut section for ``target``."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__")
    for name in (*PACKAGES, *ALSO_COPY):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, work / name, ignore=ignore)
        else:
            shutil.copy(REPO / name, work / name)
    quoted = lambda items: "[" + ", ".join(f'"{item}"' for item in items) + "]"  # noqa: E731
    (work / "pyproject.toml").write_text(
        (REPO / "pyproject.toml").read_text()
        + f"""
[tool.mutmut]
source_paths = {quoted(PACKAGES)}
also_copy = {quoted(ALSO_COPY)}
only_mutate = {quoted([target.module])}
pytest_add_cli_args_test_selection = {quoted(target.tests)}
pytest_add_cli_args = {
            quoted(
                [
                    "-p",
                    "no:cacheprovider",
                    "-m",
                    "not slow",
                    *(arg for test in target.deselect for arg in ("--deselect", test)),
                ]
            )
        }
"""
    )


def mutmut(work: Path, *args: str, log: Path | None = None) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *args],
        cwd=work,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    if log is not None:
        log.write_text(result.stdout)
    if result.returncode != 0:
        raise SystemExit(
            f"mutmut {' '.join(args)} failed in {work} (exit {result.returncode}):\n{result.stdout[-3000:]}"
        )
    return result.stdout


def statuses(work: Path) -> dict[str, str]:
    """Mutant name -> mutmut's verdict (killed, survived, no tests, timeout, ...)."""
    listing = mutmut(work, "results", "--all", "true")
    return dict(re.findall(r"^\s+(\S+): (.+)$", listing, flags=re.MULTILINE))


def work_dir(target: Target, out: Path) -> Path:
    return out / target.module.replace("/", "__").removesuffix(".py")


def run(target: Target, out: Path) -> None:
    """Mutate ``target`` and run its tests against every mutant."""
    work = work_dir(target, out)
    prepare(target, work)
    print(f"{target.module}: mutmut over {', '.join(target.tests)} (log: {work / 'mutmut.log'})", file=sys.stderr)
    mutmut(work, "run", "--max-children", "1", *target.functions, log=work / "mutmut.log")


def collect(target: Target, out: Path) -> tuple[Counter, dict[str, str]]:
    """Verdict counts of a finished run and the diffs of the mutants that were not killed."""
    work = work_dir(target, out)
    verdicts = statuses(work)
    if target.functions:
        verdicts = {
            name: v
            for name, v in verdicts.items()
            if any(re.fullmatch(glob.replace(".", r"\.").replace("*", ".*"), name) for glob in target.functions)
        }
    alive = {name: mutmut(work, "show", name) for name, verdict in sorted(verdicts.items()) if verdict != "killed"}
    counts = Counter(verdicts.values())
    print(f"{target.module}: " + ", ".join(f"{n} {v}" for v, n in counts.most_common()), file=sys.stderr)
    return counts, alive


def report(results: dict[str, tuple[Counter, dict[str, str]]]) -> str:
    lines = [
        "# Mutation testing report (benchmarks/mutation.py)",
        "",
        "| module | mutants | killed | not killed |",
        "|---|---|---|---|",
    ]
    for module, (counts, alive) in results.items():
        lines.append(f"| {module} | {sum(counts.values())} | {counts['killed']} | {len(alive)} |")
    for module, (_, alive) in results.items():
        lines += ["", f"## {module}", ""] + (["All killed."] if not alive else [])
        for name, diff in alive.items():
            lines += [f"### {name}", "", "```diff", diff.strip(), "```", ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="MODULE", help="modules to mutate (default: all of them)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "mutation")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from the runs in --out")
    parser.add_argument(
        "--functions",
        nargs="+",
        metavar="GLOB",
        help="with one --only module: mutate only these functions (mutmut names, e.g. 'eval.table2.x_per_class_*')",
    )
    args = parser.parse_args(argv)
    if shutil.which("mutmut") is None:
        parser.error('mutmut is not installed: pip install -e ".[mutation]"')
    known = {t.module: t for t in TARGETS}
    unknown = sorted(set(args.only or ()) - set(known))
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}; choose from {', '.join(known)}")
    targets = [known[m] for m in args.only] if args.only else TARGETS
    if args.functions:
        if len(targets) != 1:
            parser.error("--functions needs exactly one --only module")
        targets = [dataclasses.replace(targets[0], functions=tuple(args.functions))]
    results = {}
    for target in targets:  # the report grows after each module: a long run can be stopped midway
        if not args.report_only:
            run(target, args.out)
        elif not (work_dir(target, args.out) / "mutants").is_dir():
            continue
        results[target.module] = collect(target, args.out)
        (args.out / "report.md").write_text(report(results))
    print(f"report: {args.out / 'report.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
