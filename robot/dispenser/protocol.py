"""The dispenser board's serial protocol: frames, commands, payloads (docs/dispenser-protocol.md).

A frame on the wire:

    STX 0xA5 | LEN u8 | SEQ u16 | CMD u8 | PAYLOAD (LEN - 3 bytes) | CRC u16

LEN counts SEQ + CMD + PAYLOAD (3..255); CRC is CRC-16/CCITT-FALSE over LEN..PAYLOAD;
multi-byte integers are big-endian. `FrameDecoder` is incremental: feed it whatever bytes
arrived and it returns the complete frames, keeping partial ones for the next feed and
resynchronising after noise by rescanning from the byte after a false start.

Pure functions and a small stateful decoder; no I/O, no threads (one decoder per reader).
"""

from __future__ import annotations

import binascii
import enum
import struct
from dataclasses import dataclass

from service_desk_robot.robot.dispenser import errors

STX = 0xA5
HEADER_LEN = 5  # STX, LEN, SEQ(2), CMD
CRC_LEN = 2
MIN_BODY_LEN = 3  # SEQ + CMD
MAX_PAYLOAD_LEN = 255 - MIN_BODY_LEN
MAX_FRAME_LEN = 2 + 255 + CRC_LEN
PROTOCOL_VERSION = 1
MAX_SEQ = 0xFFFF
MAX_JOB_ID = 0xFFFFFFFF


class Command(enum.IntEnum):
    """Host -> board requests (< 0x80) and board -> host replies and events (>= 0x80)."""

    HELLO = 0x01
    STATUS = 0x02
    DISPENSE = 0x03
    CANCEL = 0x04
    JOB = 0x05
    SET_STOCK = 0x06
    CLEAR_FAULT = 0x07
    ACK = 0x80
    HELLO_REPLY = 0x81
    STATUS_REPLY = 0x82
    ACCEPTED = 0x83
    PROGRESS = 0x84
    DONE = 0x85
    JOB_INFO = 0x87
    ERROR = 0xEE


class ErrorCode(enum.IntEnum):
    """Result and error codes on the wire (DONE.result, JOB_INFO.result, ERROR.code)."""

    OK = 0x00
    BAD_CHECKSUM = 0x01
    UNKNOWN_COMMAND = 0x02
    BAD_PAYLOAD = 0x03
    BAD_SLOT = 0x04
    BUSY = 0x05
    STALE_JOB = 0x06
    JAM = 0x10
    EMPTY = 0x11
    DOOR_OPEN = 0x12
    MOTOR_TIMEOUT = 0x13
    CANCELED = 0x14


class JobState(enum.IntEnum):
    UNKNOWN = 0
    RUNNING = 1
    DONE = 2


_ERROR_CLASSES: dict[int, type[errors.DispenserError]] = {
    ErrorCode.BAD_CHECKSUM: errors.BadChecksumError,
    ErrorCode.UNKNOWN_COMMAND: errors.UnknownCommandError,
    ErrorCode.BAD_PAYLOAD: errors.ProtocolError,
    ErrorCode.BAD_SLOT: errors.UnknownItemError,
    ErrorCode.BUSY: errors.BusyError,
    ErrorCode.STALE_JOB: errors.AlreadyServedError,
    ErrorCode.JAM: errors.JamError,
    ErrorCode.EMPTY: errors.EmptyError,
    ErrorCode.DOOR_OPEN: errors.DoorOpenError,
    ErrorCode.MOTOR_TIMEOUT: errors.MotorTimeoutError,
    ErrorCode.CANCELED: errors.CanceledError,
}


def error_for(code: int, message: str, *, dispensed: int = 0, refused: bool = False) -> errors.DispenserError:
    """The exception of a wire error code (unknown codes are protocol errors)."""
    cls = _ERROR_CLASSES.get(code, errors.ProtocolError)
    return cls(message, dispensed=dispensed, refused=refused)


def code_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"0x{code:02X}"


