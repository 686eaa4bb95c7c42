"""The dispenser's exception tree: one base, one stable `code` per class.

    DispenserError                      code
    ├── RequestError                    (refused before the board is asked)
    │   ├── BadRequestError             BAD_REQUEST
    │   ├── UnknownItemError            UNKNOWN_ITEM
    │   ├── LimitReachedError           LIMIT_REACHED
    │   ├── AlreadyServedError          ALREADY_SERVED
    │   └── BusyError                   BUSY
    ├── LinkError                       (the serial line, not the board, failed)
    │   ├── OfflineError                OFFLINE       port missing or closed
    │   ├── PortLostError               OFFLINE       port vanished during an exchange
    │   ├── NoReplyError                NO_REPLY      silence after every retry
    │   └── GarbledError                GARBLED       bytes came, no valid frame
    ├── ProtocolError                   PROTOCOL      the board answered something unexpected
    │   ├── BadChecksumError            BAD_CHECKSUM  the board kept rejecting our frames
    │   └── UnknownCommandError         UNKNOWN_COMMAND
    ├── BoardFaultError                      (the board reported a mechanical fault)
    │   ├── JamError                    JAM
    │   ├── EmptyError                  EMPTY
    │   ├── DoorOpenError               DOOR_OPEN
    │   ├── MotorTimeoutError           MOTOR_TIMEOUT
    │   └── CanceledError               CANCELED
    └── JournalError                    JOURNAL       the durable journal could not be used

Codes are what action results and /dispenser/status carry; callers branch on them (or on
the class), never on message text. Errors raised mid-dispense carry `dispensed`, the
number of items that did come out, and `refused` when the board turned the request down
(so nothing happened and the request may be tried again).
"""

from __future__ import annotations

from typing import ClassVar


class DispenserError(Exception):
    code: ClassVar[str] = "DISPENSER_ERROR"

    def __init__(self, message: str, *, dispensed: int = 0, refused: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.dispensed = dispensed
        # True when the board answered ERROR to the request: it did nothing at all.
        self.refused = refused


class RequestError(DispenserError):
    code = "BAD_REQUEST"


class BadRequestError(RequestError):
    code = "BAD_REQUEST"


class UnknownItemError(RequestError):
    code = "UNKNOWN_ITEM"


class LimitReachedError(RequestError):
    code = "LIMIT_REACHED"


class AlreadyServedError(RequestError):
    code = "ALREADY_SERVED"


class BusyError(RequestError):
    code = "BUSY"


class LinkError(DispenserError):
    code = "OFFLINE"


class OfflineError(LinkError):
    code = "OFFLINE"


class PortLostError(LinkError):
    code = "OFFLINE"


class NoReplyError(LinkError):
    code = "NO_REPLY"


class GarbledError(LinkError):
    code = "GARBLED"


class ProtocolError(DispenserError):
    code = "PROTOCOL"


class BadChecksumError(ProtocolError):
    code = "BAD_CHECKSUM"


class UnknownCommandError(ProtocolError):
    code = "UNKNOWN_COMMAND"


class BoardFaultError(DispenserError):
    code = "FAULT"


class JamError(BoardFaultError):
    code = "JAM"


class EmptyError(BoardFaultError):
    code = "EMPTY"


class DoorOpenError(BoardFaultError):
    code = "DOOR_OPEN"


class MotorTimeoutError(BoardFaultError):
    code = "MOTOR_TIMEOUT"


class CanceledError(BoardFaultError):
    code = "CANCELED"


class JournalError(DispenserError):
    code = "JOURNAL"
