"""The ticket printer as one object: accept tickets, print them one at a time, keep what fails.

Threading: `TicketPrinter` runs one worker thread that owns the printer connection and is
the only thread that talks to the printer. Callers (the ROS service callbacks) call
`submit()` / `reprint_pending()` from any thread; these validate quickly under a lock, put a
work item on the worker's queue and return a `concurrent.futures.Future` that the worker
completes. The worker also wakes every `poll_interval_s` to ask the paper sensor, reconnects
with exponential backoff while the printer is offline, and (with `auto_reprint`) prints kept
tickets as soon as the paper is back. State changes are reported through `on_state`, called
on the worker thread.

Printing a ticket: validate -> render (layout.py) -> encode (escpos_job.py) -> ask the paper
sensor (OUT: keep) -> send the job -> ask again. The reply to that second query arrives only
after the printer has received the whole job, so it is the delivery receipt; no reply or a
broken connection means the job is kept and printed again later in full. A ticket's key
(date + number) is recorded as printed once delivered, and a printed key is never printed
again (spool.py keeps that record on disk).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from service_desk_robot.printer.backends import PaperState, PrinterConnection
from service_desk_robot.printer.errors import (
    PaperOutError,
    PrinterError,
    PrinterOfflineError,
    PrinterUnavailableError,
    TicketError,
)
from service_desk_robot.printer.escpos_job import encode_ticket
from service_desk_robot.printer.layout import RenderedTicket, render_ticket
from service_desk_robot.printer.spool import TicketSpool
from service_desk_robot.printer.ticket import TicketConfig, TicketData, validate_ticket

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrintOutcome:
    success: bool
    error_code: str = ""  # "" on success; BAD_TICKET, PAPER_OUT, PRINTER_OFFLINE, PRINTER_ERROR
    message: str = ""
    kept_for_reprint: bool = False
    number: str = ""


@dataclass(frozen=True)
class PrinterState:
    online: bool = False
    paper: PaperState = PaperState.UNKNOWN
    tickets_printed: int = 0
    pending_numbers: tuple[str, ...] = ()
    last_error: str = ""
    hardware_id: str = ""


@dataclass(frozen=True)
class PrinterSettings:
    width_dots: int = 576
    crop: bool = True  # place raster bands with GS L (smaller jobs); False = full-width bands
    poll_interval_s: float = 5.0
    reconnect_initial_s: float = 0.5
    reconnect_max_s: float = 10.0
    auto_reprint: bool = True  # print kept tickets as soon as the printer can
    preview_dir: Path | None = None  # save every ticket image sent as <date>_<number>.png


@dataclass(frozen=True)
class PreparedTicket:
    ticket: TicketData
    rendered: RenderedTicket
    job: bytes


def prepare_ticket(
    ticket: TicketData, config: TicketConfig, profile: object, settings: PrinterSettings, now: datetime
) -> PreparedTicket:
    """Validate, render and encode one ticket (pure: no printer involved)."""
    valid = validate_ticket(ticket, config, now)
    rendered = render_ticket(valid, config, settings.width_dots)
    return PreparedTicket(valid, rendered, encode_ticket(rendered.image, profile, crop=settings.crop))


class TicketPrinter:
    def __init__(
        self,
        config: TicketConfig,
        connection: PrinterConnection,
        spool: TicketSpool,
        profile: object,
        settings: PrinterSettings,
        *,
        clock: Callable[[], datetime] = datetime.now,
        on_state: Callable[[PrinterState], None] | None = None,
    ) -> None:
        self._config = config
        self._connection = connection
        self._spool = spool
        self._profile = profile
        self._settings = settings
        self._clock = clock
        self._on_state = on_state
        self._lock = threading.Lock()
        self._work: queue.Queue[tuple[str, object]] = queue.Queue()
        self._waiters: dict[str, list[Future]] = {}
        self._queued: set[str] = set()
        self._state = PrinterState(hardware_id=connection.hardware_id)
        self._published: PrinterState | None = None
        self._backoff_s = settings.reconnect_initial_s
        self._next_connect_at = 0.0  # time.monotonic() of the next reconnection attempt
        self._thread = threading.Thread(target=self._run, name="ticket-printer", daemon=True)
        with self._lock:
            self._refresh_pending()

    # ----- callers' side (any thread) -----

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._work.put(("stop", None))
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self._connection.close()
        with self._lock:
            waiters = [f for futures in self._waiters.values() for f in futures]
            self._waiters.clear()
        for future in waiters:
            if not future.done():
                future.set_result(
                    PrintOutcome(
                        False, "PRINTER_OFFLINE", "printer stopping; ticket kept", kept_for_reprint=True
                    )
                )

    def state(self) -> PrinterState:
        with self._lock:
            return self._state

    def submit(self, ticket: TicketData) -> Future:
        """Queue a ticket; the future resolves to a PrintOutcome once it printed or was kept."""
        future: Future = Future()
        try:
            valid = validate_ticket(ticket, self._config, self._clock())
        except TicketError as error:
            future.set_result(PrintOutcome(False, error.error_code, str(error), number=ticket.number[:16]))
            return future
        with self._lock:
            if self._spool.is_printed(valid.key):
                future.set_result(
                    PrintOutcome(
                        True, message=f"ticket {valid.number} was already printed", number=valid.number
                    )
                )
                return future
            self._waiters.setdefault(valid.key, []).append(future)
            if valid.key not in self._queued:
                self._spool.add(valid)
                self._queued.add(valid.key)
                self._refresh_pending()
                self._work.put(("print", valid.key))
        self._publish()
        return future

    def reprint_pending(self) -> Future:
        """Print every kept ticket now (staff); resolves to a PrintOutcome summarising it."""
        future: Future = Future()
        self._work.put(("reprint", future))
        return future

    # ----- worker thread -----

    def _run(self) -> None:
        kind, payload = "tick", None  # connect and read the paper sensor at once
        while kind != "stop":
            try:
                if kind == "tick":
                    self._tick()
                elif kind == "print":
                    self._print_request(str(payload))
                else:
                    self._reprint(payload)
            except Exception as error:  # the worker must outlive any one job
                log.exception(f"ticket printer worker: unexpected {error!r}")
                self._set(last_error=f"internal error: {error!r}")
            try:
                kind, payload = self._work.get(timeout=self._wait_s())
            except queue.Empty:
                kind, payload = "tick", None

    def _wait_s(self) -> float:
        if self._connection.connected:
            return self._settings.poll_interval_s
        return max(0.01, min(self._settings.poll_interval_s, self._next_connect_at - time.monotonic()))

    def _tick(self) -> None:
        """Periodic: ask the paper sensor (reconnecting when due), then print kept tickets."""
        if not self._connection.connected and time.monotonic() < self._next_connect_at:
            return
        try:
            self._check_paper()
        except PrinterUnavailableError:
            return
        if self._settings.auto_reprint and self._state.paper != PaperState.OUT:
            with self._lock:
                kept = [t for t in self._spool.pending() if t.key not in self._queued]
            if kept:
                log.info(f"printer ready again: printing {len(kept)} kept ticket(s)")
                self._print_in_order(kept)

    def _print_request(self, key: str) -> None:
        with self._lock:
            self._queued.discard(key)
            pending = self._spool.pending()
        keys = [t.key for t in pending]
        if key not in keys:
            self._resolve(key, PrintOutcome(True, message="ticket already printed"))
            return
        # Kept tickets are older than this one: print them first, in order, when allowed.
        upto = keys.index(key) + 1
        batch = pending[:upto] if self._settings.auto_reprint else [pending[upto - 1]]
        self._print_in_order(batch, failure_key=key)

    def _reprint(self, future: Future) -> None:
        self._next_connect_at = 0.0
        with self._lock:
            pending = self._spool.pending()
        printed = self._print_in_order(pending)
        with self._lock:
            left = [t.number for t in self._spool.pending()]
        if left:
            outcome = PrintOutcome(
                False,
                self._state_error_code(),
                f"printed {printed} kept ticket(s); still kept: {', '.join(left)} ({self._state.last_error})",
                kept_for_reprint=True,
            )
        else:
            outcome = PrintOutcome(True, message=f"printed {printed} kept ticket(s); none left")
        future.set_result(outcome)

    def _state_error_code(self) -> str:
        return "PAPER_OUT" if self._state.paper == PaperState.OUT else "PRINTER_OFFLINE"

    def _print_in_order(self, tickets: list[TicketData], failure_key: str | None = None) -> int:
        """Print tickets in order; stop at the first the printer cannot take. Returns how many printed."""
        printed = 0
        for ticket in tickets:
            try:
                self._print_one(ticket)
            except PrinterUnavailableError as error:
                # The request that asked is answered; later tickets stay kept, in order.
                kept_key = failure_key or ticket.key
                self._resolve(kept_key, self._kept_outcome(error, kept_key.rsplit("/", 1)[-1]))
                return printed
            except PrinterError as error:
                # Cannot be rendered or encoded: it would block every later ticket, so drop it.
                log.error(f"ticket {ticket.number} dropped: {error}")
                with self._lock:
                    self._spool.discard(ticket.key)
                    self._refresh_pending()
                self._set(last_error=str(error))
                self._resolve(
                    ticket.key, PrintOutcome(False, "PRINTER_ERROR", str(error), number=ticket.number)
                )
                continue
            printed += 1
            self._resolve(
                ticket.key,
                PrintOutcome(True, message=f"ticket {ticket.number} printed", number=ticket.number),
            )
        return printed

    @staticmethod
    def _kept_outcome(error: PrinterUnavailableError, number: str) -> PrintOutcome:
        if isinstance(error, PaperOutError):
            message = f"paper out: ticket {number} is kept and prints when paper is loaded"
        else:
            message = (
                f"printer offline: ticket {number} is kept and prints when the printer is back ({error})"
            )
        return PrintOutcome(False, error.error_code, message, kept_for_reprint=True, number=number)

    def _print_one(self, ticket: TicketData) -> None:
        prepared = prepare_ticket(ticket, self._config, self._profile, self._settings, self._clock())
        if self._settings.preview_dir is not None:
            self._save_preview(prepared)
        for attempt in (1, 2):
            try:
                if self._check_paper() == PaperState.OUT:
                    raise PaperOutError(f"paper out before ticket {ticket.number}")
                self._connection.write(prepared.job)
                # The answer comes only after the printer has read the whole job: the receipt.
                if self._check_paper() == PaperState.OUT:
                    raise PaperOutError(f"paper ran out while printing ticket {ticket.number}")
                break
            except PrinterOfflineError:
                # A printer that rebooted since the last job leaves a dead connection behind:
                # reconnect once at once before keeping the ticket.
                if attempt == 2:
                    raise
                log.info(f"printer connection lost before ticket {ticket.number}; reconnecting")
        with self._lock:
            self._spool.mark_printed(ticket.key)
            self._refresh_pending()
            self._state = replace(self._state, tickets_printed=self._state.tickets_printed + 1, last_error="")
        log.info(f"ticket {ticket.number} printed ({len(prepared.job)} bytes)")
        self._publish()

    def _save_preview(self, prepared: PreparedTicket) -> None:
        folder = self._settings.preview_dir
        name = f"{prepared.ticket.issued_at[:10]}_{prepared.ticket.number}.png"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            prepared.rendered.image.save(folder / name)
        except OSError as error:
            log.warning(f"cannot save ticket preview {folder / name}: {error}")

    def _check_paper(self) -> PaperState:
        """Ask the sensor; updates online/paper/backoff. Raises PrinterOfflineError when unreachable."""
        try:
            paper = self._connection.paper()
        except PrinterOfflineError as error:
            self._next_connect_at = time.monotonic() + self._backoff_s
            self._backoff_s = min(self._backoff_s * 2, self._settings.reconnect_max_s)
            if self._state.online or self._state.last_error != str(error):
                log.warning(f"printer offline: {error}")
            self._set(online=False, last_error=str(error))
            raise
        self._backoff_s = self._settings.reconnect_initial_s
        if not self._state.online:
            log.info(f"printer online: {self._connection.hardware_id}, paper {paper.name}")
        elif paper != self._state.paper:
            log.info(f"printer paper: {paper.name}")
        # The printer answered: the error that matters now is the paper, if anything.
        self._set(online=True, paper=paper, last_error="paper out" if paper == PaperState.OUT else "")
        return paper

    # ----- shared state -----

    def _refresh_pending(self) -> None:
        """Caller holds the lock."""
        self._state = replace(self._state, pending_numbers=tuple(t.number for t in self._spool.pending()))

    def _set(self, **changes: object) -> None:
        with self._lock:
            self._state = replace(self._state, **changes)
        self._publish()

    def _publish(self) -> None:
        with self._lock:
            state = self._state
            if state == self._published:
                return
            self._published = state
        if self._on_state is not None:
            self._on_state(state)

    def _resolve(self, key: str, outcome: PrintOutcome) -> None:
        with self._lock:
            futures = self._waiters.pop(key, [])
        for future in futures:
            if not future.done():
                future.set_result(outcome)
