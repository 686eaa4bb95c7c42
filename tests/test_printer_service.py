"""TicketPrinter against the fake TCP printer: paper faults, offline, reboots, order, no duplicates.

Every test runs a real FakePrinter on a free loopback port and a TicketPrinter with short
poll and backoff periods; waits are conditions with deadlines, never sleeps.
"""

from __future__ import annotations

import itertools
import json
import threading
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from support import free_tcp_port, wait_until

from service_desk_robot.printer.backends import BackendConfig, PaperState, PrinterConnection
from service_desk_robot.printer.escpos_job import make_profile
from service_desk_robot.printer.service import PrinterSettings, TicketPrinter, prepare_ticket
from service_desk_robot.printer.spool import TicketSpool
from service_desk_robot.printer.ticket import TicketData, load_ticket_config
from service_desk_robot.sim.fake_printer.server import FakePrinter

NOW = datetime(2026, 11, 26, 8, 15)
SETTINGS = PrinterSettings(poll_interval_s=0.05, reconnect_initial_s=0.05, reconnect_max_s=0.2)


@pytest.fixture(scope="module")
def config(repo):
    return load_ticket_config(repo / "config/ticket.yaml", repo / "config/services.yaml")


@pytest.fixture
def fake(tmp_path):
    printer = FakePrinter(free_tcp_port(), out_dir=tmp_path / "jobs").start()
    yield printer
    printer.stop()


class Harness:
    def __init__(self, config, fake, spool_path: Path | None, settings=SETTINGS, backend=None):
        self.config, self.fake, self.settings = config, fake, settings
        self.profile = make_profile("default", settings.width_dots)
        backend = backend or BackendConfig(port=fake.port, timeout_s=1.0, status_timeout_s=0.3)
        self.printer = TicketPrinter(
            config,
            PrinterConnection(backend, self.profile),
            TicketSpool(spool_path),
            self.profile,
            settings,
            clock=lambda: NOW,
        )
        self.printer.start()

    def ticket(self, number: str, **fields) -> TicketData:
        values = {"service_code": "civil_status", "issued_at": "2026-11-26T08:15:00", **fields}
        return TicketData(number=number, **values)

    def job_of(self, ticket: TicketData) -> bytes:
        return prepare_ticket(ticket, self.config, self.profile, self.settings, NOW).job

    def printed(self, *tickets: TicketData) -> list[str]:
        """Numbers of the fake printer's printed jobs, in order (matched by exact bytes)."""
        by_bytes = {self.job_of(t): t.number for t in tickets}
        return [by_bytes.get(Path(j.bin_path).read_bytes(), "?") for j in self.fake.printed_jobs()]

    def print(self, ticket: TicketData, timeout_s: float = 10.0):
        return self.printer.submit(ticket).result(timeout_s)


@pytest.fixture
def harness(config, fake, tmp_path):
    h = Harness(config, fake, tmp_path / "spool.json")
    yield h
    h.printer.stop()


def test_a_ticket_prints_once_and_the_printer_saw_exactly_the_job(harness, fake):
    ticket = harness.ticket("A001", language="en")
    outcome = harness.print(ticket)
    assert outcome.success
    assert outcome.error_code == ""
    assert not outcome.kept_for_reprint
    [job] = fake.printed_jobs()
    assert Path(job.bin_path).read_bytes() == harness.job_of(ticket)
    assert job.errors == []
    state = harness.printer.state()
    assert state.online
    assert state.paper == PaperState.OK
    assert state.tickets_printed == 1
    assert state.pending_numbers == ()


def test_the_qr_decoded_by_the_fake_printer_opens_the_status_page(harness, fake):
    harness.print(harness.ticket("A002"))
    [job] = fake.printed_jobs()
    page = np.array(Image.open(job.png_path).convert("L"))
    text, _points, _ = cv2.QRCodeDetector().detectAndDecode(page)
    assert text == "http://127.0.0.1:8765/status/ticket?date=2026-11-26&number=A002"


def test_the_same_ticket_is_never_printed_twice(harness, fake):
    ticket = harness.ticket("A003")
    futures = [harness.printer.submit(ticket) for _ in range(3)]  # e.g. a caller's retries
    assert all(f.result(10).success for f in futures)
    again = harness.print(ticket)
    assert again.success
    assert "already printed" in again.message
    assert harness.printed(ticket) == ["A003"]


