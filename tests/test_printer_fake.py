"""The fake printer (its control channel, status replies, saved jobs) and the two printer commands."""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
from datetime import datetime

import numpy as np
import pytest
from PIL import Image
from support import VENV_BIN, free_tcp_port, stop_process, wait_until

from service_desk_robot.commands import fake_printer as fake_printer_command
from service_desk_robot.commands import print_preview
from service_desk_robot.printer.escpos_job import make_profile
from service_desk_robot.printer.service import PrinterSettings, prepare_ticket
from service_desk_robot.printer.ticket import TicketData, load_ticket_config
from service_desk_robot.sim.fake_printer.server import FakePrinter, send_control


def status_byte(port: int, n: int = 4) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(bytes([0x10, 0x04, n]))
        return sock.recv(16)


def connects(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.fixture
def fake(tmp_path):
    printer = FakePrinter(free_tcp_port(), control_port=free_tcp_port(), out_dir=tmp_path).start()
    yield printer
    printer.stop()


def test_status_replies_follow_the_paper(fake):
    assert status_byte(fake.port) == b"\x12"
    assert send_control(fake.control_port, "paper low") == "ok"
    assert status_byte(fake.port) == b"\x1e"
    assert send_control(fake.control_port, "paper out") == "ok"
    assert status_byte(fake.port) == b"\x7e"
    assert status_byte(fake.port, 1) == b"\x1a"  # offline while out
    assert status_byte(fake.port, 2) == b"\x32"  # stopped by paper end
    assert json.loads(send_control(fake.control_port, "status").removeprefix("ok "))["paper"] == "out"


def test_offline_online_and_reboot(fake):
    assert send_control(fake.control_port, "offline") == "ok"
    assert not connects(fake.port)
    assert send_control(fake.control_port, "online") == "ok"
    assert connects(fake.port)
    assert send_control(fake.control_port, "reboot 0.2") == "ok"
    wait_until(lambda: connects(fake.port), timeout_s=5, message="back after reboot")


def test_silent_printer_answers_nothing(fake):
    fake.set_silent(True)
    with socket.create_connection(("127.0.0.1", fake.port), timeout=0.3) as sock:
        sock.sendall(b"\x10\x04\x04")
        with pytest.raises(TimeoutError):
            sock.recv(16)


@pytest.mark.parametrize("line", ["", "paper wet", "fly", "drop many", "silent maybe", "reboot 1 2"])
def test_bad_control_commands_are_refused(fake, line):
    assert send_control(fake.control_port, line).startswith("error")


def test_cli_fake_printer_saves_bytes_png_and_summary(repo, tmp_path):
    port, control = free_tcp_port(), free_tcp_port()
    out = tmp_path / "jobs"
    process = subprocess.Popen(
        [
            VENV_BIN / "service-desk-robot",
            "fake-printer",
            "--port",
            str(port),
            "--control-port",
            str(control),
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: connects(control), timeout_s=15, message="fake printer listening")
        config = load_ticket_config(repo / "config/ticket.yaml", repo / "config/services.yaml")
        ready = prepare_ticket(
            TicketData(number="E042", service_code="social_affairs", issued_at="2026-11-26T10:00:00"),
            config,
            make_profile("default", 576),
            PrinterSettings(),
            datetime(2026, 11, 26),
        )
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(ready.job)
        wait_until(lambda: (out / "job-0001.json").exists(), message="job saved")
        summary = json.loads((out / "job-0001.json").read_text())
        assert summary["status"] == "printed"
        assert summary["errors"] == []
        assert (out / "job-0001.bin").read_bytes() == ready.job
        printed = np.array(Image.open(out / "job-0001.png"))
        preview = np.array(ready.rendered.image)
        assert (printed[: preview.shape[0]] == preview).all()
        jobs = json.loads(send_control(control, "jobs").removeprefix("ok "))
        assert [j["status"] for j in jobs] == ["printed"]
    finally:
        assert stop_process(process) == 0


def test_cli_fake_printer_reports_a_busy_port(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        parser = argparse.ArgumentParser()
        fake_printer_command.configure(parser)
        args = parser.parse_args(
            ["--port", str(busy.getsockname()[1]), "--control-port", "0", "--out", str(tmp_path)]
        )
        assert fake_printer_command.run(args) == 1


@pytest.mark.parametrize(("lang", "width", "dots"), [("vi", "80", 576), ("en", "58", 384)])
def test_print_preview_writes_the_ticket_image(tmp_path, capsys, lang, width, dots):
    parser = argparse.ArgumentParser()
    print_preview.configure(parser)
    out = tmp_path / "ticket.png"
    assert print_preview.run(parser.parse_args(["--lang", lang, "--width", width, "--out", str(out)])) == 0
    image = Image.open(out)
    assert image.mode == "1"
    assert image.width == dots
    assert "ESC/POS job" in capsys.readouterr().out


def test_print_preview_rejects_an_unknown_service(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    print_preview.configure(parser)
    args = parser.parse_args(["--service", "passport", "--out", str(tmp_path / "x.png")])
    assert print_preview.run(args) == 1
    assert "unknown service" in capsys.readouterr().out
