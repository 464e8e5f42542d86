import csv
import sqlite3
import threading

import cv2
import numpy as np
import pytest

from eval.ab import store
from eval.ab.__main__ import main
from eval.ab.kit import Pair, PairRow, build_kit, read_pairs
from eval.ab.store import Tally, make_answer, parse_submit_time
from sggan.data.io import DataError

AB = PairRow("a__vs__b__f0", "a", "b", "f0", "b", "a", "images/x.png", "images/y.png")  # b shown left
AB1 = PairRow("a__vs__b__f1", "a", "b", "f1", "a", "b", "images/z.png", "images/w.png")
BA = PairRow("b__vs__a__f0", "b", "a", "f0", "a", "b", "images/y.png", "images/x.png")  # the reversed pair
AC = PairRow("a__vs__c__f0", "a", "c", "f0", "a", "c", "images/y.png", "images/v.png")


def test_answers_keep_the_chosen_method_and_the_first_of_repeats(tmp_path):
    db = tmp_path / "answers.sqlite"
    with store.opened(db) as conn:
        assert store.record(conn, make_answer(AB, "r1", "left", "lab", response_ms=900))
        assert not store.record(conn, make_answer(AB, "r1", "right", "lab"))  # repeated: ignored
        assert store.record(conn, make_answer(AB, "r2", "right", "lab"))
        assert store.answered_pairs(conn, "r1") == {AB.pair_id}
    with store.opened(db) as conn:  # committed, and the schema is not recreated over the data
        answers = store.answers_of(conn)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [(a.rater, a.choice, a.chosen_method, a.left_method, a.response_ms) for a in answers] == [
        ("r1", "left", "b", "b", 900),
        ("r2", "right", "a", "b", None),
    ]
    assert answers[0].source == "lab" and answers[0].answered_at.endswith("+00:00")
    with pytest.raises(ValueError, match="left' or 'right"):
        make_answer(AB, "r1", "middle", "lab")
    with store.opened(db) as conn, pytest.raises(sqlite3.IntegrityError):  # the schema guards it too
        conn.execute("INSERT INTO answers VALUES ('r9', 'p', 'a', 'b', 'f', 'a', 'a', 'up', 'lab', 't', NULL)")


def test_tally_counts_both_orders_and_only_the_pair(tmp_path):
    db = tmp_path / "answers.sqlite"
    assert store.tally(db, "a", "b") == Tally(0, 0, 0) and store.totals(db) == (0, 0)
    assert not db.exists()  # reading never creates the database
    with store.opened(db) as conn:
        store.record(conn, make_answer(AB, "r1", "right", "lab"))  # chose a
        store.record(conn, make_answer(AB1, "r1", "right", "lab"))  # chose b
        store.record(conn, make_answer(AB, "r2", "right", "crowd"))  # chose a
        store.record(conn, make_answer(BA, "r3", "left", "lab"))  # chose a, in the reversed pair
        store.record(conn, make_answer(BA, "r1", "right", "lab"))  # chose b, in the reversed pair
        store.record(conn, make_answer(AC, "r4", "left", "lab"))  # another pair
    assert store.tally(db, "a", "b") == Tally(prefer_a=3, answers=5, raters=3)
    assert store.tally(db, "b", "a") == Tally(prefer_a=2, answers=5, raters=3)
    assert store.tally(db, "a", "c") == Tally(1, 1, 1)
    assert store.tally(db, "b", "c") == Tally(0, 0, 0)
    assert store.totals(db) == (6, 4)
    (tmp_path / "junk.sqlite").write_text("not a database, just text that is long enough to be read" * 10)
    with pytest.raises(DataError, match="junk.sqlite cannot be read"):
        store.tally(tmp_path / "junk.sqlite", "a", "b")


