"""The shared part of every benchmark: what machine ran it, peak GPU memory, its row in RESULTS.md."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{platform.system()} {platform.release()}, {cpu}, {cores} cores"


def card() -> str:
    try:
        import torch
    except ImportError:
        return "none"
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"


def commit() -> str:
    try:
        from eval.provenance import code_version

        return code_version()
    except Exception:  # no git on the machine, or the package is not importable
        return "unknown"


def reset_peak(device) -> None:
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gib(device) -> float | None:
    """Peak GPU memory allocated since the last reset_peak, in GiB (None on a CPU)."""
    if device.type != "cuda":
        return None
    import torch

    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() / 2**30


def add_output_arguments(parser) -> None:
    """The options every GPU benchmark shares: device, where its row goes, a JSON copy."""
    parser.add_argument("--device", default="auto")
    parser.add_argument("--results", type=Path, default=RESULTS, help="markdown log to append a row to")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    parser.add_argument("--no-log", action="store_true", help="print only")


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M")


def table_cells(line: str) -> list[str]:
    """The cells of one markdown table line ``| a | b |``."""
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def append_row(cells: list[str], header: str, section: str, section_text: str = "", results: Path = RESULTS) -> None:
    """Add a row at the end of the table whose header starts with ``header``; the first time,
    create the section (title, explanation, table) at the end of the log."""
    from sggan.data.io import atomic_write_text

    text = results.read_text() if results.exists() else "# Benchmark results log\n"
    lines = text.rstrip("\n").splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(header[:60])), None)
    if start is None:
        lines += [
            "",
            section,
            "",
            *section_text.strip("\n").splitlines(),
            "",
            header,
            "|" + "---|" * (header.count("|") - 1),
        ]
        start = len(lines) - 2
    columns = table_cells(lines[start])
    if len(cells) != len(columns):  # a shifted row reads as another column's number
        raise ValueError(
            f"{len(cells)} cells for the {len(columns)} columns of the table '{lines[start][:60]}...' in {results}"
        )
    end = start + 1
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    lines.insert(end, "| " + " | ".join(cells) + " |")
    atomic_write_text(results, "\n".join(lines) + "\n")
