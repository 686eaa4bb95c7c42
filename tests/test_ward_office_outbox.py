"""The durable outbox: accepted at once, delivered in order, never lost, never doubled."""

from __future__ import annotations

import subprocess
import sys

import pytest

from service_desk_robot.robot.ward_office.errors import (
    AuthRejectedError,
    ConnectFailedError,
    OutboxError,
    RequestRejectedError,
)
from service_desk_robot.robot.ward_office.outbox import DELIVERED, PENDING, REJECTED, Outbox, OutboxDelivery


class FakeServer:
    """Stores each idempotency key once, like the ward office server; can be made to fail."""

    def __init__(self) -> None:
        self.stored: dict[str, dict] = {}
        self.calls: list[str] = []
        self.fail_with: Exception | None = None
        self.refuse: set[int] = set()

    def send(self, payload, key: str) -> None:
        self.calls.append(key)
        if self.fail_with is not None:
            raise self.fail_with
        if payload["rating"] in self.refuse:
            raise RequestRejectedError("refused", "INVALID_RATING", 422)
        self.stored.setdefault(key, dict(payload))


def feedback(n: int) -> dict:
    return {"rating": 1 + n % 5, "comment": f"comment {n}", "service_code": "", "language": "vi"}


def test_items_are_durable_and_keys_are_unique(tmp_path):
    outbox = Outbox(tmp_path / "box")
    first = outbox.put("feedback", feedback(1), "k-1")
    again = outbox.put("feedback", feedback(99), "k-1")
    outbox.put("feedback", feedback(2), "k-2")
    outbox.close()
    reopened = Outbox(tmp_path / "box")
    assert again == first
    assert [(i.idempotency_key, i.payload["comment"], i.state) for i in reopened.pending()] == [
        ("k-1", "comment 1", PENDING),
        ("k-2", "comment 2", PENDING),
    ]
    with pytest.raises(ValueError, match="idempotency key"):
        reopened.put("feedback", feedback(3), "")


def test_delivery_is_in_order_and_stops_at_the_first_unreachable(tmp_path):
    outbox, server = Outbox(tmp_path), FakeServer()
    for n in range(5):
        outbox.put("feedback", feedback(n), f"k-{n}")
    delivery = OutboxDelivery(outbox, {"feedback": server.send})
    server.fail_with = ConnectFailedError("down")
    report = delivery.deliver_pending()
    assert report.delivered == ()
    assert isinstance(report.stopped_by, ConnectFailedError)
    assert server.calls == ["k-0"]  # it did not skip ahead of the first item
    assert outbox.pending()[0].attempts == 1
    assert "SERVER_UNREACHABLE" in outbox.pending()[0].last_error
    server.fail_with = None
    report = delivery.deliver_pending()
    assert report.stopped_by is None
    assert list(server.stored) == [f"k-{n}" for n in range(5)]
    counts = outbox.counts()
    assert (counts.pending, counts.delivered, counts.oldest_pending_age_s) == (0, 5, 0.0)


def test_resending_after_a_crash_is_recognised_by_its_key(tmp_path):
    outbox, server = Outbox(tmp_path), FakeServer()
    item = outbox.put("feedback", feedback(1), "k-1")
    server.send(item.payload, item.idempotency_key)  # delivered, then the robot died unmarked
    OutboxDelivery(outbox, {"feedback": server.send}).deliver_pending()
    assert server.calls == ["k-1", "k-1"]
    assert len(server.stored) == 1
    assert outbox.get(item.id).state == DELIVERED


def test_refused_items_are_set_aside_and_auth_failures_wait(tmp_path):
    outbox, server = Outbox(tmp_path), FakeServer()
    server.refuse = {3}
    for n in (0, 2, 4):  # ratings 1, 3, 5
        outbox.put("feedback", feedback(n), f"k-{n}")
    outbox.put("unknown-kind", {}, "k-x")
    delivery = OutboxDelivery(outbox, {"feedback": server.send})
    report = delivery.deliver_pending()
    assert len(report.delivered) == 2
    assert len(report.rejected) == 2
    assert outbox.counts().rejected == 2
    assert [outbox.get(i).state for i in report.rejected] == [REJECTED, REJECTED]
    outbox.put("feedback", feedback(5), "k-5")
    server.fail_with = AuthRejectedError("bad token", "UNAUTHORIZED", 401)
    assert isinstance(delivery.deliver_pending().stopped_by, AuthRejectedError)
    assert outbox.counts().pending == 1


def test_unusable_folder_is_an_outbox_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OutboxError):
        Outbox(blocker / "box")


def test_accepted_items_survive_kill_9(tmp_path):
    """GIVEN a process that accepts items and is killed -9 right after, THEN all are kept."""
    script = (
        "import os, signal, sys\n"
        "from service_desk_robot.robot.ward_office.outbox import Outbox\n"
        "box = Outbox(sys.argv[1])\n"
        "for n in range(50):\n"
        "    box.put('feedback', {'rating': 5, 'n': n}, f'k-{n}')\n"
        "print('accepted', flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == -9
    assert result.stdout.strip() == "accepted"
    assert [i.payload["n"] for i in Outbox(tmp_path).pending()] == list(range(50))


def test_finished_items_are_pruned_after_their_keep_time(tmp_path):
    now = [1000.0]
    outbox = Outbox(tmp_path, clock=lambda: now[0])
    for n in range(3):
        outbox.put("feedback", feedback(n), f"k-{n}")
    OutboxDelivery(outbox, {"feedback": FakeServer().send}).deliver_pending(batch=2)
    now[0] += 100
    assert outbox.prune(older_than_s=200) == 0
    assert outbox.prune(older_than_s=50) == 2
    assert [i.idempotency_key for i in outbox.pending()] == ["k-2"]  # pending items are never pruned
