"""The ward office HTTP API (FastAPI) over `WardOfficeStore`, under /api/v1.

Owns: routes and their request models, bearer-token roles (robot, counter, admin), the
error envelope `{"error": {"code", "message"}}` (every refusal is a 4xx with a stable
code, never a 500), the live queue's ETag/304, the body-size guard, the admin fault
switch (the simulator makes the server "drop", stall or answer garbage for N seconds)
and the counter simulator that calls next numbers at a configured pace.

Threading: everything runs on the server's event loop. Route handlers are `async` and
call the store inline (sub-millisecond SQLite work), so the store never sees two threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import random
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from service_desk_robot.sim.ward_office.config import ServerConfig, Token
from service_desk_robot.sim.ward_office.store import DONE, NO_SHOW, RuleError, TicketRequest, WardOfficeStore

log = logging.getLogger(__name__)

API = "/api/v1"
FAULT_MODES = ("none", "down", "slow", "error", "garbage", "wrong_type")
Send = Callable[[dict[str, Any]], Awaitable[None]]


# ---- request models ---------------------------------------------------------------------


class TicketIn(BaseModel):
    service_code: str = Field(min_length=1, max_length=64)
    channel: Literal["robot", "kiosk", "counter"] = "robot"
    citizen_id: str | None = Field(default=None, max_length=32, description="counts against the daily limits")
    priority: bool = Field(default=False, description="elderly 75+, disability, pregnancy")
    language: str = Field(default="vi", min_length=2, max_length=8)


class BookingIn(BaseModel):
    service_code: str = Field(min_length=1, max_length=64)
    citizen_id: str = Field(min_length=1, max_length=32)
    date: dt.date = Field(description="today up to booking_days_ahead days ahead")


class CheckInIn(BaseModel):
    language: str = Field(default="vi", min_length=2, max_length=8)
    priority: bool = False


class RecallIn(BaseModel):
    number: str = Field(min_length=2, max_length=8)


class FeedbackIn(BaseModel):
    rating: int = Field(description="1 (bad) to 5 (very good)")
    comment: str = Field(default="", max_length=4000)
    service_code: str | None = Field(default=None, max_length=64)
    language: str = Field(default="vi", min_length=2, max_length=8)


class FaultIn(BaseModel):
    mode: Literal["none", "down", "slow", "error", "garbage", "wrong_type"]
    duration_s: float = Field(default=20.0, gt=0, le=3600)
    delay_s: float = Field(default=5.0, ge=0, le=120, description="response delay in mode 'slow'")


BEARER = HTTPBearer(auto_error=False, description="a token of config/ward_office_server.yaml")


def _role(*allowed: str) -> Callable[..., Token]:
    """Dependency: the caller's token, which must have one of these roles (admin: any)."""

    async def check(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
    ) -> Token:
        token = request.app.state.tokens.get(credentials.credentials) if credentials else None
        if token is None:
            raise RuleError("UNAUTHORIZED", 401, "missing or unknown bearer token")
        if token.role != "admin" and token.role not in allowed:
            raise RuleError("FORBIDDEN", 403, f"role {token.role!r} may not call this endpoint")
        return token

    return check


Robot = Annotated[Token, Depends(_role("robot", "counter"))]
Counter = Annotated[Token, Depends(_role("counter"))]
Admin = Annotated[Token, Depends(_role())]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]


# ---- fault switch and request guard ------------------------------------------------------


@dataclass
class FaultSwitch:
    """What the server pretends to suffer, until a monotonic deadline.

    Set over HTTP (POST /admin/fault) or directly by an in-process simulation from any
    thread; the lock keeps mode, deadline and delay consistent with each other.
    """

    mode: str = "none"
    until: float = 0.0
    delay_s: float = 0.0
    monotonic: Callable[[], float] = time.monotonic
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set(self, mode: str, duration_s: float, delay_s: float = 0.0) -> None:
        if mode not in FAULT_MODES:
            raise ValueError(f"fault mode must be one of {FAULT_MODES}")
        with self._lock:
            self.mode, self.until, self.delay_s = mode, self.monotonic() + duration_s, delay_s

    def active(self) -> str:
        with self._lock:
            if self.mode != "none" and self.monotonic() >= self.until:
                self.mode = "none"
            return self.mode

    def remaining_s(self) -> float:
        return max(0.0, self.until - self.monotonic()) if self.active() != "none" else 0.0