def test_concurrent_requests_print_one_at_a_time_in_order(harness, fake):
    tickets = [harness.ticket(f"A1{i:02d}") for i in range(6)]
    futures = [harness.printer.submit(t) for t in tickets]
    assert all(f.result(20).success for f in futures)
    assert harness.printed(*tickets) == [t.number for t in tickets]
    # And from many threads at once: each exactly once.
    more = [harness.ticket(f"A2{i:02d}") for i in range(6)]
    results = []
    threads = [threading.Thread(target=lambda t=t: results.append(harness.print(t))) for t in more]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(results) == 6
    assert all(r.success for r in results)
    assert sorted(harness.printed(*tickets, *more)) == sorted(t.number for t in tickets + more)


def test_paper_low_still_prints_and_is_reported(harness, fake):
    fake.set_paper("low")
    assert harness.print(harness.ticket("A004")).success
    assert harness.printer.state().paper == PaperState.LOW


def test_paper_out_keeps_the_ticket_and_prints_it_when_paper_is_back(harness, fake):
    harness.print(harness.ticket("A005"))  # connected, paper OK
    fake.set_paper("out")
    kept = harness.ticket("A006")
    outcome = harness.print(kept)
    assert not outcome.success
    assert outcome.error_code == "PAPER_OUT"
    assert "A006" in outcome.message
    assert outcome.kept_for_reprint
    state = harness.printer.state()
    assert state.paper == PaperState.OUT
    assert state.pending_numbers == ("A006",)
    assert [j.status for j in fake.jobs()] == ["printed"]  # nothing sent while out
    fake.set_paper("ok")
    wait_until(lambda: harness.printer.state().pending_numbers == (), message="kept ticket printed")
    assert harness.printed(kept, harness.ticket("A005")) == ["A005", "A006"]
    assert harness.print(kept).success  # asked again: already printed, not printed again
    assert len(fake.printed_jobs()) == 2


def test_paper_running_out_mid_job_keeps_the_ticket_and_prints_it_whole_later(harness, fake):
    harness.print(harness.ticket("A007"))
    fake.run_out_after(rows=100)  # the roll ends a little way into the next ticket
    ticket = harness.ticket("A008")
    outcome = harness.print(ticket)
    assert outcome.error_code == "PAPER_OUT"
    assert outcome.kept_for_reprint
    assert fake.jobs()[-1].status == "paper_ran_out"
    fake.set_paper("ok")
    wait_until(lambda: harness.printer.state().pending_numbers == (), message="reprinted")
    assert harness.printed(ticket, harness.ticket("A007")) == ["A007", "A008"]


def test_offline_printer_keeps_the_ticket_and_reconnects_by_itself(harness, fake):
    harness.print(harness.ticket("A009"))
    fake.set_offline()
    ticket = harness.ticket("A010")
    outcome = harness.print(ticket)
    assert outcome.error_code == "PRINTER_OFFLINE"
    assert outcome.kept_for_reprint
    assert "A010" in outcome.message
    wait_until(lambda: not harness.printer.state().online, message="reported offline")
    assert harness.printer.state().last_error
    fake.set_online()
    wait_until(lambda: harness.printer.state().pending_numbers == (), message="printed after reconnect")
    state = harness.printer.state()
    assert state.online
    assert state.tickets_printed == 2
    assert state.last_error == ""
    assert harness.printed(ticket, harness.ticket("A009")) == ["A009", "A010"]


def test_a_reboot_between_tickets_costs_nothing(harness, fake):
    harness.print(harness.ticket("A011"))
    fake.set_offline()  # the old connection dies with the reboot
    fake.set_online()
    assert harness.print(harness.ticket("A012")).success  # reconnected at once
    assert len(fake.printed_jobs()) == 2


def test_a_reboot_mid_job_prints_the_ticket_once_when_the_printer_is_back(harness, fake):
    harness.print(harness.ticket("A013"))
    fake.drop_next_job_after(4000, reboot_s=0.3)
    ticket = harness.ticket("A014")
    outcome = harness.print(ticket)
    assert outcome.error_code == "PRINTER_OFFLINE"
    assert outcome.kept_for_reprint
    wait_until(lambda: harness.printer.state().pending_numbers == (), message="printed after the reboot")
    assert [j.status for j in fake.jobs()] == ["printed", "incomplete", "printed"]
    assert harness.printed(ticket, harness.ticket("A013")) == ["A013", "A014"]


