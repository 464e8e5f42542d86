import hashlib
import json
import subprocess

import pytest

from eval import provenance as prov
from eval.table2 import COLUMNS, main, table_rows
from eval.tables import to_csv
from sggan.data.io import DataError


def _write_scores(path, pixel, klass, iou):
    path.write_text(json.dumps({"pixel_acc": pixel, "class_acc": klass, "class_iou": iou, "num_images": 2}))
    return path


@pytest.fixture
def score_files(tmp_path):
    return [("sggan-25k", _write_scores(tmp_path / "a.json", 80.0, 45.5, 36.125)),
            ("my-translator", _write_scores(tmp_path / "b.json", 12.3456, None, 3.14159)),
            ("source-only", _write_scores(tmp_path / "c.json", 50.004, 30.0, 20.0))]


def test_csv_keeps_order_and_fills_paper_columns_only_for_paper_methods(score_files):
    assert to_csv(table_rows(score_files), COLUMNS) == (
        "method,pixel_acc,class_acc,class_iou,paper_pixel_acc,paper_class_acc,paper_class_iou\n"
        "sggan-25k,80.00,45.50,36.12,81.72,47.29,37.43\n"
        "my-translator,12.35,,3.14,,,\n"
        "source-only,50.00,30.00,20.00,54.51,35.95,24.60\n")


def test_cli_writes_csv_and_markdown_with_provenance_note(tmp_path, score_files):
    config = tmp_path / "config.yaml"
    config.write_text("seed: 7\n")
    record = tmp_path / "prov.json"
    assert prov.main(["--config-json", '{"seed": 7}', "--seed", "7", "--config-file", str(config),
                      "--out", str(record)]) == 0
    out_csv, out_md = tmp_path / "tables" / "table2.csv", tmp_path / "tables" / "table2.md"
    argv = [arg for method, path in score_files for arg in ("--score", f"{method}={path}")]
    assert main(argv + ["--out-csv", str(out_csv), "--out-md", str(out_md), "--provenance", str(record)]) == 0
    assert out_csv.read_text() == to_csv(table_rows(score_files), COLUMNS)
    md = out_md.read_text().splitlines()
    table = [line for line in md if line.startswith("|")]
    assert table[0] == ("| method | pixel_acc | class_acc | class_iou | paper_pixel_acc | paper_class_acc "
                        "| paper_class_iou |")
    assert table[2] == "| sggan-25k | 80.00 | 45.50 | 36.12 | 81.72 | 47.29 | 37.43 |"
    assert table[3] == "| my-translator | 12.35 | – | 3.14 | – | – | – |"
    assert len(table) == 5
    note = md[-1]
    assert str(config) in note and "seed 7" in note and prov.code_version() in note


def test_bad_inputs_are_reported(tmp_path, score_files):
    argv = ["--out-csv", str(tmp_path / "t.csv"), "--out-md", str(tmp_path / "t.md"),
            "--provenance", str(tmp_path / "missing.json")]
    with pytest.raises(DataError, match="none.json does not exist"):
        main(["--score", f"x={tmp_path / 'none.json'}"] + argv)
    with pytest.raises(DataError, match="missing.json does not exist"):
        main(["--score", f"x={score_files[0][1]}"] + argv)
    assert not (tmp_path / "t.csv").exists()
    (tmp_path / "partial.json").write_text('{"pixel_acc": 1}')
    with pytest.raises(DataError, match="lacks class_acc, class_iou"):
        table_rows([("x", tmp_path / "partial.json")])
    with pytest.raises(DataError, match="more than once: x"):
        table_rows([("x", score_files[0][1]), ("x", score_files[1][1])])
    with pytest.raises(SystemExit):
        main(["--score", "no-equals-sign"] + argv)


def test_provenance_record(tmp_path):
    config_file = tmp_path / "c.yaml"
    config_file.write_text("a: 1\n")
    record = prov.provenance({"b": [1, 2], "a": "é"}, 3, [str(config_file), str(tmp_path / "gone.yaml")])
    canonical = '{"a":"é","b":[1,2]}'
    assert record["config_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert record["config_sha256"] == prov.provenance({"a": "é", "b": [1, 2]}, 3, [])["config_sha256"]
    assert record["config_files"] == [
        {"path": str(config_file), "sha256": hashlib.sha256(b"a: 1\n").hexdigest()},
        {"path": str(tmp_path / "gone.yaml"), "sha256": None}]
    assert record["seed"] == 3 and record["config"] == {"b": [1, 2], "a": "é"}
    assert record["timestamp_utc"].endswith("+00:00")
    assert record["torch_version"] and record["hostname"]


def test_code_version_is_git_describe_of_this_checkout():
    described = subprocess.run(["git", "-C", str(prov._REPO_ROOT), "describe", "--always", "--dirty"],
                               capture_output=True, text=True).stdout.strip()
    assert prov.code_version() == described


def test_code_version_falls_back_to_package_version(tmp_path, monkeypatch):
    # a copy inside some other repository must not report that repository's commit
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "site-packages").mkdir()
    monkeypatch.setattr(prov, "_REPO_ROOT", tmp_path / "site-packages")
    monkeypatch.delenv("SGGAN_CODE_VERSION", raising=False)
    assert prov.code_version() == "sggan-benchmark 0.1.0"
    # a copy told its commit when it was made (a container image, the GPU machine's tree) says so
    monkeypatch.setenv("SGGAN_CODE_VERSION", "3e36079")
    assert prov.code_version() == "3e36079"


def test_provenance_cli_reads_config_from_file(tmp_path):
    (tmp_path / "config.json").write_text('{"world": {"seed": 1}}')
    out = tmp_path / "p.json"
    assert prov.main(["--config-json", f"@{tmp_path / 'config.json'}", "--seed", "1", "--out", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written["config"] == {"world": {"seed": 1}} and written["config_files"] == []
    with pytest.raises(SystemExit):
        prov.main(["--config-json", "[1, 2]", "--seed", "1", "--out", str(out)])
