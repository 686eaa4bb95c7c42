"""What the visitor screen and the staff console show, aggregated from plain method calls.

The screen node converts each ROS message into the small frozen records below and calls
one `on_*` method; the web application reads `visitor_view()` / `staff_view()` snapshots
(plain JSON-ready dicts) and registers listeners to hear that something changed.

Threading: `on_*` methods are called from ROS executor threads, the views from the web
server's thread; one lock guards all fields (`wait_for_dialogue_state` blocks a web
worker thread on a condition of that lock). Listeners are called after the lock is
released, on the caller's thread, and must only schedule work (e.g. wake an event loop).

Today's faults are the times a health check on /diagnostics turned ERROR (every node
reports its own devices there, so a paper-out is counted once, by the printer node).

Privacy: the staff view carries no personal data (no visitor ids, no citizen ids, no
booking or receipt codes); the visitor view is cleared when the visitor changes.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from service_desk_robot.robot.ward_office.models import (
    ServiceQueueInfo,  # the live queue, as the bridge has it
)

# Diagnostic levels as the staff console names them (diagnostic_msgs: 0 OK, 1 WARN, 2 ERROR, 3 STALE).
LEVEL_NAMES = {0: "ok", 1: "warn", 2: "error", 3: "stale"}
PAPER_NAMES = {0: "unknown", 1: "ok", 2: "low", 3: "out"}
ERROR_LEVEL = 2
SUBTITLES_KEPT = 3
DRINK_ITEMS = frozenset({"water"})


@dataclass(frozen=True)
class DialogueInfo:
    state: str
    visitor_id: str
    language: str
    last_robot_sentence: str
    ticket_number: str
    ticket_not_printed: bool
    greeting_paused: bool
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueueInfo:
    server_reachable: bool
    data_age_s: float
    services: tuple[ServiceQueueInfo, ...] = ()


@dataclass(frozen=True)
class PrinterInfo:
    online: bool
    paper: int  # PAPER_NAMES key
    tickets_printed: int
    pending_numbers: tuple[str, ...]
    last_error: str
    hardware_id: str


@dataclass(frozen=True)
class StockInfo:
    item: str
    count: int
    empty: bool


@dataclass(frozen=True)
class DispenserInfo:
    online: bool
    stock: tuple[StockInfo, ...]
    fault: str
    door_open: bool
    busy: bool
    hardware_id: str


@dataclass(frozen=True)
class HealthInfo:
    name: str  # "<node>: <check>", as nodes/diagnostics.py names a status
    level: int
    message: str
    hardware_id: str = ""


@dataclass
class _Ticket:
    number: str
    service_code: str = ""
    people_ahead: int | None = None
    printed: bool = True


@dataclass
class _Counts:
    day: date
    visitors: int = 0
    tickets: int = 0
    drinks: int = 0
    candy: int = 0
    faults: int = 0


@dataclass
class _Health:
    info: HealthInfo
    seen_at: float


@dataclass
class _Fields:
    dialogue: DialogueInfo | None = None
    ticket: _Ticket | None = None
    subtitles: deque = field(default_factory=lambda: deque(maxlen=SUBTITLES_KEPT))
    subtitle_seq: int = 0
    queue: QueueInfo | None = None
    printer: PrinterInfo | None = None
    dispenser: DispenserInfo | None = None
    health: dict[str, _Health] = field(default_factory=dict)
    # Health checks now in ERROR: a fault is counted once when it starts, not per message.
    active_faults: set[str] = field(default_factory=set)


class ScreenState:
    """Aggregates the robot's state for the two pages; see the module docstring."""

    def __init__(
        self,
        *,
        today: Callable[[], date],
        monotonic: Callable[[], float] = time.monotonic,
        stale_after_s: float = 5.0,
    ) -> None:
        self._today = today
        self._monotonic = monotonic
        self._stale_after_s = stale_after_s
        self._lock = threading.Lock()
        self._dialogue_changed = threading.Condition(self._lock)
        self._f = _Fields()
        self._counts = _Counts(day=today())
        self._listeners: list[Callable[[], None]] = []

    # -- listeners ---------------------------------------------------------------------

    def add_listener(self, listener: Callable[[], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _changed(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    # -- inputs (ROS callbacks) --------------------------------------------------------

    def on_dialogue_state(self, info: DialogueInfo) -> None:
        with self._lock:
            counts = self._counts_today()
            previous = self._f.dialogue
            previous_visitor = previous.visitor_id if previous else ""
            if info.visitor_id != previous_visitor:
                if info.visitor_id:
                    counts.visitors += 1
                if previous_visitor:
                    # A new visitor must not see the previous one's conversation or number.
                    self._f.subtitles.clear()
                    self._f.ticket = None
            ticket = self._f.ticket
            if info.ticket_number:
                if ticket is None or ticket.number != info.ticket_number:
                    ticket = _Ticket(number=info.ticket_number)
                ticket.printed = not info.ticket_not_printed
                self._f.ticket = ticket
            elif previous is not None and previous.ticket_number:
                self._f.ticket = None  # the dialogue finished with that ticket
            self._f.dialogue = info
            self._dialogue_changed.notify_all()
        self._changed()

    def wait_for_dialogue_state(self, state: str, timeout_s: float) -> bool:
        """Block until the dialogue reports `state` (True) or `timeout_s` passes (False)."""
        with self._dialogue_changed:
            return self._dialogue_changed.wait_for(
                lambda: self._f.dialogue is not None and self._f.dialogue.state == state, timeout_s
            )

    def on_say(self, text: str, language: str) -> None:
        if not text:
            return
        with self._lock:
            self._f.subtitle_seq += 1
            self._f.subtitles.append({"seq": self._f.subtitle_seq, "text": text, "language": language})
        self._changed()

    def on_ticket(self, number: str, service_code: str, people_ahead: int, printed: bool) -> None:
        with self._lock:
            self._counts_today().tickets += 1
            self._f.ticket = _Ticket(number, service_code, people_ahead, printed)
        self._changed()

    def on_dispense(self, item: str, count: int, ok: bool) -> None:
        """A dispense act; items count only when handed out (a failure is the dispenser
        node's fault to report on /diagnostics)."""
        if not ok:
            return
        with self._lock:
            counts = self._counts_today()
            if item in DRINK_ITEMS:
                counts.drinks += count
            elif item == "candy":
                counts.candy += count
        self._changed()

    def on_queue(self, info: QueueInfo) -> None:
        with self._lock:
            self._f.queue = info
        self._changed()

    def on_printer(self, info: PrinterInfo) -> None:
        with self._lock:
            self._f.printer = info
        self._changed()

    def on_dispenser(self, info: DispenserInfo) -> None:
        with self._lock:
            self._f.dispenser = info
        self._changed()

    def on_diagnostics(self, statuses: Sequence[HealthInfo]) -> None:
        now = self._monotonic()
        with self._lock:
            for info in statuses:
                self._f.health[info.name] = _Health(info, now)
                self._track_fault(info.name, info.level == ERROR_LEVEL)
        self._changed()

    # -- outputs (web server) ----------------------------------------------------------

    def visitor_view(self) -> dict:
        """What the visitor screen shows; no staff-only data."""
        with self._lock:
            dialogue = self._f.dialogue
            ticket = self._f.ticket
            printer = self._f.printer
            queue = self._f.queue
            ticket_view = None
            if ticket is not None:
                kept = printer is not None and ticket.number in printer.pending_numbers
                ticket_view = {
                    "number": ticket.number,
                    "service_code": ticket.service_code,
                    "people_ahead": ticket.people_ahead,
                    "not_printed": (not ticket.printed) or kept,
                }
            return {
                "state": dialogue.state if dialogue else "",
                "language": dialogue.language if dialogue else "",
                "greeting_paused": dialogue.greeting_paused if dialogue else False,
                "options": list(dialogue.options) if dialogue else [],
                "subtitles": list(self._f.subtitles)
                or (
                    [{"seq": 0, "text": dialogue.last_robot_sentence, "language": dialogue.language}]
                    if dialogue and dialogue.last_robot_sentence
                    else []
                ),
                "ticket": ticket_view,
                "queue": _queue_view(queue),
            }

    def staff_view(self) -> dict:
        """What the staff console shows; counts and health only, no personal data."""
        now = self._monotonic()
        with self._lock:
            counts = self._counts_today()
            dialogue = self._f.dialogue
            nodes = []
            for name in sorted(self._f.health):
                entry = self._f.health[name]
                stale = now - entry.seen_at > self._stale_after_s
                nodes.append(
                    {
                        "name": name,
                        "level": "stale" if stale else LEVEL_NAMES.get(entry.info.level, "error"),
                        "message": entry.info.message,
                        "hardware_id": entry.info.hardware_id,
                    }
                )
            return {
                "nodes": nodes,
                "printer": _printer_view(self._f.printer),
                "dispenser": _dispenser_view(self._f.dispenser),
                "server": {
                    "known": self._f.queue is not None,
                    "reachable": bool(self._f.queue and self._f.queue.server_reachable),
                    "data_age_s": round(self._f.queue.data_age_s, 1) if self._f.queue else None,
                },
                "dialogue_state": dialogue.state if dialogue else "",
                "greeting_paused": dialogue.greeting_paused if dialogue else False,
                "counts": {
                    "date": counts.day.isoformat(),
                    "visitors": counts.visitors,
                    "tickets": counts.tickets,
                    "drinks": counts.drinks,
                    "candy": counts.candy,
                    "faults": counts.faults,
                },
            }

    # -- internals (lock held) -----------------------------------------------------------

    def _counts_today(self) -> _Counts:
        today = self._today()
        if today != self._counts.day:
            self._counts = _Counts(day=today)
        return self._counts

    def _track_fault(self, key: str, active: bool) -> None:
        if active and key not in self._f.active_faults:
            self._f.active_faults.add(key)
            self._counts_today().faults += 1
        elif not active:
            self._f.active_faults.discard(key)


def _queue_view(queue: QueueInfo | None) -> dict:
    if queue is None:
        return {"known": False, "server_reachable": False, "services": []}
    return {
        "known": True,
        "server_reachable": queue.server_reachable,
        "services": [
            {
                "code": s.code,
                "letter": s.letter,
                "name_vi": s.name_vi,
                "name_en": s.name_en,
                "now_serving": s.now_serving,
                "waiting": s.waiting,
                "estimated_wait_min": s.estimated_wait_min,
            }
            for s in queue.services
        ],
    }


def _printer_view(printer: PrinterInfo | None) -> dict:
    if printer is None:
        return {"known": False}
    return {
        "known": True,
        "online": printer.online,
        "paper": PAPER_NAMES.get(printer.paper, "unknown"),
        "tickets_printed": printer.tickets_printed,
        "pending_numbers": list(printer.pending_numbers),
        "last_error": printer.last_error,
        "hardware_id": printer.hardware_id,
    }


def _dispenser_view(dispenser: DispenserInfo | None) -> dict:
    if dispenser is None:
        return {"known": False}
    return {
        "known": True,
        "online": dispenser.online,
        "stock": [{"item": s.item, "count": s.count, "empty": s.empty} for s in dispenser.stock],
        "fault": dispenser.fault,
        "door_open": dispenser.door_open,
        "busy": dispenser.busy,
        "hardware_id": dispenser.hardware_id,
    }