def test_concurrent_writers_each_with_their_own_connection(tmp_path):
    db = tmp_path / "answers.sqlite"
    store.connect(db).close()
    rows = [PairRow(f"a__vs__b__f{i}", "a", "b", f"f{i}", "a", "b", "x", "y") for i in range(20)]

    def rater(name):
        for row in rows:
            with store.opened(db) as conn:
                store.record(conn, make_answer(row, name, "left", "lab"))
                store.record(conn, make_answer(row, name, "left", "lab"))

    threads = [threading.Thread(target=rater, args=(f"r{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.tally(db, "a", "b") == Tally(80, 80, 4)


def _make_kit(tmp_path):
    lines = ["id\timage\tlabel"]
    for method, grey in (("a", 10), ("b", 200)):
        (tmp_path / method).mkdir()
        for i in range(3):
            cv2.imwrite(str(tmp_path / method / f"f{i}.png"), np.full((8, 16, 3), grey, np.uint8))
    lines += [f"f{i}\tx\ty" for i in range(3)]
    (tmp_path / "frames.tsv").write_text("\n".join(lines) + "\n")
    kit = tmp_path / "kit"
    build_kit(tmp_path / "frames.tsv", {"a": tmp_path / "a", "b": tmp_path / "b"}, [Pair("a", "b")], 3, (8, 16), 0, kit)
    return kit, {row.pair_id: row for row in read_pairs(kit)}


def _write_results(
    path,
    rows,
    columns=(
        "HITId",
        "WorkerId",
        "SubmitTime",
        "AssignmentStatus",
        "WorkTimeInSeconds",
        "Input.pair_id",
        "Input.left_url",
        "Answer.choice",
    ),
):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_crowd_import(tmp_path, capsys):
    kit, pairs = _make_kit(tmp_path)
    p0, p1, p2 = sorted(pairs)
    when = "Wed Mar 13 10:20:30 PDT 2019"
    rows = [
        {
            "WorkerId": "W1",
            "SubmitTime": when,
            "AssignmentStatus": "Approved",
            "WorkTimeInSeconds": "12",
            "Input.pair_id": p0,
            "Answer.choice": "left",
        },
        {
            "WorkerId": "W1",
            "SubmitTime": when,
            "AssignmentStatus": "Submitted",
            "Input.pair_id": p1,
            "Answer.choice": "right",
        },
        {
            "WorkerId": "W2",
            "SubmitTime": when,
            "AssignmentStatus": "Approved",
            "Input.pair_id": p0,
            "Answer.choice": "right",
        },
        {
            "WorkerId": "W1",
            "SubmitTime": when,
            "AssignmentStatus": "Approved",
            "Input.pair_id": p0,
            "Answer.choice": "right",
        },  # the same worker again: a duplicate
        {
            "WorkerId": "W3",
            "SubmitTime": when,
            "AssignmentStatus": "Rejected",
            "Input.pair_id": p2,
            "Answer.choice": "left",
        },
        {
            "WorkerId": "W3",
            "SubmitTime": when,
            "AssignmentStatus": "Approved",
            "Input.pair_id": "x__vs__y__f9",
            "Answer.choice": "left",
        },
        {
            "WorkerId": "W4",
            "SubmitTime": when,
            "AssignmentStatus": "Approved",
            "Input.pair_id": p2,
            "Answer.choice": "",
        },
    ]
    results = _write_results(tmp_path / "Batch_results.csv", rows)
    db = tmp_path / "answers.sqlite"
    report = store.import_crowd_results(db, kit, results)
    assert (report.stored, report.duplicates, report.rejected, report.unknown, report.invalid) == (3, 1, 1, 1, 1)
    with store.opened(db) as conn:
        answers = store.answers_of(conn)
    assert [(a.rater, a.pair_id, a.choice) for a in answers] == [
        ("W1", p0, "left"),
        ("W1", p1, "right"),
        ("W2", p0, "right"),
    ]
    first = answers[0]
    assert first.source == "crowd" and first.chosen_method == pairs[p0].left_method
    assert first.answered_at == "2019-03-13T17:20:30.000+00:00" and first.response_ms == 12000
    assert answers[1].response_ms is None
    expected_a = sum(a.chosen_method == "a" for a in answers)
    assert store.tally(db, "a", "b") == Tally(expected_a, 3, 2)

    # importing the same file again adds nothing
    assert main(["import", "--kit", str(kit), "--db", str(db), "--results", str(results)]) == 0
    assert (
        "0 answers stored, 4 duplicates ignored, 1 rejected assignments skipped, 1 unknown pair ids"
        in capsys.readouterr().out
    )
    assert store.totals(db) == (3, 2)


def test_crowd_import_errors(tmp_path):
    kit, pairs = _make_kit(tmp_path)
    db = tmp_path / "answers.sqlite"
    results = _write_results(tmp_path / "results.csv", [], columns=("WorkerId", "SubmitTime", "Input.pair_id"))
    with pytest.raises(DataError, match=r"results\.csv lack the columns AssignmentStatus, Answer\.choice"):
        store.import_crowd_results(db, kit, results)
    with pytest.raises(DataError, match="gone.csv do not exist"):
        store.import_crowd_results(db, kit, tmp_path / "gone.csv")
    with pytest.raises(DataError, match="pairs.csv does not exist; build the kit"):
        main(["import", "--kit", str(tmp_path / "nokit"), "--db", str(db), "--results", str(results)])


def test_submit_times():
    assert parse_submit_time("Sun Jan 05 23:59:59 PST 2020") == "2020-01-06T07:59:59.000+00:00"
    assert parse_submit_time("Sun Jan 05 23:59:59 UTC 2020") == "2020-01-05T23:59:59.000+00:00"
    assert parse_submit_time("2020-01-05T23:59:59+01:00") == "2020-01-05T22:59:59.000+00:00"
    assert parse_submit_time("yesterday") == "yesterday"  # kept as given rather than lost
