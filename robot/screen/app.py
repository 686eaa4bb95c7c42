"""The screen's web application (Starlette): two pages, a JSON API and live event streams.

Routes:
- `/` visitor screen, `/staff` staff console, `/static/*` their HTML/CSS/JS (no CDN);
- `/api/config` labels (vi + en) and the catalogue of services and procedures;
- `/api/visitor/state`, `/api/visitor/events` (server-sent events) the visitor snapshot;
- `POST /api/visitor/intent` one tap -> one dialogue intent (validated, see intents.py);
- `/api/staff/state`, `/api/staff/events`, `POST /api/staff/actions/{action}`: staff
  only, each request carries `Authorization: Bearer <token>`. A missing or wrong token
  is refused (401); without a configured token the staff console is closed (503).
  No visitor route reaches a staff action.

Threading: the application runs on the uvicorn event loop thread. `ScreenState`
listeners (called on ROS threads) only schedule a wake-up on that loop. Ports that call
ROS services block, so staff actions run in the thread pool.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from service_desk_robot.robot.screen import InvalidIntentError, ScreenConfigError
from service_desk_robot.robot.screen.config import ScreenCatalog
from service_desk_robot.robot.screen.intents import ScreenUtterance, parse_visitor_intent, utterances_for
from service_desk_robot.robot.screen.state import ScreenState

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Event streams re-check their snapshot at least this often (staleness of node health).
STREAM_REFRESH_S = 1.0
# A comment line keeps idle event streams (and proxies) from timing out.
STREAM_KEEPALIVE_S = 15.0
INTENT_BODY_MAX_BYTES = 4096
# Pages load only their own files: a CDN asset would break the kiosk offline.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
API_HEADERS = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class ActionResult:
    success: bool
    message: str
    error_code: str = ""


class ScreenPorts(Protocol):
    """What the application needs from the robot (the node implements it over ROS)."""

    def publish_utterances(self, utterances: list[ScreenUtterance]) -> None: ...

    def reprint_pending(self) -> ActionResult: ...

    def refill_dispenser(self) -> ActionResult: ...

    def set_greeting_paused(self, paused: bool) -> ActionResult: ...


class Broadcaster:
    """Wakes every open event stream when the state changes; closes them on shutdown."""

    def __init__(self, state: ScreenState) -> None:
        self._state = state
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakers: set[asyncio.Event] = set()
        self.closing = False

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.closing = False
        self._state.add_listener(self._on_change)

    def detach(self) -> None:
        self._state.remove_listener(self._on_change)
        self._loop = None

    def close(self) -> None:
        """Ask every stream to end (thread-safe), so the server can stop promptly."""
        self.closing = True
        self._on_change()

    def _on_change(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake_all)

    def _wake_all(self) -> None:
        for waker in self._wakers:
            waker.set()

    async def stream(self, view: Callable[[], dict]) -> AsyncIterator[str]:
        waker = asyncio.Event()
        self._wakers.add(waker)
        loop = asyncio.get_running_loop()
        last_payload = None
        last_sent = loop.time()
        try:
            yield "retry: 1000\n\n"
            while not self.closing:
                waker.clear()  # before reading: a change during the read wakes us again
                payload = json.dumps(view(), ensure_ascii=False, separators=(",", ":"))
                if payload != last_payload:
                    yield f"event: state\ndata: {payload}\n\n"
                    last_payload, last_sent = payload, loop.time()
                elif loop.time() - last_sent > STREAM_KEEPALIVE_S:
                    yield ": keepalive\n\n"
                    last_sent = loop.time()
                with suppress(TimeoutError):
                    await asyncio.wait_for(waker.wait(), STREAM_REFRESH_S)
        finally:
            self._wakers.discard(waker)


def _error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"error_code": code, "message": message}, status_code=status, headers={**API_HEADERS, **headers}
    )


def create_app(
    *,
    state: ScreenState,
    ports: ScreenPorts,
    labels: dict[str, dict],
    catalog: ScreenCatalog,
    staff_token: str,
    default_language: str = "vi",
) -> Starlette:
    """Build the application; `staff_token` empty closes the staff console."""
    if default_language not in labels:
        raise ScreenConfigError(f"default language {default_language!r} has no labels ({sorted(labels)})")
    broadcaster = Broadcaster(state)
    intents_catalog = catalog.intents_catalog()
    config_payload = {"labels": labels, "catalog": catalog.as_json(), "default_language": default_language}

    def staff_refusal(request: Request) -> Response | None:
        if not staff_token:
            return _error(503, "STAFF_DISABLED", "no staff token is configured")
        scheme, _, supplied = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not supplied:
            return _error(401, "TOKEN_MISSING", "staff token required", **{"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(supplied.strip().encode(), staff_token.encode()):
            return _error(401, "TOKEN_REFUSED", "wrong staff token", **{"WWW-Authenticate": "Bearer"})
        return None

    def page(name: str) -> Callable[[Request], Response]:
        async def endpoint(_: Request) -> Response:
            return FileResponse(STATIC_DIR / name, headers=PAGE_HEADERS)

        return endpoint

    async def get_config(_: Request) -> Response:
        return JSONResponse(config_payload, headers=API_HEADERS)

    async def visitor_state(_: Request) -> Response:
        return JSONResponse(state.visitor_view(), headers=API_HEADERS)

    def event_stream(view: Callable[[], dict]) -> StreamingResponse:
        return StreamingResponse(
            broadcaster.stream(view),
            media_type="text/event-stream",
            headers={**API_HEADERS, "X-Accel-Buffering": "no"},
        )

    async def visitor_events(_: Request) -> Response:
        return event_stream(state.visitor_view)

    async def visitor_intent(request: Request) -> Response:
        origin = request.headers.get("origin")
        if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
            # Another site open in the kiosk's browser must not tap for the visitor.
            return _error(403, "CROSS_ORIGIN", "taps come from the robot's own page only")
        body = await request.body()
        if len(body) > INTENT_BODY_MAX_BYTES:
            return _error(413, "TOO_LARGE", f"at most {INTENT_BODY_MAX_BYTES} bytes")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _error(400, "BAD_REQUEST", "the body must be JSON")
        try:
            intent = parse_visitor_intent(payload, intents_catalog)
        except InvalidIntentError as error:
            return _error(422, error.code, str(error))
        utterances = utterances_for(intent, labels[intent.language].get("intents", {}))
        await run_in_threadpool(ports.publish_utterances, utterances)  # may wait on the dialogue
        return JSONResponse({"accepted": True, "intent": intent.intent}, status_code=202, headers=API_HEADERS)

    async def staff_state(request: Request) -> Response:
        return staff_refusal(request) or JSONResponse(state.staff_view(), headers=API_HEADERS)

    async def staff_events(request: Request) -> Response:
        return staff_refusal(request) or event_stream(state.staff_view)

    actions: dict[str, Callable[[], ActionResult]] = {
        "reprint": ports.reprint_pending,
        "refill_dispenser": ports.refill_dispenser,
        "pause_greeting": lambda: ports.set_greeting_paused(True),
        "resume_greeting": lambda: ports.set_greeting_paused(False),
    }

    async def staff_action(request: Request) -> Response:
        refusal = staff_refusal(request)
        if refusal is not None:
            return refusal
        name = request.path_params["action"]
        if name not in actions:
            return _error(404, "UNKNOWN_ACTION", f"unknown staff action {name!r}")
        result = await run_in_threadpool(actions[name])
        return JSONResponse(
            {"success": result.success, "error_code": result.error_code, "message": result.message},
            status_code=200 if result.success else 502,
            headers=API_HEADERS,
        )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        broadcaster.attach(asyncio.get_running_loop())
        try:
            yield
        finally:
            broadcaster.detach()

    app = Starlette(
        routes=[
            Route("/", page("visitor.html")),
            Route("/staff", page("staff.html")),
            Route("/api/config", get_config),
            Route("/api/visitor/state", visitor_state),
            Route("/api/visitor/events", visitor_events),
            Route("/api/visitor/intent", visitor_intent, methods=["POST"]),
            Route("/api/staff/state", staff_state),
            Route("/api/staff/events", staff_events),
            Route("/api/staff/actions/{action}", staff_action, methods=["POST"]),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        lifespan=lifespan,
    )
    app.state.broadcaster = broadcaster
    return app
