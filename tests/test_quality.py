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


RANDOM = {
    "weights": "random",
    "network": "torchvision inception_v3, random weights of seed 0",
    "comparable_with_literature": False,
    "subset_size": 6,
    "subset_size_requested": 6,
}
STANDARD = {
    "weights": "tf-inception",
    "network": "TF inception-2015-12-05 (torch-fidelity FeatureExtractorInceptionV3, 2048-d pool)",
    "weights_file": "weights-inception-2015-12-05-6726825d.pth",
    "weights_sha256": "6726825d" + "0" * 56,
    "weights_url": "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth",
    "comparable_with_literature": True,
    "subset_size": 500,
    "subset_size_requested": 1000,
}


def test_table_joins_kid_and_semantic_files_per_method(tmp_path, record):
    kid_a = _write(tmp_path / "ka.json", {"kid": 0.012345, "kid_std": 0.0015, "fid": 12.345} | RANDOM)
    kid_b = _write(tmp_path / "kb.json", {"kid": 0.05, "kid_std": 0.002, "fid": 40.0} | RANDOM)
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
        "method,kid_x100,kid_x100_std,fid,inception,semantic_pixel_acc,semantic_class_acc,semantic_class_iou\n"
        "sggan-2k,1.234,0.150,12.35,random,,,\n"
        "source-only,5.000,0.200,40.00,random,61.23,40.00,\n"
        "ideal,,,,,1.00,2.00,3.00\n"
    )
    md = out_md.read_text()
    assert (
        "Inception network: torchvision inception_v3, random weights of seed 0; no weights file; NOT comparable "
        "with published FID/KID: ranks the rows of this run only. KID subsets of 6 frames.\n"
    ) in md
    assert "seed 3" in md
    assert "| sggan-2k | 1.234 | 0.150 | 12.35 | random | – | – | – |" in md


def test_note_gives_the_standard_networks_provenance_and_the_capped_subset_size(tmp_path):
    kid = _write(tmp_path / "k.json", {"kid": 0.01, "kid_std": 0.001, "fid": 30.0} | STANDARD)
    assert quality.network_note([kid]) == (
        "Inception network: TF inception-2015-12-05 (torch-fidelity FeatureExtractorInceptionV3, 2048-d pool); "
        f"weights weights-inception-2015-12-05-6726825d.pth (sha256 6726825d{'0' * 56}) from {STANDARD['weights_url']}; "
        "comparable with published FID/KID of the same network at equal set sizes. "
        "KID subsets of 500 frames (1000 requested, capped to the smaller set)."
    )


def test_a_kid_file_of_an_older_eval_kid_is_refused(tmp_path):
    old = _write(tmp_path / "kid.json", {"kid": 0.01, "kid_std": 0.001, "weights": "random"})
    with pytest.raises(DataError, match=r"kid.json lacks fid, network, .*older eval.kid; delete it and rerun"):
        quality.kid_cells(old)


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
