"""Table 2 of the paper from score files, next to the paper's own numbers.

    python -m eval.table2 --score source-only=scores/source-only.json --score sggan-2k=scores/sggan-2k.json \
        --out-csv results/tables/table2.csv --out-md results/tables/table2.md --provenance provenance.json

Rows follow the order of ``--score``. The paper columns are filled for the methods the paper
reports under these keys: source-only, cyclegan-2k, sggan-2k, sggan-25k.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from pathlib import Path

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


def _format(value: float | None) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.2f}"


def read_scores(path: str | Path) -> dict[str, float | None]:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"score file {path} does not exist; it is written by python -m eval.evaluate") from None
    except json.JSONDecodeError as err:
        raise DataError(f"score file {path} is not valid JSON ({err}); rerun the evaluation") from err
    missing = [m for m in METRICS if m not in data]
    if missing:
        raise DataError(f"score file {path} lacks {', '.join(missing)}; is it an eval.evaluate output?")
    return {m: data[m] for m in METRICS}


def table_rows(scores: list[tuple[str, str | Path]]) -> list[dict[str, str]]:
    """One row of formatted cells per (method, score file), in the given order."""
    methods = [method for method, _ in scores]
    repeated = sorted({m for m in methods if methods.count(m) > 1})
    if repeated:
        raise DataError(f"methods given more than once: {', '.join(repeated)}")
    rows = []
    for method, path in scores:
        measured = read_scores(path)
        paper = PAPER_TABLE2.get(method, (None,) * len(METRICS))
        row = {"method": method}
        row.update({m: _format(measured[m]) for m in METRICS})
        row.update({f"paper_{m}": _format(v) for m, v in zip(METRICS, paper)})
        rows.append(row)
    return rows


def to_csv(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def read_provenance(path: str | Path) -> dict:
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"provenance file {path} does not exist; it is written by python -m eval.provenance") from None
    except json.JSONDecodeError as err:
        raise DataError(f"provenance file {path} is not valid JSON ({err})") from err
    missing = [k for k in ("config_sha256", "seed", "code_version") if k not in record]
    if missing:
        raise DataError(f"provenance file {path} lacks {', '.join(missing)}; is it an eval.provenance output?")
    return record


def provenance_note(record: dict) -> str:
    files = ", ".join(f["path"] for f in record.get("config_files", [])) or "built-in defaults"
    return (f"Config: {files} (sha256 {record['config_sha256'][:12]} of the resolved config); "
            f"seed {record['seed']}; code {record['code_version']}.")


def to_markdown(rows: list[dict[str, str]], provenance: dict) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|" + "---|" + "---:|" * (len(COLUMNS) - 1)]
    lines += ["| " + " | ".join(row[c] or "–" for c in COLUMNS) + " |" for row in rows]
    return ("Table 2: segmentation network trained on (adapted) source frames, scored on the target "
            "validation images (%); paper_* columns: the paper's Table 2 (GTA-V -> Cityscapes val).\n\n"
            + "\n".join(lines) + "\n\n" + provenance_note(provenance) + "\n")


def _method_and_path(value: str) -> tuple[str, str]:
    method, sep, path = value.partition("=")
    if not sep or not method or not path:
        raise argparse.ArgumentTypeError(f"expected METHOD=PATH.json, got {value!r}")
    return method, path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.table2", description=__doc__.split("\n\n")[0])
    parser.add_argument("--score", type=_method_and_path, action="append", required=True,
                        metavar="METHOD=PATH.json", help="a method's eval.evaluate output; repeat, in row order")
    parser.add_argument("--out-csv", required=True)
    parser.add_argument("--out-md", required=True)
    parser.add_argument("--provenance", required=True, help="JSON written by python -m eval.provenance")
    args = parser.parse_args(argv)
    try:
        rows = table_rows(args.score)
        provenance = read_provenance(args.provenance)
    except DataError as err:
        print(f"table2: {err}", file=sys.stderr)
        return 1
    atomic_write_text(args.out_csv, to_csv(rows))
    atomic_write_text(args.out_md, to_markdown(rows, provenance))
    return 0


if __name__ == "__main__":
    sys.exit(main())
