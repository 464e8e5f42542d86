"""What the result tables share: METHOD=PATH arguments, CSV and Markdown text, the provenance note."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
from pathlib import Path

from sggan.data.io import DataError


def method_and_path(value: str) -> tuple[str, str]:
    """argparse type of ``--flag METHOD=PATH``."""
    method, sep, path = value.partition("=")
    if not sep or not method or not path:
        raise argparse.ArgumentTypeError(f"expected METHOD=PATH, got {value!r}")
    return method, path


def unique_methods(pairs: list[tuple[str, str]]) -> None:
    methods = [method for method, _ in pairs]
    repeated = sorted({m for m in methods if methods.count(m) > 1})
    if repeated:
        raise DataError(f"methods given more than once: {', '.join(repeated)}")


def format_number(value: float | None, digits: int = 2) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def read_json(path: str | Path, written_by: str) -> dict:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path} does not exist; it is written by {written_by}") from None
    except json.JSONDecodeError as err:
        raise DataError(f"{path} is not valid JSON ({err}); rerun {written_by}") from err


def to_csv(rows: list[dict[str, str]], columns: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def markdown_table(rows: list[dict[str, str]], columns: tuple[str, ...], text_columns: int = 1) -> str:
    """A Markdown table, the first ``text_columns`` left-aligned, the numbers right-aligned; empty
    cells as –."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * text_columns + "---:|" * (len(columns) - text_columns)]
    lines += ["| " + " | ".join(row[c] or "–" for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def read_provenance(path: str | Path) -> dict:
    record = read_json(path, "python -m eval.provenance")
    missing = [k for k in ("config_sha256", "code_version") if k not in record]
    if "seeds" not in record and "seed" not in record:
        missing.append("seeds")
    if missing:
        raise DataError(f"provenance file {path} lacks {', '.join(missing)}; is it an eval.provenance output?")
    return record


def provenance_seeds(record: dict) -> list[int]:
    """The run's seeds (a record written before seeds were a list has one ``seed``)."""
    return list(record["seeds"]) if "seeds" in record else [record["seed"]]


def provenance_note(record: dict) -> str:
    files = ", ".join(f["path"] for f in record.get("config_files", [])) or "built-in defaults"
    return (
        f"Config: {files} (sha256 {record['config_sha256'][:12]} of the resolved config); "
        f"{seeds_phrase(provenance_seeds(record))}; code {record['code_version']}."
    )


def seeds_phrase(seeds: list[int]) -> str:
    return ("seeds " if len(seeds) > 1 else "seed ") + ", ".join(map(str, seeds))