def test_without_auto_reprint_staff_print_kept_tickets(config, fake, tmp_path):
    settings = PrinterSettings(poll_interval_s=0.05, reconnect_initial_s=0.05, auto_reprint=False)
    h = Harness(config, fake, None, settings)
    try:
        fake.set_paper("out")
        kept = h.ticket("B001")
        assert h.print(kept).error_code == "PAPER_OUT"
        fake.set_paper("ok")
        wait_until(lambda: h.printer.state().paper == PaperState.OK, message="paper back")
        assert h.print(h.ticket("B002")).success  # new tickets do not wait for kept ones
        assert h.printer.state().pending_numbers == ("B001",)
        outcome = h.printer.reprint_pending().result(10)
        assert outcome.success
        assert "printed 1" in outcome.message
        assert h.printed(kept, h.ticket("B002")) == ["B002", "B001"]
        fake.set_paper("out")
        h.print(h.ticket("B003"))
        failed = h.printer.reprint_pending().result(10)
        assert not failed.success
        assert failed.error_code == "PAPER_OUT"
        assert "B003" in failed.message
    finally:
        h.printer.stop()


def test_kept_tickets_survive_a_restart_and_printed_ones_stay_printed(config, fake, tmp_path):
    spool = tmp_path / "spool.json"
    first = Harness(config, fake, spool)
    printed, kept = first.ticket("C001"), first.ticket("C002")
    assert first.print(printed).success
    fake.set_paper("out")
    assert first.print(kept).kept_for_reprint
    first.printer.stop()
    assert [t["number"] for t in json.loads(spool.read_text())["pending"]] == ["C002"]
    fake.set_paper("ok")
    second = Harness(config, fake, spool)
    try:
        wait_until(lambda: second.printer.state().pending_numbers == (), message="kept ticket printed")
        assert second.print(printed).success  # already printed before the restart
        assert first.printed(printed, kept) == ["C001", "C002"]
    finally:
        second.printer.stop()


def test_bad_tickets_are_refused_at_once_and_never_kept(harness, fake):
    for ticket in (harness.ticket(""), harness.ticket("A015", service_code="passport")):
        outcome = harness.print(ticket)
        assert outcome.error_code == "BAD_TICKET"
        assert not outcome.kept_for_reprint
    assert harness.printer.state().pending_numbers == ()
    assert fake.jobs() == []


def test_a_printer_that_never_answers_status_still_prints(config, fake):
    fake.set_silent(True)
    h = Harness(config, fake, None, backend=BackendConfig(port=fake.port, status_timeout_s=0.1))
    try:
        assert h.print(h.ticket("D001")).success
        assert h.printer.state().paper == PaperState.UNKNOWN
    finally:
        h.printer.stop()


def test_file_backend_writes_the_job(config, fake, tmp_path):
    out = tmp_path / "lp0"
    h = Harness(config, fake, None, backend=BackendConfig(kind="file", path=str(out)))
    try:
        ticket = h.ticket("E001")
        assert h.print(ticket).success
        h.printer.stop()
        assert out.read_bytes() == h.job_of(ticket)
    finally:
        h.printer.stop()


def test_a_corrupt_spool_is_set_aside(tmp_path):
    path = tmp_path / "spool.json"
    path.write_text("{not json")
    spool = TicketSpool(path)
    assert spool.pending() == []
    assert (tmp_path / "spool.json.corrupt").exists()


