import json

import pytest

from eval import provenance as prov
from eval import quality
from sggan.data.io import DataError


def _write(path, data):
    path.write_text(json.dumps(data))
    return str(path)


@pytest.fixture
def record(tmp_path):
    out = tmp_path / "prov.json"
    assert prov.main(["--config-json", '{"seed": 3}', "--seed", "3", "--out", str(out)]) == 0
    return str(out)


def test_table_joins_kid_and_semantic_files_per_method(tmp_path, record):
    kid_a = _write(tmp_path / "ka.json", {"kid": 0.012345, "kid_std": 0.0015, "weights": "random"})
    kid_b = _write(tmp_path / "kb.json", {"kid": 0.05, "kid_std": 0.002, "weights": "random"})
    sem_b = _write(tmp_path / "sb.json", {"pixel_acc": 61.234, "class_acc": 40.0, "class_iou": None})
    sem_c = _write(tmp_path / "sc.json", {"pixel_acc": 1.0, "class_acc": 2.0, "class_iou": 3.0})
    out_csv, out_md = tmp_path / "q.csv", tmp_path / "q.md"
    assert (
        quality.main(
            [
                "--kid",
                f"sggan-2k={kid_a}",
                "--kid",
                f"source-only={kid_b}",
                "--semantic",
                f"source-only={sem_b}",
                "--semantic",
                f"ideal={sem_c}",
                "--provenance",
                record,
                "--out-csv",
                str(out_csv),
                "--out-md",
                str(out_md),
            ]
        )
        == 0
    )
    assert out_csv.read_text() == (
        "method,kid_x100,kid_x100_std,semantic_pixel_acc,semantic_class_acc,semantic_class_iou\n"
        "sggan-2k,1.234,0.150,,,\n"
        "source-only,5.000,0.200,61.23,40.00,\n"
        "ideal,,,1.00,2.00,3.00\n"
    )
    md = out_md.read_text()
    assert "Inception weights: random" in md and "seed 3" in md
    assert "| sggan-2k | 1.234 | 0.150 | – | – | – |" in md


def test_a_foreign_json_is_named(tmp_path, record):
    wrong = _write(tmp_path / "scores.json", {"pixel_acc": 1})
    with pytest.raises(DataError, match="scores.json lacks kid/kid_std; is it an eval.kid output?"):
        quality.main(
            [
                "--kid",
                f"m={wrong}",
                "--provenance",
                record,
                "--out-csv",
                str(tmp_path / "q.csv"),
                "--out-md",
                str(tmp_path / "q.md"),
            ]
        )
    assert not (tmp_path / "q.csv").exists()
