"""The dispenser board's firmware, emulated: stock per slot, one motor, a job table, faults.

`Board.handle(frame)` answers one request frame by calling `send(bytes)`; a running job
lives in its own motor thread that sends PROGRESS after each item and DONE at the end.
Faults set from outside (the control channel) take effect at the next item.

Threading: `handle`, the fault setters and the motor thread share one lock; `send` is
called with the lock released, from either the caller's or the motor's thread.
"""

from __future__ import annotations

import logging
import random
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from service_desk_robot.robot.dispenser import errors
from service_desk_robot.robot.dispenser.protocol import (
    PROTOCOL_VERSION,
    Command,
    DispenseRequest,
    ErrorCode,
    Frame,
    Hello,
    JobInfo,
    JobState,
    Status,
    encode,
    pack_error,
    unpack_job,
)

_log = logging.getLogger(__name__)

FIRMWARE = "sdr-dispenser-emu 1.0"
JOB_TABLE_SIZE = 64  # jobs remembered for de-duplication; older ids answer STALE_JOB
MAX_STOCK = 0xFFFF


@dataclass
class _Job:
    job: int
    seq: int
    slot: int
    count: int
    dispensed: int = 0
    result: ErrorCode = ErrorCode.OK
    done: bool = False

    def info(self) -> JobInfo:
        state = JobState.DONE if self.done else JobState.RUNNING
        return JobInfo(self.job, state, self.slot, self.count, self.dispensed, self.result)


