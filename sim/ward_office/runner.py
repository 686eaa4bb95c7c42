"""Serving the ward office app: in the foreground (CLI) or in a background thread.

`ServerThread` runs uvicorn on its own thread and event loop; `start()` returns once the
socket listens, `stop()` returns once it is closed, so a test or the lobby simulation
can take the server down and bring it back on the same port and database.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import uvicorn

from service_desk_robot.sim.ward_office.app import FaultSwitch, create_app
from service_desk_robot.sim.ward_office.config import ServerConfig
from service_desk_robot.sim.ward_office.store import Clock, WardOfficeStore


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ServerThread:
    """One ward office server (store + app + uvicorn) on 127.0.0.1, in a daemon thread."""

    def __init__(
        self,
        config: ServerConfig,
        db_path: Path,
        port: int,
        *,
        host: str = "127.0.0.1",
        clock: Clock = system_clock,
        simulate_counters: bool = False,
        call_interval_s: float | None = None,
        faults: FaultSwitch | None = None,
    ) -> None:
        self.config = config
        self.db_path = db_path
        self.host, self.port = host, port
        self.clock = clock
        self.simulate_counters = simulate_counters
        self.call_interval_s = call_interval_s
        self.faults = faults or FaultSwitch()
        self.store: WardOfficeStore | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> ServerThread:
        self.store = WardOfficeStore(self.db_path, self.config, self.clock)
        app = create_app(
            self.store,
            simulate_counters=self.simulate_counters,
            call_interval_s=self.call_interval_s,
            faults=self.faults,
        )
        self._server = uvicorn.Server(
            uvicorn.Config(app, host=self.host, port=self.port, log_level="warning", access_log=False)
        )
        self._thread = threading.Thread(target=self._server.run, name=f"ward-office-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"ward office server did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout_s)
        if self.store is not None:
            self.store.close()
        self._server, self._thread, self.store = None, None, None

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
