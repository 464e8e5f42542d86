"""What the result tables share (eval.tables), by hand: the exact text of each cell, row and note,
and the refusals with the file and fix they name."""

import argparse
import json

import pytest

from eval.tables import (
    format_number,
    markdown_table,
    method_and_path,
    provenance_note,
    provenance_seeds,
    read_json,
    read_provenance,
    seeds_phrase,
    to_csv,
    unique_methods,
)
from sggan.data.io import DataError


def test_method_and_path_splits_at_the_first_equals_sign_and_refuses_a_missing_half():
    assert method_and_path("sggan=runs/a=b.json") == ("sggan", "runs/a=b.json")
    for value in ("sggan", "=scores.json", "sggan="):
        with pytest.raises(argparse.ArgumentTypeError, match=f"expected METHOD=PATH, got '{value}'"):
            method_and_path(value)


def test_unique_methods_names_each_repeated_method_once_in_order():
    unique_methods([("a", "1"), ("b", "2")])
    with pytest.raises(DataError, match=r"^methods given more than once: a, b$"):
        unique_methods([("b", "1"), ("a", "2"), ("b", "3"), ("a", "4"), ("a", "5"), ("c", "6")])


def test_format_number_rounds_to_the_digits_and_leaves_missing_values_empty():
    assert format_number(12.3456) == "12.35"
    assert format_number(12.3456, 1) == "12.3"
    assert format_number(0.0) == "0.00"
    assert format_number(None) == "" and format_number(float("nan")) == ""


def test_read_json_names_the_file_and_the_command_that_writes_it(tmp_path):
    (tmp_path / "ok.json").write_text('{"a": [1, 2]}')
    assert read_json(tmp_path / "ok.json", "x") == {"a": [1, 2]}
    with pytest.raises(DataError, match=r"missing.json does not exist; it is written by python -m eval.x$"):
        read_json(tmp_path / "missing.json", "python -m eval.x")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(DataError, match=r"bad.json is not valid JSON \(.*\); rerun python -m eval.x$"):
        read_json(tmp_path / "bad.json", "python -m eval.x")


def test_csv_and_markdown_text_by_hand():
    rows = [{"method": "a", "split": "val", "iou": "1.50"}, {"method": "b", "split": "", "iou": ""}]
    assert to_csv(rows, ("method", "split", "iou")) == "method,split,iou\na,val,1.50\nb,,\n"
    assert to_csv(rows, ("iou", "method", "split")) == "iou,method,split\n1.50,a,val\n,b,\n"
    assert markdown_table(rows, ("method", "split", "iou"), text_columns=2) == (
        "| method | split | iou |\n|---|---|---:|\n| a | val | 1.50 |\n| b | – | – |"
    )
    assert markdown_table(rows, ("method", "split", "iou")).splitlines()[1] == "|---|---:|---:|"


def test_provenance_is_read_checked_and_phrased(tmp_path):
    record = {"config_sha256": "0123456789abcdef", "code_version": "v1-3-gabc", "seeds": [0, 1, 2]}
    (tmp_path / "p.json").write_text(json.dumps(record))
    assert read_provenance(tmp_path / "p.json") == record
    assert provenance_note(record) == (
        "Config: built-in defaults (sha256 0123456789ab of the resolved config); seeds 0, 1, 2; code v1-3-gabc."
    )
    files = {**record, "seeds": [4], "config_files": [{"path": "a.yaml"}, {"path": "b.yaml"}]}
    assert provenance_note(files) == (
        "Config: a.yaml, b.yaml (sha256 0123456789ab of the resolved config); seed 4; code v1-3-gabc."
    )
    # a record written before seeds were a list has one seed
    assert provenance_seeds({"seed": 7}) == [7] and provenance_seeds({"seeds": [3, 1], "seed": 9}) == [3, 1]
    (tmp_path / "old.json").write_text(json.dumps({"config_sha256": "x", "code_version": "y", "seed": 7}))
    assert read_provenance(tmp_path / "old.json")["seed"] == 7
    for dropped, named in (("config_sha256", "config_sha256"), ("code_version", "code_version"), ("seeds", "seeds")):
        (tmp_path / "q.json").write_text(json.dumps({k: v for k, v in record.items() if k != dropped}))
        with pytest.raises(DataError, match=rf"q.json lacks {named}; is it an eval.provenance output\?$"):
            read_provenance(tmp_path / "q.json")
    with pytest.raises(DataError, match=r"none.json does not exist; it is written by python -m eval.provenance$"):
        read_provenance(tmp_path / "none.json")
    (tmp_path / "r.json").write_text("{}")
    with pytest.raises(DataError, match="lacks config_sha256, code_version, seeds;"):
        read_provenance(tmp_path / "r.json")


def test_seeds_phrase():
    assert seeds_phrase([0]) == "seed 0"
    assert seeds_phrase([0, 1, 2]) == "seeds 0, 1, 2"
