"""The durable exactly-once journal of dispense requests (SQLite, fsync on every commit).

One row per request id. A row is written (`reserve`) and fsync'd to disk *before* the
DISPENSE frame leaves the host; its autoincrement key is the board's job id, so a job id
is never reused, even across restarts. The row stays `sent` until the board's outcome is
known (`finish`), or is deleted (`release`) when the board refused the job outright.

    sent  --finish-->  done          a done request never dispenses again
    sent  --release--> (no row)      the board did nothing; the id may be tried again

Rows also answer the per-visitor limits: a `sent` row counts its full `count` (it may
still be dispensing), a `done` row what actually came out.

Thread-safe: one connection guarded by a lock (requests are short, one per visitor).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from service_desk_robot.robot.dispenser import errors

SENT = "sent"
DONE = "done"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    job_id      INTEGER PRIMARY KEY AUTOINCREMENT,  -- the board's job id (never reused)
    request_id  TEXT NOT NULL UNIQUE,
    visitor_id  TEXT NOT NULL,
    item        TEXT NOT NULL,
    count       INTEGER NOT NULL,
    boot_id     INTEGER NOT NULL,                   -- board power-up the job was sent to
    state       TEXT NOT NULL,
    dispensed   INTEGER NOT NULL DEFAULT 0,
    error_code  TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT '',
    created_s   REAL NOT NULL,
    finished_s  REAL
);
CREATE INDEX IF NOT EXISTS requests_by_visitor ON requests (visitor_id, item, created_s);
"""


@dataclass(frozen=True)
class Entry:
    job_id: int
    request_id: str
    visitor_id: str
    item: str
    count: int
    boot_id: int
    state: str
    dispensed: int
    error_code: str
    message: str
    created_s: float
    finished_s: float | None


class Journal:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: every commit is fsync'd, so a reserved row survives a power cut.
            # `finish` and `release` relax this for their own commit (see _relaxed).
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as error:
            raise errors.JournalError(f"cannot open the dispense journal {path}: {error}") from error

    @contextmanager
    def _cursor(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as error:
                raise errors.JournalError(f"dispense journal {self.path}: {error}") from error

    @contextmanager
    def _relaxed(self) -> Iterator[sqlite3.Connection]:
        """A commit that need not reach the disk before returning (WAL, synchronous=NORMAL).

        Losing it in a power cut is safe: the row stays `sent`, and a `sent` row is
        settled with the board or answered ALREADY_SERVED, never dispensed again. Only
        `reserve` must be durable before the DISPENSE frame leaves, and it is.
        """
        with self._cursor() as db:
            db.execute("PRAGMA synchronous=NORMAL")
            try:
                yield db
            finally:
                db.execute("PRAGMA synchronous=FULL")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get(self, request_id: str) -> Entry | None:
        with self._cursor() as db:
            row = db.execute("SELECT * FROM requests WHERE request_id = ?", (request_id,)).fetchone()
        return Entry(**dict(row)) if row else None

    def reserve(
        self, request_id: str, visitor_id: str, item: str, count: int, boot_id: int, now_s: float
    ) -> Entry:
        """Record a request before it is sent; raises AlreadyServedError if the id exists."""
        try:
            with self._cursor() as db:
                db.execute(
                    "INSERT INTO requests (request_id, visitor_id, item, count, boot_id, state, created_s) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (request_id, visitor_id, item, count, boot_id, SENT, now_s),
                )
        except errors.JournalError as error:
            if isinstance(error.__cause__, sqlite3.IntegrityError):
                raise errors.AlreadyServedError(f"request {request_id} is already journalled") from error
            raise
        entry = self.get(request_id)
        if entry is None:
            raise errors.JournalError(f"request {request_id} vanished right after it was journalled")
        return entry

    def finish(self, request_id: str, dispensed: int, error_code: str, message: str, now_s: float) -> None:
        with self._relaxed() as db:
            db.execute(
                "UPDATE requests SET state = ?, dispensed = ?, error_code = ?, message = ?, finished_s = ? "
                "WHERE request_id = ?",
                (DONE, dispensed, error_code, message, now_s, request_id),
            )

    def release(self, request_id: str) -> None:
        with self._relaxed() as db:
            db.execute("DELETE FROM requests WHERE request_id = ? AND state = ?", (request_id, SENT))

    def consumed(self, visitor_id: str, item: str, since_s: float) -> int:
        """Items of `item` this visitor got (or may be getting) since `since_s`."""
        with self._cursor() as db:
            row = db.execute(
                "SELECT COALESCE(SUM(CASE WHEN state = ? THEN count ELSE dispensed END), 0) "
                "FROM requests WHERE visitor_id = ? AND item = ? AND created_s >= ?",
                (SENT, visitor_id, item, since_s),
            ).fetchone()
        return int(row[0])

    def in_flight(self) -> list[Entry]:
        with self._cursor() as db:
            rows = db.execute("SELECT * FROM requests WHERE state = ? ORDER BY job_id", (SENT,)).fetchall()
        return [Entry(**dict(row)) for row in rows]
