"""Dispenser: protocol overhead per dispense over a real pty, beyond the emulated motor time.

The emulated board runs in this process on an os.openpty pair; the host side is the
full DispenserService (journal with fsync'd commits, DISPENSE, PROGRESS/DONE events,
STATUS refresh) opening the pty through pyserial like the node does. Overhead =
wall time of one dispense - count x the board's time per item.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from service_desk_robot.benchmarking import Figure, at_most, percentile, print_table
from service_desk_robot.robot.dispenser.client import DispenserClient
from service_desk_robot.robot.dispenser.journal import Journal
from service_desk_robot.robot.dispenser.service import DispenserConfig, DispenserService, open_serial
from service_desk_robot.sim.dispenser_emulator import DispenserEmulator

ITEM_TIME_S = 0.02
COUNT = 2
TARGET_MS = 20.0


def _wait(predicate, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("dispenser did not come online")
        time.sleep(0.01)


def run(quick: bool = False) -> list[Figure]:
    samples = 20 if quick else 100
    with tempfile.TemporaryDirectory(prefix="bench-dispenser-") as folder:
        emulator = DispenserEmulator(
            ["water", "candy"], [60_000, 60_000], item_time_s=ITEM_TIME_S, link=Path(folder) / "tty"
        ).start()
        journal = Journal(Path(folder) / "journal.sqlite3")
        service = DispenserService(DispenserConfig(port=emulator.port, status_period_s=60.0), journal)
        try:
            service.start()
            _wait(lambda: service.state.online)
            overheads_ms = []
            for i in range(samples):
                start = time.perf_counter()
                outcome = service.dispense(f"bench-{i}", f"visitor-{i}", "candy", COUNT)
                elapsed = time.perf_counter() - start
                if not outcome.success:
                    raise RuntimeError(f"dispense failed: {outcome}")
                overheads_ms.append((elapsed - COUNT * ITEM_TIME_S) * 1000)
            service.close()  # one process per port: the raw client opens it next
            client = DispenserClient(open_serial(emulator.port, 115_200))
            round_trips_ms = []
            for _ in range(samples):
                start = time.perf_counter()
                client.status()
                round_trips_ms.append((time.perf_counter() - start) * 1000)
            client.close()
        finally:
            service.close()
            journal.close()
            emulator.close()
    detail = f"n={samples}, {COUNT} items x {ITEM_TIME_S * 1000:g} ms motor, pty + pyserial, journal fsync"
    return [
        at_most(
            "dispenser overhead per dispense p50", statistics.median(overheads_ms), "ms", TARGET_MS, detail
        ),
        at_most(
            "dispenser overhead per dispense p95", percentile(overheads_ms, 0.95), "ms", TARGET_MS, detail
        ),
        Figure(
            "dispenser STATUS round trip p50",
            statistics.median(round_trips_ms),
            "ms",
            detail=f"n={samples}, request + reply over the pty",
        ),
    ]


if __name__ == "__main__":
    print_table(run())