class Board:
    def __init__(
        self,
        items: list[str],
        stock: list[int],
        send: Callable[[bytes], None],
        *,
        item_time_s: float = 0.5,
        boot_id: int | None = None,
    ) -> None:
        self.items = list(items)
        self.stock = list(stock)
        self.dispensed_total = [0] * len(items)  # what a test counts to prove exactly-once
        self.item_time_s = item_time_s
        self.boot_id = random.getrandbits(32) if boot_id is None else boot_id
        self.door_open = False
        self.fault = ErrorCode.OK  # latched JAM / MOTOR_TIMEOUT, cleared by CLEAR_FAULT or staff
        self._send = send
        self._lock = threading.Lock()
        self._jobs: OrderedDict[int, _Job] = OrderedDict()
        self._forgotten_up_to = 0
        self._active: _Job | None = None
        self._cancel = threading.Event()
        self._motor: threading.Thread | None = None
        # Called in the motor thread after each item but the last, before PROGRESS goes
        # out: a fault injected here hits the next item whatever the host's timing.
        self.after_item: Callable[[int], None] | None = None

    # --- faults and staff actions (control channel) -----------------------------------

    def slot_of(self, item: str) -> int:
        if item not in self.items:
            raise KeyError(f"unknown item {item!r}; items: {', '.join(self.items)}")
        return self.items.index(item)

    def set_fault(self, fault: ErrorCode) -> None:
        with self._lock:
            self.fault = fault

    def set_door(self, is_open: bool) -> None:
        with self._lock:
            self.door_open = is_open

    def set_stock(self, slot: int, count: int) -> None:
        with self._lock:
            self.stock[slot] = max(0, min(MAX_STOCK, count))

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "stock": dict(zip(self.items, self.stock, strict=True)),
                "dispensed": dict(zip(self.items, self.dispensed_total, strict=True)),
                "fault": self.fault.name if self.fault else "",
                "door_open": self.door_open,
                "busy": self._active is not None,
                "boot_id": self.boot_id,
                "jobs": len(self._jobs),
            }

    def wait_idle(self, timeout_s: float) -> bool:
        motor = self._motor
        if motor is not None:
            motor.join(timeout_s)
            return not motor.is_alive()
        return True

    def stop(self) -> None:
        self._cancel.set()
        self.wait_idle(2.0)

    # --- the wire -------------------------------------------------------------------

    def _reply(self, seq: int, command: Command, payload: bytes = b"") -> None:
        self._send(encode(Frame(seq, command, payload)))

    def _error(self, seq: int, code: ErrorCode, detail: str = "") -> None:
        self._reply(seq, Command.ERROR, pack_error(code, detail))

    def bad_checksum(self, seq: int) -> None:
        self._error(seq, ErrorCode.BAD_CHECKSUM, "checksum mismatch")

    def handle(self, frame: Frame) -> None:
        if not frame.is_request:
            return  # our own frames echoed back, or another board talking: not for us
        try:
            handler = {
                Command.HELLO: self._hello,
                Command.STATUS: self._status,
                Command.DISPENSE: self._dispense,
                Command.CANCEL: self._cancel_job,
                Command.JOB: self._job,
                Command.SET_STOCK: self._set_stock,
                Command.CLEAR_FAULT: self._clear_fault,
            }.get(frame.command)
            if handler is None:
                self._error(frame.seq, ErrorCode.UNKNOWN_COMMAND, f"command 0x{frame.command:02X}")
                return
            handler(frame)
        except (errors.DispenserError, struct.error) as error:  # a payload too short or malformed
            self._error(frame.seq, ErrorCode.BAD_PAYLOAD, str(error)[:60])

    def _hello(self, frame: Frame) -> None:
        hello = Hello(PROTOCOL_VERSION, len(self.items), self.boot_id, FIRMWARE)
        self._reply(frame.seq, Command.HELLO_REPLY, hello.pack())

    def _status(self, frame: Frame) -> None:
        with self._lock:
            active = self._active
            status = Status(
                self.door_open, active is not None, self.fault, active.job if active else 0, tuple(self.stock)
            )
        self._reply(frame.seq, Command.STATUS_REPLY, status.pack())

    def _job(self, frame: Frame) -> None:
        job = unpack_job(frame.payload)
        with self._lock:
            known = self._jobs.get(job)
            info = known.info() if known else JobInfo(job, JobState.UNKNOWN, 0, 0, 0, ErrorCode.OK)
        self._reply(frame.seq, Command.JOB_INFO, info.pack())

    def _dispense(self, frame: Frame) -> None:
        request = DispenseRequest.unpack(frame.payload)
        refusal: tuple[ErrorCode, str] | None = None
        known_info: JobInfo | None = None
        with self._lock:
            known = self._jobs.get(request.job)
            if known is not None:
                known_info = known.info()  # a resent DISPENSE: report, never start twice
            elif request.job <= self._forgotten_up_to:
                refusal = (ErrorCode.STALE_JOB, f"job {request.job} is older than the job table")
            elif self._active is not None:
                refusal = (ErrorCode.BUSY, f"job {self._active.job} is running")
            elif not 0 <= request.slot < len(self.items):
                refusal = (ErrorCode.BAD_SLOT, f"slot {request.slot}")
            elif request.count < 1:
                refusal = (ErrorCode.BAD_PAYLOAD, "count 0")
            elif self.fault != ErrorCode.OK:
                refusal = (self.fault, "fault latched")
            elif self.door_open:
                refusal = (ErrorCode.DOOR_OPEN, "door open")
            elif self.stock[request.slot] < request.count:
                refusal = (ErrorCode.EMPTY, f"{self.stock[request.slot]} left")
            else:
                job = _Job(request.job, frame.seq, request.slot, request.count)
                self._remember(job)
                self._active = job
                self._cancel.clear()
                self._motor = threading.Thread(target=self._run, args=(job,), name="board-motor", daemon=True)
        if known_info is not None:
            self._reply(frame.seq, Command.JOB_INFO, known_info.pack())
        elif refusal is not None:
            self._error(frame.seq, *refusal)
        else:
            self._reply(frame.seq, Command.ACCEPTED, request.job.to_bytes(4, "big"))
            self._motor.start()

    def _remember(self, job: _Job) -> None:
        self._jobs[job.job] = job
        while len(self._jobs) > JOB_TABLE_SIZE:
            old, _ = self._jobs.popitem(last=False)
            self._forgotten_up_to = max(self._forgotten_up_to, old)

    def _cancel_job(self, frame: Frame) -> None:
        job = unpack_job(frame.payload)
        with self._lock:
            if self._active is not None and self._active.job == job:
                self._cancel.set()
        self._reply(frame.seq, Command.ACK, bytes([Command.CANCEL]))  # cancel is idempotent

    def _set_stock(self, frame: Frame) -> None:
        if len(frame.payload) < 3 or frame.payload[0] >= len(self.items):
            self._error(frame.seq, ErrorCode.BAD_SLOT, "SET_STOCK needs slot u8 + count u16")
            return
        self.set_stock(frame.payload[0], int.from_bytes(frame.payload[1:3], "big"))
        self._reply(frame.seq, Command.ACK, bytes([Command.SET_STOCK]))

    def _clear_fault(self, frame: Frame) -> None:
        self.set_fault(ErrorCode.OK)
        self._reply(frame.seq, Command.ACK, bytes([Command.CLEAR_FAULT]))

    # --- the motor --------------------------------------------------------------------

    def _run(self, job: _Job) -> None:
        while True:
            canceled = self._cancel.wait(self.item_time_s)
            with self._lock:
                if canceled:
                    job.result = ErrorCode.CANCELED
                elif self.fault != ErrorCode.OK:
                    job.result = self.fault
                elif self.door_open:
                    job.result = ErrorCode.DOOR_OPEN
                elif self.stock[job.slot] == 0:
                    job.result = ErrorCode.EMPTY
                else:
                    self.stock[job.slot] -= 1
                    self.dispensed_total[job.slot] += 1
                    job.dispensed += 1
                finished = job.result != ErrorCode.OK or job.dispensed == job.count
                if finished:
                    job.done = True
                    self._active = None
                info = job.info()
            if not finished and self.after_item is not None:
                self.after_item(job.dispensed)
            self._reply(job.seq, Command.DONE if finished else Command.PROGRESS, info.pack())
            if finished:
                _log.info(
                    f"job {job.job}: {job.dispensed}/{job.count} {self.items[job.slot]} ({job.result.name})"
                )
                return