async def _send_raw(send: Send, status: int, body: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class GuardMiddleware:
    """Pure ASGI (cheap): applies the fault switch and refuses oversize bodies with 413."""

    def __init__(self, app: Any, faults: FaultSwitch, max_body_bytes: int) -> None:
        self.app = app
        self.faults = faults
        self.max_body_bytes = max_body_bytes

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict]], send: Send
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path.startswith(f"{API}/") and not path.startswith(f"{API}/admin/"):
            mode = self.faults.active()
            if mode == "down":
                await _send_raw(
                    send, 503, _error_body("UNAVAILABLE", "server down (fault switch)"), "application/json"
                )
                return
            if mode == "error":
                await _send_raw(
                    send, 500, _error_body("INTERNAL_ERROR", "simulated fault"), "application/json"
                )
                return
            if mode == "garbage":
                await _send_raw(send, 200, b'{"services": [ {"code": ', "application/json")
                return
            if mode == "wrong_type":
                await _send_raw(send, 200, b"<html><body>Gateway login</body></html>", "text/html")
                return
            if mode == "slow":
                await asyncio.sleep(self.faults.delay_s)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and not declared.isdigit():
            await _send_raw(
                send, 400, _error_body("BAD_REQUEST", "invalid Content-Length"), "application/json"
            )
            return
        if declared is not None and int(declared) > self.max_body_bytes:
            await _send_raw(send, 413, self._too_large(), "application/json")
            return
        if scope["method"] in ("POST", "PUT", "PATCH") and declared is None:
            # Chunked upload without a length: buffer it, bounded, then replay it.
            chunks, size, more = [], 0, True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    return
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if size > self.max_body_bytes:
                    await _send_raw(send, 413, self._too_large(), "application/json")
                    return
                more = message.get("more_body", False)
            body = b"".join(chunks)

            async def replay() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            await self.app(scope, replay, send)
            return
        await self.app(scope, receive, send)

    def _too_large(self) -> bytes:
        return _error_body("BODY_TOO_LARGE", f"request body larger than {self.max_body_bytes} bytes")


# ---- the application ---------------------------------------------------------------------


def _problem(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
}


def _validation_message(error: RequestValidationError) -> tuple[int, str, str]:
    errors = error.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "INVALID_JSON", "request body is not valid JSON"
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
    return 422, "INVALID_REQUEST", f"{where}: {first.get('msg', 'invalid')}"


async def _counter_simulator(
    store: WardOfficeStore, interval_s: float, no_show_share: float, rng: random.Random
):
    """Every counter calls its next number once per interval, the counters staggered."""
    counters = store.config.counters
    step_s = interval_s / max(1, len(counters))
    while True:
        for counter in counters:
            await asyncio.sleep(step_s)
            try:
                if rng.random() < no_show_share:
                    with contextlib.suppress(RuleError):
                        store.finish_current(counter, NO_SHOW)
                store.call_next(counter)
            except Exception:
                log.exception("counter simulator failed at counter %s", counter)