def test_serial_backend_over_a_pty(config, fake):
    """GIVEN a serial printer on a pseudo-terminal that answers 'paper low'
    THEN the job arrives byte for byte and the paper state is read from the line."""
    import os

    from service_desk_robot.sim.fake_printer.decoder import EscposParser

    master, slave = os.openpty()
    received = bytearray()
    stop = threading.Event()

    def printer_side():
        parser = EscposParser()
        while not stop.is_set():
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            received.extend(chunk)
            for command in parser.feed(chunk):
                if command.name == "status":
                    os.write(master, b"\x1e")

    thread = threading.Thread(target=printer_side, daemon=True)
    thread.start()
    backend = BackendConfig(kind="serial", device=os.ttyname(slave), baud=115200, status_timeout_s=0.5)
    h = Harness(config, fake, None, backend=backend)
    try:
        ticket = h.ticket("S001")
        assert h.print(ticket).success
        assert h.printer.state().paper == PaperState.LOW
        job = h.job_of(ticket)
        wait_until(lambda: job in bytes(received), message="job on the serial line")
    finally:
        h.printer.stop()
        stop.set()
        os.close(slave)
        os.close(master)


def test_usb_backend_without_pyusb_is_offline_with_a_clear_reason(config, fake):
    backend = BackendConfig(kind="usb", usb_vendor_id=0x04B8, usb_product_id=0x0202)
    h = Harness(config, fake, None, backend=backend)
    try:
        outcome = h.print(h.ticket("U001"))
        assert outcome.error_code == "PRINTER_OFFLINE"
        assert outcome.kept_for_reprint
        state = h.printer.state()
        assert not state.online
        assert state.hardware_id == "usb:04b8:0202"
        assert state.last_error
    finally:
        h.printer.stop()


@pytest.mark.parametrize(
    "fields",
    [{"kind": "bluetooth"}, {"kind": "serial"}, {"kind": "usb"}, {"kind": "file"}, {"port": 0}],
)
def test_incomplete_backend_config_is_refused(fields):
    from service_desk_robot.printer.errors import PrinterConfigError

    with pytest.raises(PrinterConfigError):
        BackendConfig(**fields)


def test_a_ticket_that_cannot_be_encoded_is_reported_and_does_not_block_the_queue(config, fake):
    """GIVEN a profile narrower than the paper setting (python-escpos refuses the image)
    THEN the reply is PRINTER_ERROR, the ticket is not kept, and nothing was sent."""
    profile = make_profile("default", 200)
    printer = TicketPrinter(
        config,
        PrinterConnection(BackendConfig(port=fake.port), profile),
        TicketSpool(None),
        profile,
        SETTINGS,
    )
    printer.start()
    try:
        ticket = TicketData(number="F001", service_code="civil_status", issued_at="2026-11-26T08:15:00")
        outcome = printer.submit(ticket).result(10)
        assert outcome.error_code == "PRINTER_ERROR"
        assert not outcome.kept_for_reprint
        assert printer.state().pending_numbers == ()
        assert fake.jobs() == []
    finally:
        printer.stop()


def test_reconnection_attempts_back_off_while_the_printer_is_off(config, fake):
    """GIVEN a printer that is off THEN attempts are spaced 0.05, 0.1, 0.2, 0.2 s apart (doubling,
    capped), not hammered every poll; and the first attempt after power-on succeeds."""
    import time

    attempts: list[float] = []

    class CountingConnection(PrinterConnection):
        def connect(self) -> None:
            if not self.connected:
                attempts.append(time.monotonic())
            super().connect()

    fake.set_offline()
    profile = make_profile("default", 576)
    settings = PrinterSettings(poll_interval_s=0.01, reconnect_initial_s=0.05, reconnect_max_s=0.2)
    printer = TicketPrinter(
        config,
        CountingConnection(BackendConfig(port=fake.port), profile),
        TicketSpool(None),
        profile,
        settings,
    )
    printer.start()
    try:
        wait_until(lambda: len(attempts) >= 5, message="five attempts")
        gaps = [b - a for a, b in itertools.pairwise(attempts[:5])]
        for gap, expected in zip(gaps, (0.05, 0.1, 0.2, 0.2), strict=True):
            assert gap >= expected * 0.9
        fake.set_online()
        wait_until(lambda: printer.state().online, message="back online")
    finally:
        printer.stop()


def test_an_unwritable_spool_keeps_printing_from_memory(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the spool folder should be")
    spool = TicketSpool(blocker / "spool.json")
    ticket = TicketData(number="G001", service_code="civil_status", issued_at="2026-11-26T08:15:00")
    spool.add(ticket)
    assert spool.save_error
    assert spool.is_pending(ticket.key)
    spool.mark_printed(ticket.key)
    assert spool.is_printed(ticket.key)
