"""Every benchmark, one after the other; each appends its rows to benchmarks/RESULTS.md.

    python benchmarks/run.py            # CPU sizes here, paper sizes when a GPU is present
    python benchmarks/run.py --only evaluate sggan

On a CPU the GPU-sized measurements run in their --quick form (tiny networks, the same code
path), so the whole set takes minutes; with CUDA they measure the paper's sizes (about 5 minutes).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmarks(gpu: bool) -> dict[str, list[str]]:
    quick = [] if gpu else ["--quick"]
    return {
        "evaluate": ["bench_evaluate.py", "--frames", "50" if gpu else "20"],
        "sggan": ["bench_sggan.py", *quick],
        "cyclegan": ["bench_cyclegan.py", *quick],
        "segmentation": ["bench_segmentation.py", *quick],
        "pipeline": ["bench_pipeline.py"],  # the toy DAG: a CPU measurement by design
        "project": ["project_paper.py"],  # paper.yaml on one H200, from the rates logged so far
    }


def main(argv: list[str] | None = None) -> int:
    import torch

    gpu = torch.cuda.is_available()
    table = benchmarks(gpu)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=sorted(table), help="run just these")
    args = parser.parse_args(argv)
    failed = []
    for name in args.only or table:
        script, *options = table[name]
        if not (HERE / script).exists():
            print(f"== {name}: {script} is not there, skipped", file=sys.stderr)
            continue
        print(f"== {name}: {script} {' '.join(options)}", file=sys.stderr, flush=True)
        if subprocess.run([sys.executable, str(HERE / script), *options]).returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
