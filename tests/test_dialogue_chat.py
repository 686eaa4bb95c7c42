"""The chat seat: `service-desk-robot chat` end to end, and how it prints acts."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from support import VENV_BIN, pid_alive, stop_process


def _act(**fields):
    from service_desk_interfaces.msg import DialogueAct

    return DialogueAct(**fields)


def test_acts_print_as_the_issue_specifies():
    from service_desk_interfaces.msg import DialogueAct
    from service_desk_robot.commands.chat import format_act

    say = _act(act=DialogueAct.SAY, text="Xin chào", language="vi")
    assert json.loads(format_act(say, True)) == {"act": "say", "text": "Xin chào", "language": "vi"}
    assert format_act(say, False) == "robot: Xin chào"
    ticket = _act(act=DialogueAct.TICKET, ticket_number="B001", service_code="certification", people_ahead=2)
    assert json.loads(format_act(ticket, True)) == {
        "act": "ticket",
        "number": "B001",
        "service": "certification",
        "people_ahead": 2,
        "printed": False,
    }
    dispense = _act(act=DialogueAct.DISPENSE, item="water", count=0, ok=False, code="EMPTY")
    assert json.loads(format_act(dispense, True))["code"] == "EMPTY"
    error = _act(act=DialogueAct.ERROR, code="PAPER_OUT", text="...")
    assert json.loads(format_act(error, True)) == {"act": "error", "code": "PAPER_OUT", "message": "..."}


def _processes_using(marker: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if marker in cmdline and int(entry.name) != os.getpid():
                pids.append(int(entry.name))
    return pids


@pytest.mark.ros
@pytest.mark.slow
def test_chat_json_session_in_english_ends_cleanly(tmp_path: Path):
    work = tmp_path / "chat-world"
    lines = "I need a number for certified copies\n/leave\ncan I have some candy\n"
    process = subprocess.Popen(
        [VENV_BIN / "service-desk-robot", "chat", "--json", "--lang", "en", "--work-dir", str(work)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = process.communicate(lines, timeout=150)
    finally:
        stop_process(process)
    assert process.returncode == 0, err[-2000:]
    acts = [json.loads(line) for line in out.splitlines()]  # nothing but JSON on stdout
    kinds = [a["act"] for a in acts]
    assert kinds[0] == "say"
    assert acts[0]["language"] == "en"
    assert acts[0]["text"].startswith("Hello")
    [ticket] = [a for a in acts if a["act"] == "ticket"]
    assert ticket["service"] == "certification"
    assert ticket["number"].startswith("B")
    assert ticket["printed"]
    assert any(a["act"] == "dispense" and a["item"] == "candy" for a in acts)
    assert sum(a["act"] == "say" and a["text"].startswith("Hello") for a in acts) == 2  # two visitors
    leftovers = [pid for pid in _processes_using(str(work)) if pid_alive(pid)]
    assert leftovers == []
