"""Durable outbox: writes that must not be lost wait here until the server has them.

`Outbox` is a SQLite file (`outbox.sqlite3`) in a configurable folder. `put()` commits
the item (with its idempotency key) before returning, with synchronous=FULL, so an item
once accepted survives kill -9, a power cut and restarts. `OutboxDelivery` sends pending
items strictly in the order they were accepted, each with its own idempotency key: if
the robot dies after the server stored an item but before it was marked delivered, the
resend is recognised by the server as the same item, so nothing is ever duplicated.

Delivery stops at the first item the server cannot take now (unreachable), keeping the
order; an item the server refuses for good (4xx other than auth) is set aside as
REJECTED with the reason, so one bad item cannot block the rest forever.

Threading: `Outbox` methods are thread-safe (one connection behind a lock);
`OutboxDelivery.deliver_pending` is meant for one delivering thread at a time.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service_desk_robot.robot.ward_office.errors import (
    AuthRejectedError,
    OutboxError,
    RequestRejectedError,
    ServerUnavailableError,
    WardOfficeError,
)

FILE_NAME = "outbox.sqlite3"
PENDING, DELIVERED, REJECTED = "PENDING", "DELIVERED", "REJECTED"

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'PENDING',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS items_pending ON items (state, id);
"""


@dataclass(frozen=True)
class OutboxItem:
    id: int
    kind: str
    idempotency_key: str
    payload: dict[str, Any]
    created_at: float
    state: str
    attempts: int
    last_error: str


@dataclass(frozen=True)
class OutboxCounts:
    pending: int
    delivered: int
    rejected: int
    oldest_pending_age_s: float  # 0 when nothing is pending


class Outbox:
    def __init__(self, folder: Path | str, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(folder) / FILE_NAME
        self._clock = clock
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk before put() returns (kill -9 and power cuts alike).
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise OutboxError(f"cannot open outbox {self.path}: {error}") from error

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (its own transaction) and return all its rows."""
        try:
            with self._lock:
                return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise OutboxError(f"outbox {self.path}: {error}") from error

    def put(self, kind: str, payload: Mapping[str, Any], idempotency_key: str) -> OutboxItem:
        """Store an item durably; the same key again returns the stored item unchanged."""
        if not idempotency_key:
            raise ValueError("an outbox item needs an idempotency key")
        self._execute(
            "INSERT OR IGNORE INTO items (kind, idempotency_key, payload, created_at) VALUES (?, ?, ?, ?)",
            (kind, idempotency_key, json.dumps(dict(payload), ensure_ascii=False), self._clock()),
        )
        rows = self._execute("SELECT * FROM items WHERE idempotency_key = ?", (idempotency_key,))
        return _item(rows[0])

    def get(self, item_id: int) -> OutboxItem | None:
        rows = self._execute("SELECT * FROM items WHERE id = ?", (item_id,))
        return _item(rows[0]) if rows else None

    def pending(self, limit: int = 100) -> list[OutboxItem]:
        rows = self._execute("SELECT * FROM items WHERE state = ? ORDER BY id LIMIT ?", (PENDING, limit))
        return [_item(row) for row in rows]

    def mark_delivered(self, item_id: int) -> None:
        self._execute(
            "UPDATE items SET state = ?, attempts = attempts + 1, finished_at = ? WHERE id = ?",
            (DELIVERED, self._clock(), item_id),
        )

    def mark_rejected(self, item_id: int, reason: str) -> None:
        self._execute(
            "UPDATE items SET state = ?, attempts = attempts + 1, last_error = ?, finished_at = ?"
            " WHERE id = ?",
            (REJECTED, reason, self._clock(), item_id),
        )

    def record_failure(self, item_id: int, reason: str) -> None:
        self._execute(
            "UPDATE items SET attempts = attempts + 1, last_error = ? WHERE id = ?", (reason, item_id)
        )

    def prune(self, older_than_s: float) -> int:
        """Forget delivered and rejected items finished more than `older_than_s` ago."""
        cutoff = self._clock() - older_than_s
        before = self._execute(
            "SELECT COUNT(*) FROM items WHERE state != ? AND finished_at < ?", (PENDING, cutoff)
        )
        self._execute("DELETE FROM items WHERE state != ? AND finished_at < ?", (PENDING, cutoff))
        return int(before[0][0])

    def counts(self) -> OutboxCounts:
        by_state = dict(self._execute("SELECT state, COUNT(*) FROM items GROUP BY state"))
        oldest = self._execute("SELECT MIN(created_at) FROM items WHERE state = ?", (PENDING,))[0][0]
        return OutboxCounts(
            pending=int(by_state.get(PENDING, 0)),
            delivered=int(by_state.get(DELIVERED, 0)),
            rejected=int(by_state.get(REJECTED, 0)),
            oldest_pending_age_s=0.0 if oldest is None else max(0.0, self._clock() - oldest),
        )


def _item(row: tuple[Any, ...]) -> OutboxItem:
    item_id, kind, key, payload, created_at, state, attempts, last_error, _ = row
    return OutboxItem(item_id, kind, key, json.loads(payload), created_at, state, attempts, last_error)


# A sender delivers one item's payload with its idempotency key, raising WardOfficeError.
Sender = Callable[[Mapping[str, Any], str], object]


@dataclass(frozen=True)
class DeliveryReport:
    delivered: tuple[int, ...]
    rejected: tuple[int, ...]
    stopped_by: WardOfficeError | None  # why delivery stopped early; None: all sent


class OutboxDelivery:
    def __init__(self, outbox: Outbox, senders: Mapping[str, Sender]) -> None:
        self.outbox = outbox
        self._senders = dict(senders)

    def deliver_pending(self, batch: int = 50) -> DeliveryReport:
        """Send up to `batch` pending items in order; stop at the first that must wait."""
        delivered: list[int] = []
        rejected: list[int] = []
        for item in self.outbox.pending(batch):
            sender = self._senders.get(item.kind)
            if sender is None:
                self.outbox.mark_rejected(item.id, f"no sender for kind {item.kind!r}")
                rejected.append(item.id)
                continue
            try:
                sender(item.payload, item.idempotency_key)
            except (ServerUnavailableError, AuthRejectedError) as error:
                # Not the item's fault: keep it (and everything after it) for later.
                self.outbox.record_failure(item.id, f"{error.error_code}: {error}")
                return DeliveryReport(tuple(delivered), tuple(rejected), error)
            except RequestRejectedError as error:
                self.outbox.mark_rejected(item.id, f"{error.error_code}: {error}")
                rejected.append(item.id)
                continue
            self.outbox.mark_delivered(item.id)
            delivered.append(item.id)
        return DeliveryReport(tuple(delivered), tuple(rejected), None)
