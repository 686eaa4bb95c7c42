"""Screen benchmark: how fast a state change reaches open pages, and what a tap costs.

Runs the real web application (uvicorn in its thread, real HTTP on 127.0.0.1) against a
ScreenState fed directly, as the node's ROS callbacks would feed it; no ROS needed.

    python bench/bench_screen.py [--quick]
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import date

import httpx

from service_desk_robot.benchmarking import Figure, at_most, percentile, print_table
from service_desk_robot.robot.screen.app import STATIC_DIR, ActionResult, create_app
from service_desk_robot.robot.screen.config import Choice, ScreenCatalog
from service_desk_robot.robot.screen.server import ScreenServer
from service_desk_robot.robot.screen.state import PrinterInfo, ScreenState

TOKEN = "bench-token"
LABELS = {"vi": {"intents": {}}, "en": {"intents": {}}}
CATALOG = ScreenCatalog((Choice("civil_status", "Hộ tịch", "Civil status", "A"),), ())


class NullPorts:
    def publish_utterances(self, utterances) -> None:
        pass

    def reprint_pending(self) -> ActionResult:
        return ActionResult(True, "")

    refill_dispenser = reprint_pending

    def set_greeting_paused(self, paused: bool) -> ActionResult:
        return ActionResult(True, "")


class StreamReader(threading.Thread):
    """Reads a staff event stream and records when each printed-ticket count arrives."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.arrivals: dict[int, float] = {}
        self.connected = threading.Event()
        self.stop = False

    def run(self) -> None:
        import json

        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(timeout=30.0) as http, http.stream("GET", self.url, headers=headers) as resp:
            for line in resp.iter_lines():
                if line.startswith("data:"):
                    printed = json.loads(line[5:])["printer"].get("tickets_printed")
                    if printed is not None:
                        self.arrivals.setdefault(printed, time.perf_counter())
                    self.connected.set()
                if self.stop:
                    return


def _printer(printed: int) -> PrinterInfo:
    return PrinterInfo(True, 1, printed, (), "", "")


def _fan_out(server: ScreenServer, state: ScreenState, clients: int, changes: int) -> list[float]:
    """Latency (ms) from a state change to its arrival at the slowest of `clients` streams."""
    readers = [StreamReader(f"{server.url}/api/staff/events") for _ in range(clients)]
    state.on_printer(_printer(0))
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.connected.wait(10.0)
    sent: dict[int, float] = {}
    for n in range(1, changes + 1):
        sent[n] = time.perf_counter()
        state.on_printer(_printer(n))
        deadline = time.monotonic() + 5.0
        while not all(n in r.arrivals for r in readers) and time.monotonic() < deadline:
            time.sleep(0.0005)
    for reader in readers:
        reader.stop = True
    return [
        (max(r.arrivals.get(n, float("inf")) for r in readers) - sent[n]) * 1000.0
        for n in range(1, changes + 1)
    ]


def run(quick: bool = False) -> list[Figure]:
    state = ScreenState(today=date.today)
    app = create_app(state=state, ports=NullPorts(), labels=LABELS, catalog=CATALOG, staff_token=TOKEN)
    server = ScreenServer(app, port=0)
    server.start()
    figures: list[Figure] = []
    try:
        changes = 30 if quick else 200
        one = _fan_out(server, state, 1, changes)
        figures.append(
            at_most(
                "screen: state change -> page event p95",
                percentile(one, 0.95),
                "ms",
                2000.0,
                f"1 stream, {changes} changes, p50 {percentile(one, 0.5):.1f} ms",
            )
        )
        many_clients = 10 if quick else 25
        many = _fan_out(server, state, many_clients, changes // 2)
        figures.append(
            at_most(
                "screen: change -> slowest of many pages p95",
                percentile(many, 0.95),
                "ms",
                2000.0,
                f"{many_clients} streams, {changes // 2} changes",
            )
        )
        taps = 50 if quick else 300
        timings = []
        with httpx.Client(base_url=server.url, timeout=5.0) as http:
            for _ in range(taps):
                start = time.perf_counter()
                http.post("/api/visitor/intent", json={"intent": "queue_number", "argument": "civil_status"})
                timings.append((time.perf_counter() - start) * 1000.0)
        figures.append(
            at_most(
                "screen: tap -> intent accepted p95",
                percentile(timings, 0.95),
                "ms",
                100.0,
                f"{taps} POSTs, p50 {percentile(timings, 0.5):.1f} ms",
            )
        )
    finally:
        server.stop()
    weight_kb = sum(p.stat().st_size for p in STATIC_DIR.iterdir()) / 1024.0
    figures.append(
        at_most("screen: front end size (HTML+CSS+JS)", weight_kb, "KB", 100.0, "no CDN, no build")
    )
    return figures


if __name__ == "__main__":
    print_table(run(quick="--quick" in sys.argv))
