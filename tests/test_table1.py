import json
import math

import pytest

from eval.ab import store
from eval.ab.kit import PairRow
from eval.ab.store import make_answer
from eval.table1 import COLUMNS, main, table_rows, wilson_interval
from eval.tables import to_csv
from sggan.data.io import DataError

Z = 1.959963984540054


def wilson_by_quadratic(k, n, z=Z):
    """The interval's bounds as the roots of (p_hat - p)^2 = z^2 p (1 - p) / n, solved for p:
    another route to the same numbers than the centre and half-width of eval.table1."""
    p_hat = k / n
    a = 1 + z * z / n
    b = -(2 * p_hat + z * z / n)
    c = p_hat * p_hat
    root = math.sqrt(b * b - 4 * a * c)
    return (-b - root) / (2 * a), (-b + root) / (2 * a)


@pytest.mark.parametrize(
    "k, n, expected",
    [
        (0, 10, (0.0, 0.2775)),  # statsmodels proportion_confint(0, 10, method="wilson")
        (5, 10, (0.2366, 0.7634)),
        (10, 10, (0.7225, 1.0)),
        (1, 1, (0.2065, 1.0)),
        (81, 263, (0.2553, 0.3662)),
    ],
)
def test_wilson_known_values(k, n, expected):
    low, high = wilson_interval(k, n)
    assert low == pytest.approx(expected[0], abs=5e-5) and high == pytest.approx(expected[1], abs=5e-5)
    assert (low, high) == pytest.approx(wilson_by_quadratic(k, n), abs=1e-12)


def test_wilson_edges():
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    assert wilson_interval(0, 500)[0] == 0.0 and wilson_interval(500, 500)[1] == 1.0
    for k, n in ((499, 500), (1, 500), (123, 124), (7, 9)):
        low, high = wilson_interval(k, n)
        assert 0 < low < k / n < high < 1
        assert (low, high) == pytest.approx(wilson_by_quadratic(k, n), abs=1e-12)
    assert wilson_interval(3, 10, z=1.0) == pytest.approx(wilson_by_quadratic(3, 10, z=1.0))
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


@pytest.fixture
def kit(tmp_path):
    kit = tmp_path / "kit"
    kit.mkdir()
    (kit / "study.json").write_text(
        json.dumps(
            {
                "pairs": [
                    {"a": "sggan-2k", "b": "cyclegan-2k", "paper_percent": 79.2},
                    {"a": "sggan-25k", "b": "sggan-2k", "paper_percent": 53.8},
                    {"a": "mine", "b": "cyclegan-2k", "paper_percent": None},
                ]
            }
        )
    )
    return kit


def _pair(a, b, frame, left):
    right = b if left == a else a
    return PairRow(f"{a}__vs__{b}__{frame}", a, b, frame, left, right, "images/l.png", "images/r.png")


def test_empty_database_gives_empty_cells(tmp_path, kit):
    db = tmp_path / "none" / "answers.sqlite"
    out_csv, out_md = tmp_path / "tables" / "table1.csv", tmp_path / "tables" / "table1.md"
    assert main(["--kit", str(kit), "--db", str(db), "--out-csv", str(out_csv), "--out-md", str(out_md)]) == 0
    assert not db.exists()
    assert out_csv.read_text() == (
        "method_a,method_b,prefer_a_percent,ci95_low,ci95_high,answers,raters,paper_percent\n"
        "sggan-2k,cyclegan-2k,,,,0,0,79.2\n"
        "sggan-25k,sggan-2k,,,,0,0,53.8\n"
        "mine,cyclegan-2k,,,,0,0,\n"
    )
    md = out_md.read_text()
    assert "| sggan-2k | cyclegan-2k | – | – | – | 0 | 0 | 79.2 |" in md
    assert "| mine | cyclegan-2k | – | – | – | 0 | 0 | – |" in md
    assert "No answers yet" in md and "python -m eval.ab serve" in md and "python -m eval.ab import" in md


def test_tallies_with_reversed_and_unrelated_answers(tmp_path, kit):
    db = tmp_path / "answers.sqlite"
    with store.opened(db) as conn:
        # sggan-2k vs cyclegan-2k: r1 and r2 prefer sggan-2k on f0, r1 prefers cyclegan-2k on f1
        store.record(conn, make_answer(_pair("sggan-2k", "cyclegan-2k", "f0", "sggan-2k"), "r1", "left", "lab"))
        store.record(conn, make_answer(_pair("sggan-2k", "cyclegan-2k", "f0", "cyclegan-2k"), "r2", "right", "crowd"))
        store.record(conn, make_answer(_pair("sggan-2k", "cyclegan-2k", "f1", "sggan-2k"), "r1", "right", "lab"))
        store.record(
            conn, make_answer(_pair("sggan-2k", "cyclegan-2k", "f1", "sggan-2k"), "r1", "left", "lab")
        )  # repeat
        # asked the other way round: counts for the pair, with the preference flipped
        store.record(conn, make_answer(_pair("cyclegan-2k", "sggan-2k", "f2", "sggan-2k"), "r3", "left", "lab"))
        # another pair that shares a method: not counted
        store.record(conn, make_answer(_pair("sggan-25k", "cyclegan-2k", "f0", "sggan-25k"), "r1", "left", "lab"))
    rows = table_rows(kit, db)
    low, high = wilson_interval(3, 4)
    assert rows[0] == {
        "method_a": "sggan-2k",
        "method_b": "cyclegan-2k",
        "prefer_a_percent": "75.0",
        "ci95_low": f"{100 * low:.1f}",
        "ci95_high": f"{100 * high:.1f}",
        "answers": "4",
        "raters": "3",
        "paper_percent": "79.2",
    }
    assert (rows[0]["ci95_low"], rows[0]["ci95_high"]) == ("30.1", "95.4")
    assert rows[1]["answers"] == "0" and rows[1]["prefer_a_percent"] == ""
    assert list(rows[2]) == list(COLUMNS)

    out_csv, out_md = tmp_path / "t.csv", tmp_path / "t.md"
    assert main(["--kit", str(kit), "--db", str(db), "--out-csv", str(out_csv), "--out-md", str(out_md)]) == 0
    assert out_csv.read_text() == to_csv(rows, COLUMNS)
    md = out_md.read_text()
    assert "| sggan-2k | cyclegan-2k | 75.0 | 30.1 | 95.4 | 4 | 3 | 79.2 |" in md
    assert "5 answers from 3 raters" in md


def test_bad_kit_is_reported(tmp_path):
    argv = ["--kit", str(tmp_path / "nokit"), "--out-csv", str(tmp_path / "t.csv"), "--out-md", str(tmp_path / "t.md")]
    with pytest.raises(DataError, match="study.json does not exist; build the kit with python -m eval.ab kit"):
        main(argv)
    assert not (tmp_path / "t.csv").exists()
    (tmp_path / "nokit").mkdir()
    (tmp_path / "nokit" / "study.json").write_text('{"pairs": [{"a": "x"}]}')
    with pytest.raises(DataError, match="no valid 'pairs'"):
        main(argv)
