"""The ward office's books and rules: tickets, bookings, counters, applications, feedback.

Owns the SQLite database (WAL; schema created on first start, demo applications seeded
then) and every rule of the one-stop desk: numbering per service letter per day (the day
of the injected clock, in the office's time zone, so numbering restarts at midnight),
the booking window and per-person limits, check-in on the booking's day only and once,
priority-then-registration order at the counters, one recall of a no-show, idempotency
keys, live queue figures and daily statistics. A refused request raises `RuleError`
with a stable code and the HTTP status the API answers with.

Threading: not thread-safe. The HTTP app calls it from its event loop thread only (every
call is a few sub-millisecond SQLite statements, so nothing needs offloading).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service_desk_robot.sim.ward_office.config import ServerConfig, Service

Clock = Callable[[], dt.datetime]  # aware "now"

# Ticket states.
WAITING, SERVING, DONE, NO_SHOW = "WAITING", "SERVING", "DONE", "NO_SHOW"
CHANNELS = ("robot", "kiosk", "counter", "online")
BOOKING_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed

SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    day TEXT NOT NULL,
    service_code TEXT NOT NULL,
    letter TEXT NOT NULL,
    seq INTEGER NOT NULL,
    number TEXT NOT NULL,
    channel TEXT NOT NULL,
    citizen_id TEXT,
    priority INTEGER NOT NULL,
    language TEXT NOT NULL,
    booking_code TEXT,
    status TEXT NOT NULL,
    counter TEXT,
    recalls INTEGER NOT NULL DEFAULT 0,
    issued_at TEXT NOT NULL,
    called_at TEXT,
    finished_at TEXT,
    UNIQUE (day, letter, seq)
);
CREATE INDEX IF NOT EXISTS tickets_waiting ON tickets (day, service_code, status, priority, id);
CREATE INDEX IF NOT EXISTS tickets_person ON tickets (day, citizen_id);
CREATE TABLE IF NOT EXISTS bookings (
    code TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    service_code TEXT NOT NULL,
    citizen_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    ticket_id INTEGER REFERENCES tickets (id)
);
CREATE INDEX IF NOT EXISTS bookings_person ON bookings (day, citizen_id);
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    result_id INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    day TEXT NOT NULL,
    rating INTEGER NOT NULL,
    comment TEXT NOT NULL,
    service_code TEXT,
    language TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS applications (
    receipt_code TEXT PRIMARY KEY,
    procedure_name_vi TEXT NOT NULL,
    procedure_name_en TEXT NOT NULL,
    status TEXT NOT NULL,
    channel TEXT NOT NULL,
    received_on TEXT NOT NULL,
    due_date TEXT NOT NULL,
    completed_on TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class RuleError(Exception):
    """A request the ward office refuses: stable `code`, HTTP `status`, human message."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message


@dataclass(frozen=True)
class TicketRequest:
    service_code: str
    channel: str = "robot"
    citizen_id: str | None = None
    priority: bool = False
    language: str = "vi"


def _request_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def random_booking_code() -> str:
    return "".join(secrets.choice(BOOKING_CODE_ALPHABET) for _ in range(6))


