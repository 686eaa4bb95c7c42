"""HTTP client of the ward office server (httpx), built to live with a bad link.

- Explicit per-phase timeouts (connect, read, write, pool) from `Timeouts`.
- Retries with exponential backoff only where repeating is harmless: GETs, and POSTs
  that carry an idempotency key (the server returns the first result for a repeated
  key). A POST without a key is retried only when the connection never opened, because
  then nothing reached the server. httpx itself retries nothing but connects.
- A circuit breaker shared by every call: once the server has failed a few calls in a
  row, calls fail at once with `CircuitOpenError` until a trial call succeeds, so a dead
  server never stalls each visitor's request for a full timeout.
- Every failure is a `WardOfficeError` (see errors.py), mapped with `raise ... from`.

The transport is injectable (httpx.MockTransport in tests), and so is `sleep`.
Threading: safe to share between threads (httpx.Client and the breaker are).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from service_desk_robot.robot.ward_office.breaker import CircuitBreaker
from service_desk_robot.robot.ward_office.errors import (
    AuthRejectedError,
    BadResponseError,
    CircuitOpenError,
    ConnectFailedError,
    RequestRejectedError,
    RequestTimeoutError,
    ServerFaultError,
    ServerUnavailableError,
)
from service_desk_robot.robot.ward_office.models import (
    ApplicationInfo,
    FeedbackReceipt,
    QueueSnapshot,
    TicketInfo,
    parse_application,
    parse_feedback_receipt,
    parse_queue,
    parse_ticket,
)

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class Timeouts:
    connect_s: float = 0.5
    read_s: float = 2.0
    write_s: float = 2.0
    pool_s: float = 0.5

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect_s, read=self.read_s, write=self.write_s, pool=self.pool_s)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 2  # total tries of a retryable call, first one included
    backoff_s: float = 0.1  # wait before the second try; doubles each further try
    max_backoff_s: float = 1.0

    def delay_s(self, retry: int) -> float:
        return min(self.max_backoff_s, self.backoff_s * (2 ** (retry - 1)))


class WardOfficeClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker()
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + API_PREFIX,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=(timeouts or Timeouts()).to_httpx(),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    # ---- endpoints ----------------------------------------------------------------------

    def queue(self, etag: str | None = None) -> tuple[QueueSnapshot | None, str | None]:
        """Live queue; (None, etag) when unchanged since `etag` (HTTP 304)."""
        headers = {"If-None-Match": etag} if etag else {}
        response, data = self._request("GET", "/queue", headers=headers, idempotent=True)
        if response.status_code == 304:
            return None, etag
        return parse_queue(data), response.headers.get("ETag")

    def issue_ticket(
        self,
        service_code: str,
        *,
        citizen_id: str = "",
        priority: bool = False,
        language: str = "vi",
        channel: str = "robot",
        idempotency_key: str = "",
    ) -> TicketInfo:
        body = {
            "service_code": service_code,
            "channel": channel,
            "citizen_id": citizen_id or None,
            "priority": priority,
            "language": language,
        }
        _, data = self._request(
            "POST", "/tickets", json=body, idempotency_key=idempotency_key, idempotent=bool(idempotency_key)
        )
        return parse_ticket(data)

    def check_in(
        self, booking_code: str, *, language: str = "vi", priority: bool = False, idempotency_key: str = ""
    ) -> TicketInfo:
        _, data = self._request(
            "POST",
            f"/bookings/{quote(booking_code, safe='')}/check-in",
            json={"language": language, "priority": priority},
            idempotency_key=idempotency_key,
            idempotent=bool(idempotency_key),
        )
        return parse_ticket(data)

    def application_status(self, receipt_code: str) -> ApplicationInfo:
        _, data = self._request("GET", f"/applications/{quote(receipt_code, safe='')}", idempotent=True)
        return parse_application(data)

    def submit_feedback(
        self, rating: int, comment: str, service_code: str, language: str, idempotency_key: str
    ) -> FeedbackReceipt:
        body = {
            "rating": rating,
            "comment": comment,
            "service_code": service_code or None,
            "language": language,
        }
        _, data = self._request(
            "POST", "/feedback", json=body, idempotency_key=idempotency_key, idempotent=bool(idempotency_key)
        )
        return parse_feedback_receipt(data)

    # ---- the one request path -------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        idempotency_key: str = "",
        idempotent: bool,
    ) -> tuple[httpx.Response, Any]:
        """(response, parsed JSON body or None for 304), after retries and breaker."""
        if not self.breaker.allow():
            raise CircuitOpenError(
                f"ward office server failing; next try in {self.breaker.retry_in_s():.1f} s (circuit open)"
            )
        headers = dict(headers or {})
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        attempt = 0
        while True:
            attempt += 1
            try:
                response, data = self._send(method, path, json, headers)
            except ServerUnavailableError as error:
                # No connection (or none free in the pool): the request never left.
                nothing_sent = isinstance(
                    error.__cause__, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
                )
                # A 501 or 505 will not change on a retry; 500/502/503/504 may.
                transient = not isinstance(error, ServerFaultError) or error.status in RETRYABLE_STATUSES
                if attempt < self.retry.attempts and transient and (idempotent or nothing_sent):
                    log.debug("%s %s failed (%s); retry %d", method, path, error, attempt)
                    self._sleep(self.retry.delay_s(attempt))
                    continue
                self.breaker.record_failure()
                raise
            except RequestRejectedError:
                self.breaker.record_success()  # the server answered: the link works
                raise
            self.breaker.record_success()
            return response, data

    def _send(
        self, method: str, path: str, json: dict[str, Any] | None, headers: dict[str, str]
    ) -> tuple[httpx.Response, Any]:
        """One HTTP exchange, with every failure mapped onto the error tree."""
        try:
            response = self._http.request(method, path, json=json, headers=headers)
        except httpx.TimeoutException as error:
            raise RequestTimeoutError(f"{method} {path}: {type(error).__name__}") from error
        except httpx.TransportError as error:
            raise ConnectFailedError(f"{method} {path}: {type(error).__name__}: {error}") from error
        status = response.status_code
        if status >= 500:
            raise ServerFaultError(f"{method} {path}: server error {status}", status)
        if status in (401, 403):
            code, message = self._error_of(response)
            raise AuthRejectedError(f"{method} {path}: {message}", code, status)
        if status >= 400:
            code, message = self._error_of(response)
            raise RequestRejectedError(message, code, status)
        # A garbage 2xx is a server fault: parse here, before the call counts as a success.
        return response, None if status == 304 else self._json(response)

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        content_type = response.headers.get("content-type", "")
        if not content_type.startswith("application/json"):
            raise BadResponseError(f"expected application/json, got {content_type or 'no content type'!r}")
        try:
            return response.json()
        except ValueError as error:
            raise BadResponseError(f"reply is not valid JSON: {error}") from error

    @staticmethod
    def _error_of(response: httpx.Response) -> tuple[str, str]:
        """(code, message) of the server's error envelope; a generic code when absent."""
        fallback = (f"HTTP_{response.status_code}", f"server refused with status {response.status_code}")
        try:
            error = response.json().get("error")
        except (ValueError, AttributeError):
            return fallback
        if not isinstance(error, dict) or not isinstance(error.get("code"), str):
            return fallback
        return error["code"], str(error.get("message", ""))
