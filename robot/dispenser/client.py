"""Host side of the dispenser protocol over any pyserial-like byte stream.

`DispenserClient` owns one stream. A reader thread (started by the constructor) reads
whatever bytes arrived, feeds one `FrameDecoder` and hands each frame to whoever waits
for it: replies go to the request with the same sequence number, PROGRESS/DONE events to
the dispense that listens for that job. Requests may come from several threads at once
(a status poll while a dispense runs); writes are serialised by a lock.

Every command is idempotent on the board (DISPENSE is keyed by job id), so a request
whose reply was lost or garbled is simply sent again with the same sequence number.
When the stream fails (the port vanished), the reader stops, every waiter wakes with
`PortLostError`, and the client is dead: the owner opens a new stream and a new client.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

from service_desk_robot.robot.dispenser import errors
from service_desk_robot.robot.dispenser.protocol import (
    PROTOCOL_VERSION,
    Command,
    DispenseRequest,
    ErrorCode,
    Frame,
    FrameDecoder,
    Hello,
    JobInfo,
    JobState,
    Status,
    code_name,
    encode,
    error_for,
    pack_job,
    unpack_error,
)

_log = logging.getLogger(__name__)

POLL_S = 0.05  # how often a waiting dispense looks at its cancel flag and the link


class ByteStream(Protocol):
    """What the client needs from a serial port: pyserial's Serial, serial_for_url(...).

    `read(n)` must return within a short timeout (the reader thread checks for close
    between reads); `in_waiting`, when present, lets one read take everything queued.
    """

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes, /) -> int | None: ...

    def close(self) -> None: ...


class _Waiter:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.frame: Frame | None = None


class DispenserClient:
    def __init__(
        self,
        stream: ByteStream,
        *,
        reply_timeout_s: float = 0.3,
        retries: int = 2,
        name: str = "dispenser",
    ) -> None:
        self._stream = stream
        self._reply_timeout_s = reply_timeout_s
        self._retries = retries
        self._decoder = FrameDecoder()
        self._write_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._seq = itertools.cycle(range(1, 0x10000))  # 0 is never used: easy to spot in a capture
        self._pending: dict[int, _Waiter] = {}
        self._jobs: dict[int, queue.Queue[Frame | None]] = {}
        self._closed = threading.Event()
        self._lost: errors.PortLostError | None = None
        self.ignored_frames = 0  # valid frames nobody waited for (echoes, late replies)
        self._reader = threading.Thread(target=self._read_loop, name=f"{name}-reader", daemon=True)
        self._reader.start()

    # --- life cycle -------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self._lost is None and not self._closed.is_set()

    @property
    def failure(self) -> str:
        """Why the link was lost ("" while it is fine)."""
        return self._lost.message if self._lost is not None else ""

    @property
    def discarded_bytes(self) -> int:
        return self._decoder.discarded_bytes

    def close(self) -> None:
        self._closed.set()
        try:
            self._stream.close()
        except Exception as error:  # noqa: BLE001 - closing a vanished port may fail any way; nothing to save
            _log.debug(f"closing the stream failed: {error!r}")
        if self._reader is not threading.current_thread():
            self._reader.join(timeout=2.0)
        self._wake_all()

    def _read_loop(self) -> None:
        try:
            while not self._closed.is_set():
                chunk = self._stream.read(1)
                if not chunk:
                    continue
                waiting = getattr(self._stream, "in_waiting", 0)
                if waiting:
                    chunk += self._stream.read(waiting)
                for frame in self._decoder.feed(chunk):
                    self._dispatch(frame)
        except Exception as error:  # noqa: BLE001 - pyserial reports a vanished port as SerialException, OSError or TypeError
            if not self._closed.is_set():
                self._lost = errors.PortLostError(f"serial port lost: {error}")
                _log.warning(self._lost.message)
        finally:
            self._wake_all()

    def _wake_all(self) -> None:
        with self._state_lock:
            for waiter in self._pending.values():
                waiter.event.set()
            for listener in self._jobs.values():
                listener.put(None)

    def _dispatch(self, frame: Frame) -> None:
        with self._state_lock:
            if frame.command in (Command.PROGRESS, Command.DONE) and len(frame.payload) >= 4:
                listener = self._jobs.get(int.from_bytes(frame.payload[:4], "big"))
                if listener is not None:
                    listener.put(frame)
                    return
            elif not frame.is_request:
                waiter = self._pending.get(frame.seq)
                if waiter is not None and not waiter.event.is_set():
                    waiter.frame = frame
                    waiter.event.set()
                    return
        self.ignored_frames += 1

    def _check_link(self, dispensed: int = 0) -> None:
        if self._lost is not None:
            raise errors.PortLostError(self._lost.message, dispensed=dispensed)
        if self._closed.is_set():
            raise errors.OfflineError("dispenser client is closed", dispensed=dispensed)

    def _write(self, data: bytes) -> None:
        self._check_link()
        try:
            with self._write_lock:
                self._stream.write(data)
        except Exception as error:
            self._lost = errors.PortLostError(f"serial port lost while writing: {error}")
            raise self._lost from error

    # --- requests ---------------------------------------------------------------------

    def request(self, command: Command | int, payload: bytes = b"", *, expect: tuple[Command, ...]) -> Frame:
        """Send a request and return its reply; resend on silence or BAD_CHECKSUM.

        An ERROR reply raises the exception of its code. After every attempt fails,
        raises GarbledError if bytes arrived that never made a valid frame, else
        NoReplyError (or BadChecksumError if the board kept rejecting our frames).
        """
        name = command.name if isinstance(command, Command) else f"0x{command:02X}"
        seq = next(self._seq)
        waiter = _Waiter()
        with self._state_lock:
            self._pending[seq] = waiter
        discarded_before = self._decoder.discarded_bytes
        rejected = 0
        data = encode(Frame(seq, command, payload))
        try:
            for _attempt in range(1 + self._retries):
                waiter.event.clear()
                waiter.frame = None
                self._write(data)
                waiter.event.wait(self._reply_timeout_s)
                self._check_link()
                reply = waiter.frame
                if reply is None:
                    continue
                if reply.command == Command.ERROR:
                    code, detail = unpack_error(reply.payload)
                    if code == ErrorCode.BAD_CHECKSUM:
                        rejected += 1
                        continue
                    raise error_for(
                        code,
                        f"board refused {name}: {code_name(code)} {detail}".strip(),
                        refused=True,
                    )
                if reply.command not in expect:
                    raise errors.ProtocolError(
                        f"board answered {name} with 0x{reply.command:02X}, "
                        f"expected {'/'.join(c.name for c in expect)}"
                    )
                return reply
        finally:
            with self._state_lock:
                del self._pending[seq]
        attempts = 1 + self._retries
        if rejected:
            raise errors.BadChecksumError(f"board rejected {name} as corrupt {rejected} of {attempts} times")
        garbage = self._decoder.discarded_bytes - discarded_before
        if garbage:
            raise errors.GarbledError(
                f"no valid reply to {name} after {attempts} attempts: {garbage} garbled bytes discarded"
            )
        raise errors.NoReplyError(
            f"no reply to {name} after {attempts} attempts of {self._reply_timeout_s:g} s"
        )

    def hello(self) -> Hello:
        reply = self.request(Command.HELLO, bytes([PROTOCOL_VERSION]), expect=(Command.HELLO_REPLY,))
        hello = Hello.unpack(reply.payload)
        if hello.protocol_version != PROTOCOL_VERSION:
            raise errors.ProtocolError(
                f"board speaks protocol {hello.protocol_version}, this host speaks {PROTOCOL_VERSION}"
            )
        return hello

    def status(self) -> Status:
        return Status.unpack(self.request(Command.STATUS, expect=(Command.STATUS_REPLY,)).payload)

    def job(self, job: int) -> JobInfo:
        return JobInfo.unpack(self.request(Command.JOB, pack_job(job), expect=(Command.JOB_INFO,)).payload)

    def cancel(self, job: int) -> None:
        self.request(Command.CANCEL, pack_job(job), expect=(Command.ACK,))

    def set_stock(self, slot: int, count: int) -> None:
        self.request(Command.SET_STOCK, bytes([slot]) + count.to_bytes(2, "big"), expect=(Command.ACK,))

    def clear_fault(self) -> None:
        self.request(Command.CLEAR_FAULT, expect=(Command.ACK,))

    def dispense(
        self,
        job: int,
        slot: int,
        count: int,
        *,
        item_timeout_s: float = 5.0,
        on_progress: Callable[[int, int], None] | None = None,
        cancel_requested: Callable[[], bool] | None = None,
    ) -> JobInfo:
        """Run (or re-attach to) job `job` until the board says DONE; return its JobInfo.

        The result inside may be a fault (JAM, EMPTY, CANCELED...): the caller records it.
        Raises only when the board refused the job outright (an ERROR reply: nothing was
        dispensed) or the link failed (outcome unknown; `dispensed` is the last count seen).
        When no event comes for `item_timeout_s`, the job is queried (a DONE may have been
        garbled on the line).
        """
        listener: queue.Queue[Frame | None] = queue.Queue()
        with self._state_lock:
            self._jobs[job] = listener
        try:
            reply = self.request(
                Command.DISPENSE,
                DispenseRequest(job, slot, count).pack(),
                expect=(Command.ACCEPTED, Command.JOB_INFO),
            )
            dispensed = 0
            if reply.command == Command.JOB_INFO:  # a job the board already knows: re-attach
                info = JobInfo.unpack(reply.payload)
                if info.state == JobState.DONE:
                    return info
                dispensed = info.dispensed
            cancel_sent = False
            last_event = time.monotonic()
            while True:
                try:
                    frame = listener.get(timeout=POLL_S)
                except queue.Empty:
                    frame = None
                self._check_link(dispensed)
                if not cancel_sent and cancel_requested is not None and cancel_requested():
                    self.cancel(job)
                    cancel_sent = True
                if frame is not None:
                    info = JobInfo.unpack(frame.payload)
                elif time.monotonic() - last_event > item_timeout_s:
                    info = self.job(job)
                    if info.state == JobState.UNKNOWN:
                        raise errors.ProtocolError(
                            f"board forgot job {job} while it was running", dispensed=dispensed
                        )
                else:
                    continue
                last_event = time.monotonic()
                if info.state == JobState.DONE:
                    return info
                if info.dispensed != dispensed:
                    dispensed = info.dispensed
                    if on_progress is not None:
                        on_progress(info.dispensed, info.count)
        finally:
            with self._state_lock:
                self._jobs.pop(job, None)