class WardOfficeStore:
    def __init__(
        self,
        path: Path | str,
        config: ServerConfig,
        clock: Clock,
        booking_code_factory: Callable[[], str] = random_booking_code,
    ) -> None:
        self.config = config
        self._clock = clock
        self._new_booking_code = booking_code_factory
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL keeps every commit across a crash of this process (WAL); only an OS crash
        # could lose the last transactions, acceptable for a simulator.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)
        # Bumped on every change the live queue shows; with the day it makes the ETag.
        self.version = 0
        self._queue_cache: tuple[tuple[str, int], dict[str, Any]] | None = None
        self._seed_demo_applications()

    def close(self) -> None:
        self._db.close()

    # ---- time -------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        return self._clock().astimezone(self.config.timezone)

    def today(self) -> dt.date:
        return self.now().date()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _changed(self) -> None:
        self.version += 1

    # ---- catalogue and live queue -----------------------------------------------------

    def _service(self, code: str) -> Service:
        service = self.config.service(code)
        if service is None:
            known = ", ".join(s.code for s in self.config.services)
            raise RuleError("UNKNOWN_SERVICE", 404, f"unknown service {code!r}; known: {known}")
        return service

    def _estimated_wait_min(self, service: Service, people_ahead: int) -> int:
        counters = max(1, len(service.counters))
        return math.ceil(people_ahead * service.average_handling_min / counters)

    def queue_etag(self) -> str:
        return f'"{self.today().isoformat()}-{self.version}"'

    def live_queue(self) -> dict[str, Any]:
        """Per service: now serving, waiting, estimated wait, counters. Cached per ETag."""
        key = (self.today().isoformat(), self.version)
        if self._queue_cache is not None and self._queue_cache[0] == key:
            return self._queue_cache[1]
        day = key[0]
        waiting = dict(
            self._db.execute(
                "SELECT service_code, COUNT(*) FROM tickets WHERE day = ? AND status = ?"
                " GROUP BY service_code",
                (day, WAITING),
            ).fetchall()
        )
        serving: dict[str, list[sqlite3.Row]] = {}
        for row in self._db.execute(
            "SELECT service_code, number, counter FROM tickets WHERE day = ? AND status = ?"
            " ORDER BY called_at, id",
            (day, SERVING),
        ):
            serving.setdefault(row["service_code"], []).append(row)
        services = []
        for service in self.config.services:
            at_counters = serving.get(service.code, [])
            count = int(waiting.get(service.code, 0))
            services.append(
                {
                    "code": service.code,
                    "letter": service.letter,
                    "name_vi": service.name_vi,
                    "name_en": service.name_en,
                    "now_serving": at_counters[-1]["number"] if at_counters else "",
                    "serving": {row["counter"]: row["number"] for row in at_counters},
                    "waiting": count,
                    "estimated_wait_min": self._estimated_wait_min(service, count),
                    "counters": list(service.counters),
                }
            )
        snapshot = {"day": day, "generated_at": self.now().isoformat(), "services": services}
        self._queue_cache = (key, snapshot)
        return snapshot

    # ---- tickets ----------------------------------------------------------------------

    def _idempotent_result(self, scope: str, key: str | None, payload: dict[str, Any]) -> int | None:
        if not key:
            return None
        row = self._db.execute(
            "SELECT request_hash, result_id FROM idempotency WHERE scope = ? AND key = ?", (scope, key)
        ).fetchone()
        if row is None:
            return None
        if row["request_hash"] != _request_hash(payload):
            raise RuleError(
                "IDEMPOTENCY_KEY_REUSED", 422, f"idempotency key {key!r} was used for a different request"
            )
        return int(row["result_id"])

    def _remember(self, scope: str, key: str | None, payload: dict[str, Any], result_id: int) -> None:
        if key:
            self._db.execute(
                "INSERT INTO idempotency (scope, key, request_hash, result_id) VALUES (?, ?, ?, ?)",
                (scope, key, _request_hash(payload), result_id),
            )

    def _numbers_held(self, day: str, citizen_id: str, service_code: str | None = None) -> int:
        """Walk-in tickets that gave this id plus bookings of the day (checked in or not)."""
        service_filter = "" if service_code is None else " AND service_code = ?"
        extra = () if service_code is None else (service_code,)
        walk_ins = self._db.execute(
            "SELECT COUNT(*) FROM tickets WHERE day = ? AND citizen_id = ? AND booking_code IS NULL"
            + service_filter,
            (day, citizen_id, *extra),
        ).fetchone()[0]
        booked = self._db.execute(
            "SELECT COUNT(*) FROM bookings WHERE day = ? AND citizen_id = ?" + service_filter,
            (day, citizen_id, *extra),
        ).fetchone()[0]
        return int(walk_ins) + int(booked)

    def _check_person_limits(self, day: str, citizen_id: str, service_code: str) -> None:
        rules = self.config.rules
        per_service = rules.max_numbers_per_person_per_service_per_day
        if self._numbers_held(day, citizen_id, service_code) >= per_service:
            raise RuleError(
                "LIMIT_REACHED",
                409,
                f"this person already holds {per_service} number(s) for {service_code} on {day}",
            )
        if self._numbers_held(day, citizen_id) >= rules.max_numbers_per_person_per_day:
            raise RuleError(
                "LIMIT_REACHED",
                409,
                f"this person already holds {rules.max_numbers_per_person_per_day} numbers on {day}",
            )

    def _insert_ticket(
        self,
        service: Service,
        channel: str,
        citizen_id: str | None,
        priority: bool,
        language: str,
        booking_code: str | None,
    ) -> int:
        now = self.now()
        day = now.date().isoformat()
        seq = self._db.execute(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM tickets WHERE day = ? AND letter = ?",
            (day, service.letter),
        ).fetchone()[0]
        cursor = self._db.execute(
            "INSERT INTO tickets (day, service_code, letter, seq, number, channel, citizen_id, priority,"
            " language, booking_code, status, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                day,
                service.code,
                service.letter,
                seq,
                f"{service.letter}{seq:03d}",
                channel,
                citizen_id,
                int(priority),
                language,
                booking_code,
                WAITING,
                now.isoformat(timespec="seconds"),
            ),
        )
        return int(cursor.lastrowid)

    def issue_ticket(self, request: TicketRequest, idempotency_key: str | None = None) -> dict[str, Any]:
        if request.channel not in CHANNELS:
            raise RuleError("INVALID_CHANNEL", 422, f"channel must be one of {', '.join(CHANNELS)}")
        payload = {"op": "ticket", **request.__dict__}
        with self._transaction():
            existing = self._idempotent_result("ticket", idempotency_key, payload)
            if existing is not None:
                return self.ticket(existing)
            service = self._service(request.service_code)
            citizen_id = request.citizen_id or None
            if citizen_id:
                self._check_person_limits(self.today().isoformat(), citizen_id, service.code)
            ticket_id = self._insert_ticket(
                service, request.channel, citizen_id, request.priority, request.language, None
            )
            self._remember("ticket", idempotency_key, payload, ticket_id)
        self._changed()
        return self.ticket(ticket_id)

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        row = self._db.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        if row is None:
            raise RuleError("UNKNOWN_TICKET", 404, f"no ticket with id {ticket_id}")
        service = self._service(row["service_code"])
        ahead = 0
        if row["status"] == WAITING:
            # Called before this one: waiting priority tickets registered earlier and, for
            # a normal ticket, every waiting priority ticket too. Two range counts on the
            # covering index (an OR of both would scan the whole waiting list).
            waiting = (
                "SELECT COUNT(*) FROM tickets"
                " WHERE day = ? AND service_code = ? AND status = ? AND priority = ?"
            )
            key = (row["day"], row["service_code"], WAITING, row["priority"])
            ahead = self._db.execute(f"{waiting} AND id < ?", (*key, row["id"])).fetchone()[0]
            if not row["priority"]:
                ahead += self._db.execute(waiting, (*key[:3], 1)).fetchone()[0]
        return {
            "number": row["number"],
            "service_code": service.code,
            "service_name_vi": service.name_vi,
            "service_name_en": service.name_en,
            "people_ahead": int(ahead),
            "estimated_wait_min": self._estimated_wait_min(service, int(ahead)),
            "counters": list(service.counters),
            "issued_at": row["issued_at"],
            "day": row["day"],
            "booking_code": row["booking_code"] or "",
            "priority": bool(row["priority"]),
            "channel": row["channel"],
            "language": row["language"],
            "status": row["status"],
            "counter": row["counter"] or "",
            "recalls": int(row["recalls"]),
        }

    # ---- bookings (the city app's side) -----------------------------------------------

    def create_booking(self, service_code: str, citizen_id: str, day: dt.date) -> dict[str, Any]:
        today = self.today()
        last = today + dt.timedelta(days=self.config.rules.booking_days_ahead)
        if not today <= day <= last:
            raise RuleError(
                "DATE_OUT_OF_WINDOW",
                422,
                f"bookings are for {today.isoformat()} to {last.isoformat()}; {day.isoformat()} is outside",
            )
        if not citizen_id.strip():
            raise RuleError("INVALID_REQUEST", 422, "a booking needs a citizen id")
        with self._transaction():
            service = self._service(service_code)
            self._check_person_limits(day.isoformat(), citizen_id, service.code)
            code = self._new_booking_code()
            while self._db.execute("SELECT 1 FROM bookings WHERE code = ?", (code,)).fetchone():
                code = self._new_booking_code()
            self._db.execute(
                "INSERT INTO bookings (code, day, service_code, citizen_id, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (code, day.isoformat(), service.code, citizen_id, self.now().isoformat(timespec="seconds")),
            )
        return {"booking_code": code, "day": day.isoformat(), "service_code": service.code}

    def check_in(
        self, booking_code: str, language: str, priority: bool, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        payload = {"op": "check_in", "booking_code": booking_code, "language": language, "priority": priority}
        with self._transaction():
            existing = self._idempotent_result("check_in", idempotency_key, payload)
            if existing is not None:
                return self.ticket(existing)
            booking = self._db.execute("SELECT * FROM bookings WHERE code = ?", (booking_code,)).fetchone()
            if booking is None:
                raise RuleError("UNKNOWN_CODE", 404, f"no booking with code {booking_code!r}")
            today = self.today().isoformat()
            if booking["day"] != today:
                raise RuleError(
                    "BOOKING_NOT_TODAY",
                    409,
                    f"booking {booking_code} is for {booking['day']}, not today ({today})",
                )
            if booking["ticket_id"] is not None:
                number = self.ticket(booking["ticket_id"])["number"]
                raise RuleError(
                    "ALREADY_CHECKED_IN", 409, f"booking {booking_code} was checked in as {number}"
                )
            ticket_id = self._insert_ticket(
                self._service(booking["service_code"]),
                "online",
                booking["citizen_id"],
                priority,
                language,
                booking_code,
            )
            self._db.execute("UPDATE bookings SET ticket_id = ? WHERE code = ?", (ticket_id, booking_code))
            self._remember("check_in", idempotency_key, payload, ticket_id)
        self._changed()
        return self.ticket(ticket_id)

    # ---- counters ---------------------------------------------------------------------

    def _counter_services(self, counter: str) -> tuple[Service, ...]:
        services = self.config.services_of_counter(counter)
        if not services:
            raise RuleError("UNKNOWN_COUNTER", 404, f"unknown counter {counter!r}")
        return services

    def _serving_at(self, counter: str) -> sqlite3.Row | None:
        return self._db.execute(
            "SELECT * FROM tickets WHERE day = ? AND counter = ? AND status = ?",
            (self.today().isoformat(), counter, SERVING),
        ).fetchone()

    def _finish(self, ticket_id: int, status: str) -> None:
        self._db.execute(
            "UPDATE tickets SET status = ?, finished_at = ? WHERE id = ?",
            (status, self.now().isoformat(timespec="seconds"), ticket_id),
        )

    def call_next(self, counter: str) -> dict[str, Any] | None:
        """Complete the counter's current ticket and call the next one (None: queue empty).

        Order: priority tickets first, then order of registration, over every service
        the counter handles.
        """
        services = self._counter_services(counter)
        codes = [s.code for s in services]
        with self._transaction():
            current = self._serving_at(counter)
            if current is not None:
                self._finish(current["id"], DONE)
            placeholders = ",".join("?" * len(codes))
            row = self._db.execute(
                f"SELECT id FROM tickets WHERE day = ? AND status = ? AND service_code IN ({placeholders})"
                " ORDER BY priority DESC, id LIMIT 1",
                (self.today().isoformat(), WAITING, *codes),
            ).fetchone()
            if row is not None:
                self._db.execute(
                    "UPDATE tickets SET status = ?, counter = ?, called_at = ? WHERE id = ?",
                    (SERVING, counter, self.now().isoformat(timespec="milliseconds"), row["id"]),
                )
        if current is not None or row is not None:
            self._changed()  # an idle counter on an empty queue leaves the ETag alone
        return None if row is None else self.ticket(row["id"])

    def finish_current(self, counter: str, status: str) -> dict[str, Any]:
        """Complete the counter's current ticket, or mark its visitor absent (NO_SHOW)."""
        self._counter_services(counter)
        with self._transaction():
            current = self._serving_at(counter)
            if current is None:
                raise RuleError("NOTHING_SERVING", 409, f"counter {counter} is not serving anyone")
            self._finish(current["id"], status)
        self._changed()
        return self.ticket(current["id"])

    def recall(self, counter: str, number: str) -> dict[str, Any]:
        """Serve a no-show of today at this counter again; each ticket can be recalled once."""
        services = self._counter_services(counter)
        with self._transaction():
            row = self._db.execute(
                "SELECT * FROM tickets WHERE day = ? AND number = ?", (self.today().isoformat(), number)
            ).fetchone()
            if row is None or row["service_code"] not in {s.code for s in services}:
                raise RuleError("UNKNOWN_TICKET", 404, f"no ticket {number!r} today for counter {counter}")
            if row["status"] != NO_SHOW:
                raise RuleError("NOT_A_NO_SHOW", 409, f"ticket {number} is {row['status']}, not a no-show")
            if row["recalls"] >= 1:
                raise RuleError("RECALL_USED", 409, f"ticket {number} was already recalled once")
            current = self._serving_at(counter)
            if current is not None:
                self._finish(current["id"], DONE)
            self._db.execute(
                "UPDATE tickets SET status = ?, counter = ?, called_at = ?, finished_at = NULL,"
                " recalls = recalls + 1 WHERE id = ?",
                (SERVING, counter, self.now().isoformat(timespec="milliseconds"), row["id"]),
            )
        self._changed()
        return self.ticket(row["id"])

    # ---- applications, feedback, statistics ---------------------------------------------

    def _seed_demo_applications(self) -> None:
        if self._db.execute("SELECT 1 FROM meta WHERE key = 'seeded'").fetchone():
            return
        today = self.today()
        with self._transaction():
            for app in self.config.demo_applications:
                completed = (
                    None
                    if app.completed_days_ago is None
                    else (today - dt.timedelta(days=app.completed_days_ago)).isoformat()
                )
                self._db.execute(
                    "INSERT OR REPLACE INTO applications VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        app.receipt_code,
                        app.procedure_name_vi,
                        app.procedure_name_en,
                        app.status,
                        app.channel,
                        (today - dt.timedelta(days=app.received_days_ago)).isoformat(),
                        (today + dt.timedelta(days=app.due_in_days)).isoformat(),
                        completed,
                    ),
                )
            self._db.execute("INSERT INTO meta VALUES ('seeded', ?)", (today.isoformat(),))

    @staticmethod
    def _overdue(row: sqlite3.Row, day: str) -> bool:
        """Late: still open after its due date, or finished after it."""
        if row["completed_on"] is None:
            return row["status"] in ("RECEIVED", "PROCESSING") and row["due_date"] < day
        return row["completed_on"] > row["due_date"]

    def application(self, receipt_code: str) -> dict[str, Any]:
        row = self._db.execute(
            "SELECT * FROM applications WHERE receipt_code = ?", (receipt_code,)
        ).fetchone()
        if row is None:
            raise RuleError("UNKNOWN_CODE", 404, f"no application with receipt code {receipt_code!r}")
        return {
            "receipt_code": row["receipt_code"],
            "status": row["status"],
            "procedure_name_vi": row["procedure_name_vi"],
            "procedure_name_en": row["procedure_name_en"],
            "received_on": row["received_on"],
            "due_date": row["due_date"],
            "overdue": self._overdue(row, self.today().isoformat()),
        }

    def add_feedback(
        self, rating: int, comment: str, service_code: str | None, language: str, idempotency_key: str | None
    ) -> tuple[dict[str, Any], bool]:
        """Store one feedback item; returns (item, created). A repeated key returns the first."""
        if not 1 <= rating <= 5:
            raise RuleError("INVALID_RATING", 422, f"rating must be 1 to 5, got {rating}")
        if len(comment) > self.config.rules.max_comment_chars:
            raise RuleError(
                "COMMENT_TOO_LONG",
                422,
                f"comment longer than {self.config.rules.max_comment_chars} characters",
            )
        payload = {"op": "feedback", "rating": rating, "comment": comment, "service_code": service_code}
        with self._transaction():
            feedback_id = self._idempotent_result("feedback", idempotency_key, payload)
            created = feedback_id is None
            if created:
                if service_code:
                    self._service(service_code)
                now = self.now()
                feedback_id = int(
                    self._db.execute(
                        "INSERT INTO feedback (received_at, day, rating, comment, service_code, language)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            now.isoformat(timespec="seconds"),
                            now.date().isoformat(),
                            rating,
                            comment,
                            service_code,
                            language,
                        ),
                    ).lastrowid
                )
                self._remember("feedback", idempotency_key, payload, feedback_id)
        return {"id": feedback_id, "idempotency_key": idempotency_key or ""}, created

    def daily_statistics(self, day: dt.date) -> dict[str, Any]:
        iso = day.isoformat()
        received = self._db.execute("SELECT * FROM applications WHERE received_on = ?", (iso,)).fetchall()
        known = self._db.execute("SELECT * FROM applications WHERE received_on <= ?", (iso,)).fetchall()
        overdue = sum(self._overdue(row, iso) for row in known)
        tickets = dict(
            self._db.execute(
                "SELECT channel, COUNT(*) FROM tickets WHERE day = ? GROUP BY channel", (iso,)
            ).fetchall()
        )
        ratings = self._db.execute(
            "SELECT COUNT(*), AVG(rating) FROM feedback WHERE day = ?", (iso,)
        ).fetchone()
        return {
            "day": iso,
            "applications_received": len(received),
            "share_online": round(sum(r["channel"] == "online" for r in received) / len(received), 3)
            if received
            else 0.0,
            "share_overdue": round(overdue / len(known), 3) if known else 0.0,
            "tickets_issued": sum(tickets.values()),
            "tickets_by_channel": tickets,
            "feedback_count": int(ratings[0]),
            "feedback_average_rating": round(float(ratings[1]), 2) if ratings[1] is not None else None,
        }
