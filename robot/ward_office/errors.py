"""Exceptions of the ward office link: one base, mapped from httpx and sqlite3.

    WardOfficeError                     base; `error_code` is what a ROS reply carries
    ├── ServerUnavailableError          SERVER_UNREACHABLE: no usable answer, try later
    │   ├── ConnectFailedError          no connection (refused, reset, DNS)
    │   ├── RequestTimeoutError         a connect/read/write/pool timeout expired
    │   ├── ServerFaultError            5xx status
    │   ├── BadResponseError            not JSON, wrong content type, missing fields
    │   └── CircuitOpenError            not tried: the breaker is open after failures
    ├── RequestRejectedError            the server refused (4xx): `error_code` is its code
    │   └── AuthRejectedError           401/403: the robot's token is wrong (configuration)
    └── OutboxError                     the local outbox cannot store or read (disk, corruption)

Callers branch on the class (or on `error_code`), never on message text.
"""

from __future__ import annotations

SERVER_UNREACHABLE = "SERVER_UNREACHABLE"


class WardOfficeError(Exception):
    """Base of every error of the ward office link."""

    error_code = "WARD_OFFICE_ERROR"

    def __init__(self, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if error_code is not None:
            self.error_code = error_code


class ServerUnavailableError(WardOfficeError):
    """No usable answer from the server: it may work a little later."""

    error_code = SERVER_UNREACHABLE


class ConnectFailedError(ServerUnavailableError):
    """The connection could not be opened (nothing was sent)."""


class RequestTimeoutError(ServerUnavailableError):
    """A connect, read, write or pool timeout expired."""


class ServerFaultError(ServerUnavailableError):
    """The server answered with a 5xx status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class BadResponseError(ServerUnavailableError):
    """The server answered something that is not the API's JSON."""


class CircuitOpenError(ServerUnavailableError):
    """Not attempted: recent calls failed and the breaker waits before trying again."""


class RequestRejectedError(WardOfficeError):
    """The server understood and refused: `error_code` is the server's stable code."""

    def __init__(self, message: str, error_code: str, status: int) -> None:
        super().__init__(message, error_code)
        self.status = status


class AuthRejectedError(RequestRejectedError):
    """401 or 403: the robot's token is missing, unknown or lacks the role."""


class OutboxError(WardOfficeError):
    """The durable outbox cannot store or read its items."""

    error_code = "OUTBOX_FAILED"
