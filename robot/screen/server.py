"""Run the screen's web application with uvicorn in a background thread.

The ROS node owns the main thread (its executor), so the web server gets its own thread
and event loop. `start()` returns once the socket is listening (or raises
ScreenServerError: port taken, bad address); `stop()` ends the event streams first so
uvicorn's graceful shutdown does not wait on them, then joins the thread.
"""

from __future__ import annotations

import logging
import threading
import time

import uvicorn
from starlette.applications import Starlette

from service_desk_robot.robot.screen import ScreenServerError

_LOG = logging.getLogger(__name__)
# Open requests get this long to finish when the server stops.
GRACEFUL_SHUTDOWN_S = 2.0


class ScreenServer:
    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 8080) -> None:
        self._app = app
        self._config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
        self._server = uvicorn.Server(self._config)
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    @property
    def port(self) -> int:
        """The port actually bound (useful when asked for port 0)."""
        for server in self._server.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return self._config.port

    @property
    def url(self) -> str:
        return f"http://{self._config.host}:{self.port}"

    def _run(self) -> None:
        try:
            self._server.run()
        except BaseException as error:  # noqa: BLE001 - uvicorn exits via SystemExit on bind errors
            self._failure = error

    def start(self, timeout_s: float = 10.0) -> None:
        self._thread = threading.Thread(target=self._run, name="screen-web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                raise ScreenServerError(
                    f"web server failed to start on {self._config.host}:{self._config.port}"
                    f" (port in use or bad address): {self._failure!r}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise ScreenServerError(f"web server did not start within {timeout_s} s")
            time.sleep(0.02)
        _LOG.info("screen web server listening on %s", self.url)

    def stop(self, timeout_s: float = 5.0) -> None:
        broadcaster = getattr(self._app.state, "broadcaster", None)
        if broadcaster is not None:
            broadcaster.close()
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                _LOG.warning("screen web server did not stop within %s s", timeout_s)
            self._thread = None
