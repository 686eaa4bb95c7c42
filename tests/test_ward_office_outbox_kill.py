"""Feedback survives the bridge's kill -9: queued while the server is down, delivered once.

GIVEN the bridge running as its own process (the `ward_office_bridge` console script)
      with no server, WHEN 100 feedback items are submitted, the bridge is killed -9 and
      started again, and only then the server comes up,
THEN every item reaches the server exactly once, in the order it was accepted.
The server is started with the CLI command, which this test also covers.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator

import pytest
from rclpy.node import Node
from support import VENV_BIN, free_tcp_port, stop_process, wait_until

from service_desk_interfaces.srv import SubmitFeedback
from service_desk_robot.robot.ward_office.outbox import Outbox

pytestmark = pytest.mark.ros
ITEMS = 100


def start_bridge(url: str, outbox_dir: str) -> subprocess.Popen:
    params = {
        "server_url": url,
        "outbox_dir": outbox_dir,
        "poll_rate_hz": 5.0,
        "outbox_retry_s": 0.2,
        "breaker_reset_s": 0.3,
        "feedback_wait_s": 0.0,
    }
    args = [f"{k}:={v}" for k, v in params.items()]
    command = [VENV_BIN / "ward_office_bridge", "--ros-args", *[x for a in args for x in ("-p", a)]]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        stop_process(process)


def test_feedback_survives_kill_9_and_arrives_exactly_once(ros_spin, tmp_path, processes):
    port = free_tcp_port()
    url = f"http://127.0.0.1:{port}"
    outbox_dir = str(tmp_path / "outbox")
    processes.append(start_bridge(url, outbox_dir))
    caller = Node("feedback_caller")
    ros_spin(caller)
    client = caller.create_client(SubmitFeedback, "/ward_office/feedback")
    wait_until(client.service_is_ready, timeout_s=20, message="the bridge's feedback service")

    replies = []
    for batch in range(0, ITEMS, 5):  # five visitors at a time, like several screens at once
        futures = [
            client.call_async(
                SubmitFeedback.Request(rating=1 + n % 5, comment=f"item {n:03d}", language="vi")
            )
            for n in range(batch, batch + 5)
        ]
        wait_until(lambda: all(f.done() for f in futures), timeout_s=30, message="feedback replies")  # noqa: B023
        replies += [f.result() for f in futures]
    assert all(r.success and r.queued for r in replies), [r.message for r in replies if not r.success]

    os.kill(processes[0].pid, signal.SIGKILL)
    processes[0].wait(timeout=10)
    box = Outbox(outbox_dir)
    assert box.counts().pending == ITEMS  # all accepted, none delivered: the server never ran
    box.close()
    processes.append(start_bridge(url, outbox_dir))

    # The server comes up last, as its own process started by the CLI (as in the lobby).
    store_path = tmp_path / "office.sqlite3"
    command = [VENV_BIN / "service-desk-robot", "ward-office-server", "--port", str(port), "--db", store_path]
    processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def received() -> list[str]:
        try:
            with sqlite3.connect(f"file:{store_path}?mode=ro", uri=True) as db:
                return [row[0] for row in db.execute("SELECT comment FROM feedback ORDER BY id")]
        except sqlite3.OperationalError:  # not created yet, or its schema not yet
            return []

    wait_until(lambda: len(received()) >= ITEMS, timeout_s=30, message="all feedback at the server")
    box = Outbox(outbox_dir)
    wait_until(lambda: box.counts().pending == 0, timeout_s=10, message="the outbox to drain")
    box.close()
    # Each exactly once, and in the order the bridge accepted them (its outbox's order).
    assert sorted(received()) == [f"item {n:03d}" for n in range(ITEMS)]
    with sqlite3.connect(os.path.join(outbox_dir, "outbox.sqlite3")) as db:
        accepted = [
            json.loads(row[0])["comment"] for row in db.execute("SELECT payload FROM items ORDER BY id")
        ]
    assert accepted == received()
    assert stop_process(processes.pop()) == 0  # the CLI server ends cleanly
