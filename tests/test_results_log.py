"""The benchmark log's tables stay aligned: a row with a cell too few reads as another column."""

from pathlib import Path

import pytest

from benchmarks.results_log import RESULTS, append_row, table_cells


def tables(text: str) -> list[list[str]]:
    """Each markdown table of ``text`` as its lines."""
    found, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            found.append(current)
            current = []
    return found


def test_every_table_of_the_log_has_as_many_cells_per_row_as_its_header():
    log = tables(RESULTS.read_text())
    assert len(log) >= 5
    for table in log:
        width = len(table_cells(table[0]))
        assert set(table[1].replace("|", "").replace(" ", "")) <= {"-", ":"}, table[0][:60]  # the separator
        for line in table[1:]:
            assert len(table_cells(line)) == width, f"{line[:80]}... under {table[0][:60]}..."


def test_append_row_refuses_a_row_that_does_not_fit_its_header(tmp_path: Path):
    results = tmp_path / "RESULTS.md"
    header = "| date | speed (it/s) |"
    append_row(["2026-12-02", "1.5"], header, "## A benchmark", "what it measures", results)
    append_row(["2026-12-03", "1.6"], header, "## A benchmark", results=results)
    assert tables(results.read_text()) == [[header, "|---|---|", "| 2026-12-02 | 1.5 |", "| 2026-12-03 | 1.6 |"]]
    with pytest.raises(ValueError, match="3 cells for the 2 columns"):
        append_row(["2026-12-04", "1.7", "extra"], header, "## A benchmark", results=results)
    assert results.read_text().count("2026-12-04") == 0
