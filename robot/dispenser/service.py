"""The dispenser as the robot uses it: connection upkeep, limits and exactly-once dispensing.

`DispenserService` ties a `DispenserClient` (one per open port), the `Journal` and the
`VisitorLimits` together:

- a supervisor thread opens the port (HELLO + STATUS), polls STATUS every
  `status_period_s`, notices a lost port and reopens it every `reconnect_period_s`,
  and settles journal rows left `sent` by a crash once the board can be asked;
- `dispense()` runs in the caller's thread (the node's action thread), one at a time:
  a second caller gets BUSY at once instead of queueing behind a motor;
- every state change is pushed to `on_state(DispenserState)` from whichever thread saw
  it; the callback must be quick and thread-safe (the node publishes a message).

Exactly once: a request id's row is committed before the DISPENSE frame is written and
its key is the job id the board de-duplicates on. A request id whose row is `done` never
reaches the board again (ALREADY_SERVED). A `sent` row (the node died, or the link
dropped mid-job) is retried by sending the same job id again: a board that never got it
starts it now (a normal result); a board that knows it answers with the job's state
instead of starting it twice, and the caller gets ALREADY_SERVED with the true count once
the job is done. If the board rebooted since (new boot id) the job's fate is
unknowable, so it is closed as served and never resent. So `success` always means "this
call made the items come out", and ALREADY_SERVED "an earlier call did; `dispensed` of them".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from service_desk_robot.robot.dispenser import errors
from service_desk_robot.robot.dispenser.client import ByteStream, DispenserClient
from service_desk_robot.robot.dispenser.journal import DONE, Journal
from service_desk_robot.robot.dispenser.limits import VisitorLimits
from service_desk_robot.robot.dispenser.protocol import (
    ErrorCode,
    Hello,
    JobState,
    Status,
    code_name,
    error_for,
)

_log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.05  # serial read timeout: how quickly the reader thread notices close()
TICK_S = 0.1  # supervisor loop period
MAX_COUNT = 255  # one byte on the wire


def open_serial(port: str, baud: int) -> ByteStream:
    """Open a serial port or pyserial URL (loop://, socket://...) as the client's stream."""
    import serial

    try:
        # exclusive: a second process on the same port would steal half of the replies.
        return serial.serial_for_url(
            port, baudrate=baud, timeout=READ_TIMEOUT_S, write_timeout=1.0, exclusive=True
        )
    except (serial.SerialException, OSError, ValueError) as error:
        raise errors.OfflineError(f"cannot open dispenser port {port}: {error}") from error


@dataclass(frozen=True)
class DispenserConfig:
    port: str
    baud: int = 115_200
    items: tuple[str, ...] = ("water", "candy")  # item i is in board slot i
    capacity: Mapping[str, int] = field(default_factory=dict)  # stock after a refill
    limits: VisitorLimits = field(default_factory=VisitorLimits)
    reply_timeout_s: float = 0.3
    retries: int = 2
    item_timeout_s: float = 5.0  # silence during a job before the job is queried
    status_period_s: float = 2.0
    reconnect_period_s: float = 1.0

    def slot(self, item: str) -> int:
        try:
            return self.items.index(item)
        except ValueError:
            raise errors.UnknownItemError(
                f"unknown item {item!r}; this dispenser has {', '.join(self.items)}"
            ) from None


@dataclass(frozen=True)
class DispenserState:
    """What /dispenser/status shows."""

    online: bool = False
    hardware_id: str = ""
    firmware: str = ""
    boot_id: int = 0
    stock: Mapping[str, int] = field(default_factory=dict)
    fault: str = ""  # "" or a stable code: OFFLINE, NO_REPLY, JAM, MOTOR_TIMEOUT, DOOR_OPEN...
    door_open: bool = False
    busy: bool = False
    last_error: str = ""  # the latest link or board problem, for diagnostics
    dispenses: int = 0  # items dispensed by this process
    noise_bytes: int = 0  # bytes the decoder threw away on this connection: a bad cable shows here
    reconnects: int = 0


@dataclass(frozen=True)
class Outcome:
    """The answer to one dispense request: what an action result carries."""

    success: bool
    error_code: str
    message: str
    dispensed: int
    count: int


class DispenserService:
    def __init__(
        self,
        config: DispenserConfig,
        journal: Journal,
        *,
        opener: Callable[[str, int], ByteStream] = open_serial,
        clock: Callable[[], float] = time.time,
        on_state: Callable[[DispenserState], None] | None = None,
    ) -> None:
        self.config = config
        self._journal = journal
        self._opener = opener
        self._clock = clock
        self._on_state = on_state
        self._state_lock = threading.Lock()
        self._state = DispenserState(hardware_id=f"serial:{config.port}", fault="OFFLINE")
        self._client: DispenserClient | None = None
        self._hello: Hello | None = None
        self._dispense_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._poll_now = threading.Event()  # a dispense changed the stock: poll soon
        self._thread = threading.Thread(target=self._supervise, name="dispenser-supervisor", daemon=True)

    # --- life cycle -------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=3.0)
        client, self._client = self._client, None
        if client is not None:
            client.close()

    @property
    def state(self) -> DispenserState:
        with self._state_lock:
            return self._state

    def _update(self, **changes: object) -> None:
        with self._state_lock:
            new = replace(self._state, **changes)
            changed, self._state = new != self._state, new
        if changed and self._on_state is not None:
            self._on_state(new)

    def _apply_status(self, status: Status) -> None:
        fault = "" if status.fault == ErrorCode.OK else code_name(status.fault)
        if not fault and status.door_open:
            fault = "DOOR_OPEN"
        stock = {item: status.stock[i] for i, item in enumerate(self.config.items) if i < len(status.stock)}
        self._update(online=True, stock=stock, fault=fault, door_open=status.door_open)

    # --- supervisor thread ------------------------------------------------------------

    def _supervise(self) -> None:
        next_connect = next_poll = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            client = self._client
            try:
                if client is None or not client.alive:
                    if client is not None:
                        self._drop(client, client.failure or "serial port lost")
                    if now >= next_connect:
                        next_connect = now + self.config.reconnect_period_s
                        if self._connect():
                            next_poll = now + self.config.status_period_s
                elif now >= next_poll or self._poll_now.is_set():
                    self._poll_now.clear()
                    next_poll = now + self.config.status_period_s
                    self._poll(client)
            except Exception:  # noqa: BLE001 - the supervisor must outlive a bug in one round, or the port stays down
                _log.exception("dispenser supervisor round failed")
            self._wake.wait(TICK_S)
            self._wake.clear()

    def _connect(self) -> bool:
        try:
            stream = self._opener(self.config.port, self.config.baud)
        except errors.DispenserError as error:
            self._update(online=False, fault="OFFLINE", last_error=error.message)
            return False
        client = DispenserClient(
            stream, reply_timeout_s=self.config.reply_timeout_s, retries=self.config.retries
        )
        try:
            hello = client.hello()
            status = client.status()
        except errors.DispenserError as error:
            client.close()
            self._update(online=False, fault=error.code, last_error=error.message)
            return False
        if len(status.stock) < len(self.config.items):
            _log.error(
                f"board has {len(status.stock)} slots but {len(self.config.items)} items are configured: "
                f"{', '.join(self.config.items[len(status.stock) :])} cannot be dispensed"
            )
        self._client, self._hello = client, hello
        _log.info(
            f"dispenser online on {self.config.port}: firmware {hello.firmware}, boot {hello.boot_id:08x}"
        )
        self._update(
            firmware=hello.firmware,
            boot_id=hello.boot_id,
            last_error="",
            reconnects=self.state.reconnects + 1,
        )
        self._apply_status(status)
        try:
            self._settle_in_flight(client, hello)
        except errors.DispenserError as error:  # the journal failed: callers will hear it too
            _log.error(f"cannot settle in-flight requests: {error.message}")
        return True

    def _drop(self, client: DispenserClient, client_error: str) -> None:
        if self._client is client:
            self._client = None
        client.close()
        _log.warning(f"dispenser offline: {client_error}")
        self._update(online=False, fault="OFFLINE", last_error=client_error)

    def _poll(self, client: DispenserClient) -> None:
        try:
            self._apply_status(client.status())
            self._update(noise_bytes=client.discarded_bytes)
        except errors.LinkError as error:
            if client.alive:  # the port is open but the board is silent or garbled
                self._update(online=False, fault=error.code, last_error=error.message)
            else:
                self._drop(client, error.message)
        except errors.DispenserError as error:
            self._update(last_error=error.message)

    def _settle_in_flight(self, client: DispenserClient, hello: Hello) -> None:
        """Close journal rows a crash left `sent`, where the board can tell how they ended.

        Only asks (JOB), never resends: a job the board never received stays `sent`
        until its caller retries, so nothing is dispensed with nobody waiting for it.
        """
        for entry in self._journal.in_flight():
            if self._dispense_lock.locked():
                return  # a dispense is running and will settle its own row
            try:
                if entry.boot_id != hello.boot_id:
                    self._close_unknowable(entry.request_id, entry.dispensed)
                    continue
                info = client.job(entry.job_id)
            except errors.DispenserError as error:
                _log.warning(f"cannot settle request {entry.request_id}: {error.message}")
                return
            if info.state == JobState.DONE:
                code = "" if info.result == ErrorCode.OK else code_name(info.result)
                self._journal.finish(
                    entry.request_id, info.dispensed, code, "settled after a restart", self._clock()
                )
                _log.info(
                    f"settled request {entry.request_id}: {info.dispensed} of {info.count} {entry.item}"
                )

    def _close_unknowable(self, request_id: str, dispensed: int) -> None:
        message = "board restarted while the job was in flight: outcome unknown, never resent"
        self._journal.finish(request_id, dispensed, "ALREADY_SERVED", message, self._clock())
        _log.warning(f"request {request_id}: {message}")

    def _require_client(self) -> tuple[DispenserClient, Hello]:
        client, hello = self._client, self._hello
        if client is None or hello is None or not client.alive:
            raise errors.OfflineError(f"dispenser is offline ({self.state.last_error or 'not connected'})")
        return client, hello

    # --- requests ---------------------------------------------------------------------

    def dispense(
        self,
        request_id: str,
        visitor_id: str,
        item: str,
        count: int,
        *,
        on_progress: Callable[[int, int], None] | None = None,
        cancel_requested: Callable[[], bool] | None = None,
    ) -> Outcome:
        """Dispense `count` of `item` once per `request_id`; never raises DispenserError."""
        try:
            if not request_id:
                raise errors.BadRequestError("request_id is empty: exactly-once needs one")
            if not visitor_id:
                raise errors.BadRequestError("visitor_id is empty: per-visitor limits need one")
            if not 1 <= count <= MAX_COUNT:
                raise errors.BadRequestError(f"count {count} outside 1..{MAX_COUNT}")
            self.config.slot(item)  # an unknown item is refused before anything else
            if not self._dispense_lock.acquire(blocking=False):
                raise errors.BusyError("another dispense is in progress")
            try:
                self._update(busy=True)
                return self._dispense(request_id, visitor_id, item, count, on_progress, cancel_requested)
            finally:
                self._update(busy=False)
                self._dispense_lock.release()
        except errors.DispenserError as error:
            _log.warning(
                f"dispense {request_id} ({count} {item} for {visitor_id}): {error.code}: {error.message}"
            )
            return Outcome(False, error.code, error.message, error.dispensed, count)

    def _dispense(
        self,
        request_id: str,
        visitor_id: str,
        item: str,
        count: int,
        on_progress: Callable[[int, int], None] | None,
        cancel_requested: Callable[[], bool] | None,
    ) -> Outcome:
        entry = self._journal.get(request_id)
        if entry is not None and entry.state == DONE:
            outcome = entry.error_code or "OK"
            raise errors.AlreadyServedError(
                f"request {request_id} was already served: {entry.dispensed} of {entry.count} "
                f"{entry.item} ({outcome})",
                dispensed=entry.dispensed,
            )
        client, hello = self._require_client()
        resumed = entry is not None
        if entry is None:
            self.config.limits.check(self._journal, visitor_id, item, count, self._clock())
            entry = self._journal.reserve(request_id, visitor_id, item, count, hello.boot_id, self._clock())
        elif entry.boot_id != hello.boot_id:
            self._close_unknowable(request_id, entry.dispensed)
            raise errors.AlreadyServedError(
                f"request {request_id} was in flight when the board restarted: never resent",
                dispensed=entry.dispensed,
            )
        try:
            # A retry of a job sent before: did the board get it? (Asked first, because a
            # resend within this call answers JOB_INFO too.)
            attached = resumed and client.job(entry.job_id).state != JobState.UNKNOWN
            info = client.dispense(
                entry.job_id,
                self.config.slot(entry.item),  # a resumed job keeps its journalled item and count
                entry.count,
                item_timeout_s=self.config.item_timeout_s,
                on_progress=on_progress,
                cancel_requested=cancel_requested,
            )
        except errors.AlreadyServedError:  # the board no longer remembers a job this old
            self._close_unknowable(request_id, entry.dispensed)
            raise
        except errors.DispenserError as error:
            if error.refused:
                self._journal.release(request_id)  # the board did nothing: the id stays usable
            if isinstance(error, errors.LinkError) and not client.alive:
                self._wake.set()  # let the supervisor reconnect now
            raise
        if attached:
            # An earlier attempt started this job (before a crash or a lost link): report
            # its true outcome, but as a replay, exactly like a request already done.
            code = "" if info.result == ErrorCode.OK else code_name(info.result)
            message = f"settled as job {entry.job_id}: {info.dispensed} of {info.count} {entry.item}"
            self._journal.finish(request_id, info.dispensed, code, message, self._clock())
            raise errors.AlreadyServedError(
                f"request {request_id} was already sent to the board: {info.dispensed} of {info.count} "
                f"{entry.item} ({code or 'OK'})",
                dispensed=info.dispensed,
            )
        self._update(dispenses=self.state.dispenses + info.dispensed)
        if info.result == ErrorCode.OK:
            message = f"dispensed {info.dispensed} {entry.item}"
            self._journal.finish(request_id, info.dispensed, "", message, self._clock())
            self._refresh_status()
            return Outcome(True, "", message, info.dispensed, entry.count)
        error = error_for(
            info.result,
            f"{code_name(info.result)} after {info.dispensed} of {info.count} {entry.item}",
            dispensed=info.dispensed,
        )
        self._journal.finish(request_id, info.dispensed, error.code, error.message, self._clock())
        self._refresh_status()
        raise error

    def _refresh_status(self) -> None:
        """Have the supervisor poll STATUS now, off the dispense's critical path."""
        self._poll_now.set()
        self._wake.set()

    def refill(self) -> Outcome:
        """Staff refilled the dispenser: set every slot to its capacity and clear faults."""
        try:
            client, _hello = self._require_client()
            for slot, item in enumerate(self.config.items):
                if item in self.config.capacity:
                    client.set_stock(slot, self.config.capacity[item])
            client.clear_fault()
            self._apply_status(client.status())
        except errors.DispenserError as error:
            return Outcome(False, error.code, error.message, 0, 0)
        stock = ", ".join(f"{k} {v}" for k, v in self.state.stock.items())
        return Outcome(True, "", f"refilled: {stock}", 0, 0)