def create_app(
    store: WardOfficeStore,
    *,
    simulate_counters: bool = False,
    call_interval_s: float | None = None,
    rng: random.Random | None = None,
    faults: FaultSwitch | None = None,
) -> FastAPI:
    config: ServerConfig = store.config
    faults = faults or FaultSwitch()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = None
        if simulate_counters:
            interval = call_interval_s or config.simulator.call_interval_s
            task = asyncio.create_task(
                _counter_simulator(store, interval, config.simulator.no_show_share, rng or random.Random())
            )
            log.info("counter simulator on: each counter calls every %.1f s", interval)
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="Ward office (simulated one-stop service desk)",
        version="1.0.0",
        description="Queue numbers, bookings, counters, application status and feedback of a ward office.",
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.tokens = {t.token: t for t in config.tokens}
    app.state.faults = faults

    def counter_allowed(token: Token, counter: str) -> None:
        if token.counters and counter not in token.counters:
            raise RuleError("FORBIDDEN", 403, f"token {token.name!r} may not act for counter {counter}")

    @app.exception_handler(RuleError)
    async def rule_error(_: Request, error: RuleError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return _problem(error.status, error.code, error.message, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        return _problem(*_validation_message(error))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return _problem(error.status_code, HTTP_CODES.get(error.status_code, "HTTP_ERROR"), str(error.detail))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected server error", exc_info=error)
        return _problem(500, "INTERNAL_ERROR", "unexpected server error")

    @app.get(f"{API}/health", tags=["system"])
    async def health() -> dict[str, Any]:
        return {"status": "ok", "time": store.now().isoformat(), "day": store.today().isoformat()}

    @app.get(f"{API}/services", tags=["robot"])
    async def services(_: Robot) -> dict[str, Any]:
        return {
            "office": {"name_vi": config.office_name_vi, "name_en": config.office_name_en},
            "services": [
                {
                    "code": s.code,
                    "letter": s.letter,
                    "name_vi": s.name_vi,
                    "name_en": s.name_en,
                    "counters": list(s.counters),
                    "average_handling_min": s.average_handling_min,
                }
                for s in config.services
            ],
        }

    @app.get(
        f"{API}/queue", tags=["robot"], responses={304: {"description": "unchanged since If-None-Match"}}
    )
    async def queue(
        _: Robot, if_none_match: Annotated[str | None, Header(alias="If-None-Match", max_length=200)] = None
    ) -> Response:
        etag = store.queue_etag()
        if if_none_match == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return JSONResponse(store.live_queue(), headers={"ETag": etag, "Cache-Control": "no-cache"})

    @app.post(f"{API}/tickets", tags=["robot"], status_code=201)
    async def issue_ticket(
        body: TicketIn, _: Robot, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        return store.issue_ticket(TicketRequest(**body.model_dump()), idempotency_key)

    @app.post(f"{API}/bookings", tags=["city app"], status_code=201)
    async def create_booking(body: BookingIn, _: Admin) -> dict[str, Any]:
        return store.create_booking(body.service_code, body.citizen_id, body.date)

    @app.post(f"{API}/bookings/{{booking_code}}/check-in", tags=["robot"], status_code=201)
    async def check_in(
        booking_code: str, _: Robot, body: CheckInIn | None = None, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        body = body or CheckInIn()
        return store.check_in(booking_code, body.language, body.priority, idempotency_key)

    @app.post(f"{API}/counters/{{counter}}/call-next", tags=["counter"])
    async def call_next(counter: str, token: Counter) -> dict[str, Any]:
        counter_allowed(token, counter)
        return {"ticket": store.call_next(counter)}

    @app.post(f"{API}/counters/{{counter}}/complete", tags=["counter"])
    async def complete(counter: str, token: Counter) -> dict[str, Any]:
        counter_allowed(token, counter)
        return {"ticket": store.finish_current(counter, DONE)}

    @app.post(f"{API}/counters/{{counter}}/no-show", tags=["counter"])
    async def no_show(counter: str, token: Counter) -> dict[str, Any]:
        counter_allowed(token, counter)
        return {"ticket": store.finish_current(counter, NO_SHOW)}

    @app.post(f"{API}/counters/{{counter}}/recall", tags=["counter"])
    async def recall(counter: str, body: RecallIn, token: Counter) -> dict[str, Any]:
        counter_allowed(token, counter)
        return {"ticket": store.recall(counter, body.number)}

    @app.get(f"{API}/applications/{{receipt_code}}", tags=["robot"])
    async def application(receipt_code: str, _: Robot) -> dict[str, Any]:
        return store.application(receipt_code)

    @app.post(f"{API}/feedback", tags=["robot"], status_code=201)
    async def feedback(
        body: FeedbackIn, _: Robot, response: Response, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        item, created = store.add_feedback(
            body.rating, body.comment, body.service_code, body.language, idempotency_key
        )
        if not created:
            response.status_code = 200  # a retry of a delivered item: same id, nothing new stored
        return {**item, "duplicate": not created}

    @app.get(f"{API}/statistics/daily", tags=["counter"])
    async def daily_statistics(_: Counter, date: dt.date | None = None) -> dict[str, Any]:
        return store.daily_statistics(date or store.today())

    @app.get(f"{API}/admin/fault", tags=["admin"])
    async def fault_state(_: Admin) -> dict[str, Any]:
        return {"mode": faults.active(), "remaining_s": round(faults.remaining_s(), 3)}

    @app.post(f"{API}/admin/fault", tags=["admin"])
    async def set_fault(body: FaultIn, _: Admin) -> dict[str, Any]:
        faults.set(body.mode, body.duration_s, body.delay_s)
        log.warning("fault switch: %s for %.1f s", body.mode, body.duration_s)
        return {"mode": faults.active(), "remaining_s": round(faults.remaining_s(), 3)}

    app.add_middleware(GuardMiddleware, faults=faults, max_body_bytes=config.rules.max_body_bytes)
    return app
