"""Ticket printing: render + send time per ticket (p95) and bytes per ticket.

Each sample is a full print through TicketPrinter against the fake TCP printer on loopback
(its own process, as a real printer has its own CPU):
validate, lay out, render, encode, ask the paper sensor, send, and wait for the delivery
receipt (the status answer after the job). Tickets vary in language, service, booking code
and queue length. Targets (issue 4): p95 <= 150 ms and <= 24 KB per ticket at 80 mm, so a
115200-baud serial printer takes <= 2.5 s per ticket.
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from service_desk_robot.benchmarking import Figure, at_most, percentile, print_table
from service_desk_robot.printer.backends import BackendConfig, PrinterConnection
from service_desk_robot.printer.escpos_job import make_profile
from service_desk_robot.printer.service import PrinterSettings, TicketPrinter, prepare_ticket
from service_desk_robot.printer.spool import TicketSpool
from service_desk_robot.printer.ticket import TicketData, load_ticket_config

REPO = Path(__file__).resolve().parent.parent
SERIAL_BITS_PER_BYTE = 10  # 8N1 framing


def _tickets(count: int) -> list[TicketData]:
    services = [
        "civil_status",
        "certification",
        "land_construction",
        "business_food_safety",
        "social_affairs",
    ]
    variants = itertools.product(services, ("vi", "en"), ("", "BK-7F3K2Q"))
    tickets = []
    for i, (service, language, booking) in zip(range(count), itertools.cycle(variants), strict=False):
        tickets.append(
            TicketData(
                number=f"{'ABCDE'[services.index(service)]}{i:03d}",
                service_code=service,
                people_ahead=i % 40,
                estimated_wait_min=(i % 40) * 6,
                issued_at="2026-11-26T09:30:00",
                booking_code=booking,
                language=language,
            )
        )
    return tickets


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_fake_printer(out: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    command = [sys.executable, "-m", "service_desk_robot.cli", "fake-printer", "--port", str(port)]
    command += ["--control-port", str(_free_port()), "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("fake printer did not start")


def run(quick: bool = False) -> list[Figure]:
    count = 30 if quick else 150
    config = load_ticket_config(REPO / "config/ticket.yaml", REPO / "config/services.yaml")
    now = datetime(2026, 11, 26, 9, 30)
    tickets = _tickets(count)

    # Every optional field and a 90-character service name: the longest ticket in practice.
    worst = TicketData(
        number="D117",
        service_code="business_food_safety",
        service_name_vi=(
            "Cấp giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm cho hộ kinh doanh dịch vụ ăn uống"
        ),
        people_ahead=12,
        estimated_wait_min=95,
        counters=("5", "6"),
        priority=True,
        issued_at="2026-11-26T14:05:00",
        booking_code="HN-2026-11-26-ABCDEFGH",
        language="vi",
    )
    worst_bytes = len(prepare_ticket(worst, config, make_profile("default", 576), PrinterSettings(), now).job)
    worst_serial_s = worst_bytes * SERIAL_BITS_PER_BYTE / 115200
    sizes = {}
    for width in (576, 384):
        settings = PrinterSettings(width_dots=width)
        profile = make_profile("default", width)
        sizes[width] = [len(prepare_ticket(t, config, profile, settings, now).job) for t in tickets]

    with tempfile.TemporaryDirectory(prefix="bench-printer-") as folder:
        fake, port = _start_fake_printer(Path(folder))
        profile = make_profile("default", 576)
        printer = TicketPrinter(
            config,
            PrinterConnection(BackendConfig(port=port), profile),
            TicketSpool(None),
            profile,
            PrinterSettings(poll_interval_s=60.0),
            clock=lambda: now,
        )
        printer.start()
        try:
            printer.submit(_tickets(1)[0]).result(10)  # connect once before timing
            times_ms = []
            for ticket in tickets[1:]:
                started = time.perf_counter()
                outcome = printer.submit(ticket).result(10)
                times_ms.append((time.perf_counter() - started) * 1000)
                if not outcome.success:
                    raise RuntimeError(f"ticket {ticket.number} did not print: {outcome.message}")
        finally:
            printer.stop()
            fake.send_signal(signal.SIGINT)
            fake.wait(10)
        printed = len(list(Path(folder).glob("job-*.png")))

    biggest_80 = max(sizes[576]) / 1024
    load = os.getloadavg()[0]
    detail = f"{len(times_ms)} tickets to the fake printer on loopback ({printed} saved), load avg {load:.1f}"
    return [
        at_most("ticket render + send p95", percentile(times_ms, 0.95), "ms", 150, detail),
        Figure("ticket render + send median", percentile(times_ms, 0.5), "ms", detail=detail),
        at_most("ticket bytes at 80 mm (largest)", biggest_80, "KB", 24, f"{count} tickets, catalogue names"),
        Figure("ticket bytes at 80 mm (mean)", sum(sizes[576]) / len(sizes[576]) / 1024, "KB"),
        Figure("ticket bytes at 58 mm (largest)", max(sizes[384]) / 1024, "KB"),
        Figure(
            "ticket bytes at 80 mm, worst case",
            worst_bytes / 1024,
            "KB",
            detail=f"90-char name, every field: {worst_serial_s:.2f} s at 115200 baud",
        ),
        at_most(
            "ticket time on 115200-baud serial (largest)",
            max(sizes[576]) * SERIAL_BITS_PER_BYTE / 115200,
            "s",
            2.5,
            "bytes x 10 bits / 115200 baud",
        ),
    ]


if __name__ == "__main__":
    print_table(run())
