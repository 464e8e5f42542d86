"""Table 2 of the paper from score files, next to the paper's own numbers.

    python -m eval.table2 --score source-only=scores/source-only.json --score sggan-2k=scores/sggan-2k.json \
        --out-csv results/tables/table2.csv --out-md results/tables/table2.md --provenance provenance.json

Rows follow the order of ``--score``. The paper columns are filled for the methods the paper
reports under these keys: source-only, cyclegan-2k, sggan-2k, sggan-25k.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from eval.tables import (format_number, markdown_table, method_and_path, provenance_note, read_json,
                         read_provenance, to_csv, unique_methods)
from sggan.cli import run
from sggan.data.io import DataError, atomic_write_text

METRICS = ("pixel_acc", "class_acc", "class_iou")
COLUMNS = ("method", *METRICS, *(f"paper_{m}" for m in METRICS))

# Table 2 of the paper (Cityscapes val, %): pixel acc, class acc, class IoU. Hoffman et al.'s
# feature-level adaptation (class IoU 27.10, cited there) is not a method this benchmark runs.
PAPER_TABLE2 = {
    "source-only": (54.51, 35.95, 24.60),
    "cyclegan-2k": (71.61, 42.98, 28.15),
    "sggan-2k": (72.65, 45.87, 33.81),
    "sggan-25k": (81.72, 47.29, 37.43),
}


def read_scores(path: str | Path) -> dict[str, float | None]:
    data = read_json(path, "python -m eval.evaluate")
    missing = [m for m in METRICS if m not in data]
    if missing:
        raise DataError(f"score file {path} lacks {', '.join(missing)}; is it an eval.evaluate output?")
    return {m: data[m] for m in METRICS}


def table_rows(scores: list[tuple[str, str | Path]]) -> list[dict[str, str]]:
    """One row of formatted cells per (method, score file), in the given order."""
    unique_methods(scores)
    rows = []
    for method, path in scores:
        measured = read_scores(path)
        paper = PAPER_TABLE2.get(method, (None,) * len(METRICS))
        row = {"method": method}
        row.update({m: format_number(measured[m]) for m in METRICS})
        row.update({f"paper_{m}": format_number(v) for m, v in zip(METRICS, paper)})
        rows.append(row)
    return rows


def to_markdown(rows: list[dict[str, str]], provenance: dict) -> str:
    return ("Table 2: segmentation network trained on (adapted) source frames, scored on the target "
            "validation images (%); paper_* columns: the paper's Table 2 (GTA-V -> Cityscapes val).\n\n"
            + markdown_table(rows, COLUMNS) + "\n\n" + provenance_note(provenance) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.table2", description=__doc__.split("\n\n")[0])
    parser.add_argument("--score", type=method_and_path, action="append", required=True,
                        metavar="METHOD=PATH.json", help="a method's eval.evaluate output; repeat, in row order")
    parser.add_argument("--out-csv", required=True)
    parser.add_argument("--out-md", required=True)
    parser.add_argument("--provenance", required=True, help="JSON written by python -m eval.provenance")
    args = parser.parse_args(argv)
    rows = table_rows(args.score)
    provenance = read_provenance(args.provenance)
    atomic_write_text(args.out_csv, to_csv(rows, COLUMNS))
    atomic_write_text(args.out_md, to_markdown(rows, provenance))
    return 0


if __name__ == "__main__":
    run(main)
