"""The emulated board's control channel and pty life cycle (the lobby simulation and
the node tests rely on both)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import VENV_BIN, stop_process, wait_until

from service_desk_robot.robot.dispenser.protocol import Command, Frame, FrameDecoder
from service_desk_robot.sim.dispenser_emulator import Board, ControlServer, DispenserEmulator, send_control


@pytest.fixture
def control(tmp_path):
    emulator = DispenserEmulator(["water", "candy"], [3, 4], item_time_s=0.01, link=tmp_path / "dev" / "tty")
    emulator.start()
    server = ControlServer(emulator).start()
    yield emulator, server.port
    server.close()
    emulator.close()


def test_status_is_json_and_faults_are_reflected(control):
    emulator, port = control
    assert send_control(port, "jam") == "ok"
    assert send_control(port, "door open") == "ok"
    assert send_control(port, "stock candy 9") == "ok"
    reply = send_control(port, "status")
    assert reply.startswith("ok ")
    status = json.loads(reply.removeprefix("ok "))
    assert status["fault"] == "JAM"
    assert status["door_open"] is True
    assert status["stock"] == {"water": 3, "candy": 9}
    assert status["port"] == str(emulator.link)
    assert send_control(port, "clear") == "ok"
    assert json.loads(send_control(port, "status")[3:])["fault"] == ""


@pytest.mark.parametrize(
    "command",
    ["fly", "stock coffee 3", "door ajar", "garble lots", "mute maybe", "stock water", ""],
)
def test_bad_commands_get_an_error_line_and_change_nothing(control, command):
    emulator, _ = control
    before = emulator.status()
    assert emulator.command(command).startswith("error")
    assert emulator.status() == before


def test_help_lists_every_command(control):
    _, port = control
    reply = send_control(port, "help")
    for name in ("jam", "clear", "mute", "garble", "noise", "split", "unplug", "plug", "empty", "door"):
        assert f"{name}:" in reply


def test_unplug_removes_the_link_and_it_returns_on_a_new_pty(control):
    emulator, port = control
    assert emulator.link.is_symlink()
    assert send_control(port, "unplug 0.2") == "ok"
    assert not emulator.link.exists()
    wait_until(lambda: emulator.link.is_symlink(), message="port returned")
    assert os.readlink(emulator.link) == emulator.slave_path
    assert emulator.plugged


def test_the_cli_prints_a_ready_line_and_ends_cleanly(tmp_path):
    process = subprocess.Popen(
        [
            VENV_BIN / "service-desk-robot",
            "dispenser-emulator",
            "--link",
            str(tmp_path / "tty"),
            "--stock",
            "tea=2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        ready = json.loads(process.stdout.readline())
        assert ready["event"] == "ready"
        assert json.loads(send_control(ready["control_port"], "status")[3:])["stock"] == {"tea": 2}
    finally:
        assert stop_process(process) == 0


def test_the_cli_reports_a_taken_control_port(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = subprocess.run(
            [
                VENV_BIN / "service-desk-robot",
                "dispenser-emulator",
                "--link",
                str(tmp_path / "tty"),
                "--control-port",
                str(taken.getsockname()[1]),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert "dispenser-emulator:" in result.stderr
    assert not (tmp_path / "tty").exists()  # nothing left behind


def test_the_cli_refuses_a_malformed_stock_option():
    result = subprocess.run(
        [VENV_BIN / "service-desk-robot", "dispenser-emulator", "--stock", "water"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "ITEM=COUNT" in result.stderr


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 0x7F), st.binary(max_size=12), st.integers(1, 0xFFFF))
def test_the_board_answers_any_request_with_one_reply_and_never_crashes(command, payload, seq):
    sent: list[bytes] = []
    board = Board(["water", "candy"], [5, 5], sent.append, item_time_s=0.0)
    board.handle(Frame(seq, command, payload))
    board.stop()
    replies = [
        f for f in FrameDecoder().feed(b"".join(sent)) if f.command not in (Command.PROGRESS, Command.DONE)
    ]
    assert len(replies) == 1
    assert replies[0].seq == seq
    assert not replies[0].is_request