@dataclass(frozen=True)
class Frame:
    seq: int
    command: int
    payload: bytes = b""

    @property
    def is_request(self) -> bool:
        return self.command < 0x80


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF): binascii does it in C."""
    return binascii.crc_hqx(data, 0xFFFF)


def encode(frame: Frame) -> bytes:
    if not 0 <= frame.seq <= MAX_SEQ:
        raise errors.BadRequestError(f"sequence number {frame.seq} outside 0..{MAX_SEQ}")
    if not 0 <= frame.command <= 0xFF:
        raise errors.BadRequestError(f"command {frame.command} is not a byte")
    if len(frame.payload) > MAX_PAYLOAD_LEN:
        raise errors.BadRequestError(f"payload of {len(frame.payload)} bytes exceeds {MAX_PAYLOAD_LEN}")
    body = struct.pack(">BHB", MIN_BODY_LEN + len(frame.payload), frame.seq, frame.command) + frame.payload
    return bytes([STX]) + body + struct.pack(">H", crc16(body))


@dataclass(frozen=True)
class Corrupt:
    """A complete frame whose checksum failed: a board answers BAD_CHECKSUM to its seq."""

    seq: int


class FrameDecoder:
    """Incremental decoder: `feed(bytes)` returns the frames completed by those bytes.

    Bytes before a start byte are discarded. When a candidate frame's length is
    impossible or its checksum fails, only its start byte is dropped and scanning
    resumes at the next byte, so a real frame hidden behind noise is still found. A
    candidate still waiting for bytes is given up as soon as a complete valid frame
    follows it, so a false start with a large length never delays a real reply.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.discarded_bytes = 0  # noise and false starts thrown away
        self.bad_checksums = 0
        self.corrupt: list[Corrupt] = []  # drained by whoever answers BAD_CHECKSUM

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        buffer = self._buffer
        while True:
            start = buffer.find(STX)
            if start < 0:
                self.discarded_bytes += len(buffer)
                buffer.clear()
                break
            if start:
                self.discarded_bytes += start
                del buffer[:start]
            if len(buffer) < 2:
                break
            length = buffer[1]
            if length < MIN_BODY_LEN:
                self._drop_start()
                continue
            total = 2 + length + CRC_LEN
            if len(buffer) < total:
                # A partial frame, or a false start whose bogus length would hold every
                # later byte hostage: if a complete valid frame starts further on, the
                # candidate was noise (real frames never overlap).
                later = self._later_frame_start()
                if later is None:
                    break  # wait for more bytes
                self.discarded_bytes += later
                del buffer[:later]
                continue
            body = bytes(buffer[1 : 2 + length])
            (crc,) = struct.unpack_from(">H", buffer, 2 + length)
            if crc != crc16(body):
                self.bad_checksums += 1
                self.corrupt.append(Corrupt(seq=struct.unpack_from(">H", body, 1)[0]))
                del self.corrupt[:-16]  # keep only the recent ones
                self._drop_start()
                continue
            seq, command = struct.unpack_from(">HB", body, 1)
            frames.append(Frame(seq=seq, command=command, payload=body[4:]))
            del buffer[:total]
        return frames

    def _later_frame_start(self) -> int | None:
        buffer = self._buffer
        position = buffer.find(STX, 1)
        while position >= 0:
            if position + 2 <= len(buffer):
                length = buffer[position + 1]
                end = position + 2 + length
                if length >= MIN_BODY_LEN and end + CRC_LEN <= len(buffer):
                    (crc,) = struct.unpack_from(">H", buffer, end)
                    if crc == crc16(bytes(buffer[position + 1 : end])):
                        return position
            position = buffer.find(STX, position + 1)
        return None

    def _drop_start(self) -> None:
        self.discarded_bytes += 1
        del self._buffer[:1]

    @property
    def pending(self) -> int:
        """Bytes held back as the start of a frame not yet complete."""
        return len(self._buffer)


# --- payloads -------------------------------------------------------------------------


def _need(payload: bytes, size: int, what: str) -> None:
    if len(payload) < size:
        raise errors.ProtocolError(f"{what} payload has {len(payload)} bytes, needs {size}")


@dataclass(frozen=True)
class Hello:
    protocol_version: int
    slots: int
    boot_id: int  # random per power-up: a job table from another boot is gone
    firmware: str

    def pack(self) -> bytes:
        return struct.pack(">BBI", self.protocol_version, self.slots, self.boot_id) + self.firmware.encode()

    @classmethod
    def unpack(cls, payload: bytes) -> Hello:
        _need(payload, 6, "HELLO_REPLY")
        version, slots, boot_id = struct.unpack_from(">BBI", payload)
        return cls(version, slots, boot_id, payload[6:].decode("ascii", "replace"))


STATUS_DOOR_OPEN = 0x01
STATUS_MOTOR_RUNNING = 0x02


@dataclass(frozen=True)
class Status:
    door_open: bool
    motor_running: bool
    fault: int  # ErrorCode of a latched fault (JAM, MOTOR_TIMEOUT) or OK
    active_job: int  # 0 when idle
    stock: tuple[int, ...]

    def pack(self) -> bytes:
        flags = (STATUS_DOOR_OPEN if self.door_open else 0) | (
            STATUS_MOTOR_RUNNING if self.motor_running else 0
        )
        head = struct.pack(">BBIB", flags, self.fault, self.active_job, len(self.stock))
        return head + b"".join(struct.pack(">H", s) for s in self.stock)

    @classmethod
    def unpack(cls, payload: bytes) -> Status:
        _need(payload, 7, "STATUS_REPLY")
        flags, fault, job, slots = struct.unpack_from(">BBIB", payload)
        _need(payload, 7 + 2 * slots, "STATUS_REPLY")
        stock = struct.unpack_from(f">{slots}H", payload, 7)
        return cls(bool(flags & STATUS_DOOR_OPEN), bool(flags & STATUS_MOTOR_RUNNING), fault, job, stock)


@dataclass(frozen=True)
class DispenseRequest:
    job: int
    slot: int
    count: int

    def pack(self) -> bytes:
        return struct.pack(">IBB", self.job, self.slot, self.count)

    @classmethod
    def unpack(cls, payload: bytes) -> DispenseRequest:
        _need(payload, 6, "DISPENSE")
        return cls(*struct.unpack_from(">IBB", payload))


@dataclass(frozen=True)
class JobInfo:
    """JOB_INFO reply, and (with state DONE) the DONE event; PROGRESS uses the first four."""

    job: int
    state: int
    slot: int
    count: int
    dispensed: int
    result: int

    def pack(self) -> bytes:
        return struct.pack(
            ">IBBBBB", self.job, self.state, self.slot, self.count, self.dispensed, self.result
        )

    @classmethod
    def unpack(cls, payload: bytes) -> JobInfo:
        _need(payload, 9, "JOB_INFO")
        return cls(*struct.unpack_from(">IBBBBB", payload))


def pack_job(job: int) -> bytes:
    return struct.pack(">I", job)


def unpack_job(payload: bytes) -> int:
    _need(payload, 4, "job id")
    return struct.unpack_from(">I", payload)[0]


def pack_error(code: int, detail: str) -> bytes:
    return bytes([code]) + detail.encode("ascii", "replace")[: MAX_PAYLOAD_LEN - 1]


def unpack_error(payload: bytes) -> tuple[int, str]:
    _need(payload, 1, "ERROR")
    return payload[0], payload[1:].decode("ascii", "replace")
