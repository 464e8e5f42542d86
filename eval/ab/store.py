"""The answers of the A/B study in one SQLite file, from the local app and from crowd imports.

One row per answer: who (``rater``, ``source`` = lab or crowd), which pair and frame, the two
methods and which one was on the left, the side chosen *and the method chosen*, when (UTC ISO
time) and how fast (``response_ms``, when known). Storing the methods rather than only left/right
keeps tallies right even if the kit is rebuilt with other sides.

``UNIQUE(rater, pair_id)``: a rater's repeated answer to a pair (a double click, the back button,
importing the same results twice) is kept once, the first, and reported as a duplicate, so no
rater is counted twice for a pair.

Only ``python -m eval.ab serve`` and ``python -m eval.ab import`` create the file, never the
pipeline, so a rerun can never delete answers. Each caller opens its own connection (the web
app one per request, as sqlite3 connections are not shared across threads); the database runs
in WAL mode so that readers never block the raters' writes.
"""

from __future__ import annotations

import csv
import sqlite3
from contextlib import contextmanager
from dataclasses import astuple, dataclass, fields
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from eval.ab.kit import PairRow, read_pairs
from sggan.data.io import DataError

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    rater         TEXT NOT NULL,
    pair_id       TEXT NOT NULL,
    method_a      TEXT NOT NULL,
    method_b      TEXT NOT NULL,
    frame_id      TEXT NOT NULL,
    left_method   TEXT NOT NULL,
    chosen_method TEXT NOT NULL,
    choice        TEXT NOT NULL CHECK (choice IN ('left', 'right')),
    source        TEXT NOT NULL,
    answered_at   TEXT NOT NULL,
    response_ms   INTEGER,
    UNIQUE (rater, pair_id)
)
"""
CHOICES = ("left", "right")
BUSY_TIMEOUT_S = 10.0  # a write waits this long for another one to finish before failing


@dataclass(frozen=True)
class Answer:
    rater: str
    pair_id: str
    method_a: str
    method_b: str
    frame_id: str
    left_method: str
    chosen_method: str
    choice: str
    source: str
    answered_at: str
    response_ms: int | None = None


ANSWER_COLUMNS = tuple(f.name for f in fields(Answer))


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def make_answer(
    row: PairRow, rater: str, choice: str, source: str, answered_at: str | None = None, response_ms: int | None = None
) -> Answer:
    """The answer ``choice`` (left/right) of ``rater`` to the pair shown as ``row``."""
    if choice not in CHOICES:
        raise ValueError(f"choice must be 'left' or 'right', got {choice!r}")
    chosen = row.left_method if choice == "left" else row.right_method
    return Answer(
        rater,
        row.pair_id,
        row.method_a,
        row.method_b,
        row.frame_id,
        row.left_method,
        chosen,
        choice,
        source,
        answered_at or now_utc(),
        response_ms,
    )


# ------------------------------------------------------------------------------------------ connections
def connect(db: str | Path) -> sqlite3.Connection:
    """A new connection to ``db``, created with its schema if absent."""
    db = Path(db)
    db.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(db, timeout=BUSY_TIMEOUT_S)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(SCHEMA)
    except sqlite3.DatabaseError as err:
        raise DataError(
            f"answers database {db} cannot be opened ({err}); is it a SQLite file written by python -m eval.ab?"
        ) from err
    return conn


@contextmanager
def opened(db: str | Path):
    """``connect`` for one unit of work: committed at the end, always closed."""
    conn = connect(db)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def record(conn: sqlite3.Connection, answer: Answer) -> bool:
    """Store ``answer``; False (and nothing stored) if the rater already answered this pair."""
    placeholders = ", ".join("?" for _ in ANSWER_COLUMNS)
    cursor = conn.execute(
        f"INSERT OR IGNORE INTO answers ({', '.join(ANSWER_COLUMNS)}) VALUES ({placeholders})", astuple(answer)
    )
    return cursor.rowcount == 1


def answered_pairs(conn: sqlite3.Connection, rater: str) -> set[str]:
    return {pid for (pid,) in conn.execute("SELECT pair_id FROM answers WHERE rater = ?", (rater,))}


def answers_of(conn: sqlite3.Connection, rater: str | None = None) -> list[Answer]:
    query = f"SELECT {', '.join(ANSWER_COLUMNS)} FROM answers"
    rows = (
        conn.execute(query + " WHERE rater = ? ORDER BY rowid", (rater,))
        if rater is not None
        else conn.execute(query + " ORDER BY rowid")
    )
    return [Answer(*row) for row in rows]


# ------------------------------------------------------------------------------------------ tallies
@dataclass(frozen=True)
class Tally:
    prefer_a: int  # answers that chose method a
    answers: int
    raters: int


def tally_pair(conn: sqlite3.Connection, a: str, b: str) -> Tally:
    """Answers comparing ``a`` with ``b``, in either order: an answer to the pair (b, a) counts
    for ``a`` when it chose ``a``, i.e. with its preference flipped."""
    prefer_a, answers, raters = conn.execute(
        "SELECT COALESCE(SUM(chosen_method = ?), 0), COUNT(*), COUNT(DISTINCT rater) FROM answers "
        "WHERE (method_a = ? AND method_b = ?) OR (method_a = ? AND method_b = ?)",
        (a, a, b, b, a),
    ).fetchone()
    return Tally(prefer_a, answers, raters)


@contextmanager
def read_only(db: str | Path):
    """A read-only connection to an existing ``db`` (None if it does not exist yet: no answers)."""
    db = Path(db)
    if not db.is_file():
        yield None
        return
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    except sqlite3.DatabaseError as err:
        raise DataError(f"answers database {db} cannot be read ({err})") from err
    try:
        yield conn
    except sqlite3.DatabaseError as err:
        raise DataError(
            f"answers database {db} cannot be read ({err}); is it a SQLite file written by python -m eval.ab?"
        ) from err
    finally:
        conn.close()


def tally(db: str | Path, a: str, b: str) -> Tally:
    """``tally_pair`` on the file ``db``, read only; a database not created yet has no answers."""
    with read_only(db) as conn:
        return tally_pair(conn, a, b) if conn is not None else Tally(0, 0, 0)


def totals(db: str | Path) -> tuple[int, int]:
    """(answers, raters) in ``db`` over all pairs."""
    with read_only(db) as conn:
        if conn is None:
            return 0, 0
        return conn.execute("SELECT COUNT(*), COUNT(DISTINCT rater) FROM answers").fetchone()


# ------------------------------------------------------------------------------------------ crowd import
CROWD_COLUMNS = ("WorkerId", "SubmitTime", "AssignmentStatus", "Input.pair_id", "Answer.choice")
# Mechanical Turk writes SubmitTime as "Wed Mar 13 10:20:30 PDT 2019", in US zones or UTC/GMT.
ZONE_HOURS = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
}


@dataclass
class ImportReport:
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    unknown: int = 0  # pair ids not in the kit
    invalid: int = 0  # answers other than left/right (e.g. empty), or no worker id

    def summary(self) -> str:
        return (
            f"{self.stored} answers stored, {self.duplicates} duplicates ignored, "
            f"{self.rejected} rejected assignments skipped, {self.unknown} unknown pair ids, "
            f"{self.invalid} invalid rows (answer neither left nor right, or no WorkerId)"
        )


def parse_submit_time(text: str) -> str:
    """UTC ISO time of a platform's submit time (MTurk's format or ISO 8601); the text as given
    if neither, so that nothing is lost."""
    text = text.strip()
    parts = text.split()
    if len(parts) == 6 and parts[4] in ZONE_HOURS:
        try:
            local = datetime.strptime(" ".join(parts[:4] + parts[5:]), "%a %b %d %H:%M:%S %Y")
            when = local.replace(tzinfo=timezone(timedelta(hours=ZONE_HOURS[parts[4]])))
            return when.astimezone(UTC).isoformat(timespec="milliseconds")
        except ValueError:
            return text
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return text
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="milliseconds")


def _response_ms(row: dict) -> int | None:
    try:
        return int(float(row.get("WorkTimeInSeconds") or "") * 1000)
    except ValueError:
        return None


def read_crowd_results(results_csv: str | Path) -> list[dict]:
    path = Path(results_csv)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            missing = [c for c in CROWD_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DataError(
                    f"crowd results {path} lack the columns {', '.join(missing)}; expected a "
                    f"Mechanical Turk batch results CSV with {', '.join(CROWD_COLUMNS)} "
                    "(a task made from the kit's crowd/task.html and crowd/batch.csv)"
                )
            return list(reader)
    except FileNotFoundError:
        raise DataError(
            f"crowd results {path} do not exist; download the batch results CSV from the crowd platform"
        ) from None


def import_crowd_results(db: str | Path, kit: str | Path, results_csv: str | Path) -> ImportReport:
    """Store every answer of a crowd results CSV (source "crowd"), skipping rejected assignments."""
    pairs = {row.pair_id: row for row in read_pairs(kit)}
    rows = read_crowd_results(results_csv)
    report = ImportReport()
    with opened(db) as conn:
        for row in rows:
            if row["AssignmentStatus"].strip().lower() == "rejected":
                report.rejected += 1
                continue
            pair = pairs.get(row["Input.pair_id"].strip())
            if pair is None:
                report.unknown += 1
                continue
            choice, worker = row["Answer.choice"].strip().lower(), row["WorkerId"].strip()
            if choice not in CHOICES or not worker:
                report.invalid += 1
                continue
            answer = make_answer(pair, worker, choice, "crowd", parse_submit_time(row["SubmitTime"]), _response_ms(row))
            if record(conn, answer):
                report.stored += 1
            else:
                report.duplicates += 1
    return report
