"""The ward office bridge node against a real server (HTTP on 127.0.0.1), healthy and faulty.

The node runs in-process on the session's ROS domain; the server is uvicorn in a thread
that the tests stop, restart and switch into fault modes (slow, 500s, malformed JSON,
wrong content type, 503). Whatever happens the node keeps running, shows the server
unreachable, answers SERVER_UNREACHABLE quickly, and recovers by itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.node import Node
from rclpy.parameter import Parameter
from support import free_tcp_port, wait_until

from service_desk_interfaces.msg import QueueState
from service_desk_interfaces.srv import ApplicationStatus, CheckInBooking, IssueTicket, SubmitFeedback
from service_desk_robot.nodes import qos
from service_desk_robot.nodes.ward_office_bridge import WardOfficeBridge
from service_desk_robot.sim.ward_office.config import load_config
from service_desk_robot.sim.ward_office.runner import ServerThread

pytestmark = pytest.mark.ros
ADMIN = {"Authorization": "Bearer admin-dev-token"}
READ_TIMEOUT_S = 0.5
FAIL_FAST_S = 0.3  # a call with the breaker open must answer well inside one read timeout


class Visitor(Node):
    """What the dialogue does: calls the bridge's services, watches /queue/state and /diagnostics."""

    def __init__(self) -> None:
        super().__init__("visitor_for_bridge_test")
        self.lock = threading.Lock()
        self.state: QueueState | None = None
        self.link_levels: list[bytes] = []
        self.create_subscription(QueueState, "/queue/state", self._on_state, qos.latched_state())
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)
        self.calls_to = {
            "ticket": self.create_client(IssueTicket, "/ward_office/issue_ticket"),
            "check_in": self.create_client(CheckInBooking, "/ward_office/check_in"),
            "application": self.create_client(ApplicationStatus, "/ward_office/application_status"),
            "feedback": self.create_client(SubmitFeedback, "/ward_office/feedback"),
        }

    def _on_state(self, msg: QueueState) -> None:
        with self.lock:
            self.state = msg

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        with self.lock:
            self.link_levels += [s.level for s in msg.status if s.name == "ward_office_bridge: server link"]

    def latest(self) -> QueueState | None:
        with self.lock:
            return self.state

    def call(self, name: str, request, timeout_s: float = 10.0):
        client = self.calls_to[name]
        wait_until(lambda: client.service_is_ready(), timeout_s=10, message=f"{client.srv_name}")
        future = client.call_async(request)
        wait_until(future.done, timeout_s=timeout_s, message=f"reply of {client.srv_name}")
        return future.result()

    def timed_ticket(self, service: str = "certification", **fields) -> tuple[IssueTicket.Response, float]:
        started = time.monotonic()
        reply = self.call("ticket", IssueTicket.Request(service_code=service, language="vi", **fields))
        return reply, time.monotonic() - started


@dataclass
class Rig:
    server: ServerThread
    bridge: WardOfficeBridge
    visitor: Visitor

    def reachable(self, expected: bool = True) -> QueueState | None:
        state = self.visitor.latest()
        return state if state is not None and state.server_reachable is expected else None

    def fault(self, mode: str, **fields) -> None:
        body = {"mode": mode, "duration_s": 60, **fields}
        httpx.post(
            f"{self.server.url}/api/v1/admin/fault", json=body, headers=ADMIN, timeout=5
        ).raise_for_status()

    def feedback_count(self) -> int:
        """Feedback the server stored today, asked over HTTP like a staff client would."""
        stats = httpx.get(f"{self.server.url}/api/v1/statistics/daily", headers=ADMIN, timeout=5)
        return stats.json()["feedback_count"]

    def wait_fail_fast(self) -> IssueTicket.Response:
        """Wait until requests fail fast (breaker open), and return such a reply."""

        def fast_failure():
            reply, elapsed = self.visitor.timed_ticket()
            return reply if not reply.success and elapsed < FAIL_FAST_S else None

        return wait_until(fast_failure, timeout_s=15, interval_s=0.05, message="requests to fail fast")


@pytest.fixture
def rig(ros_spin, tmp_path) -> Iterator[Rig]:
    server = ServerThread(load_config(), tmp_path / "office.sqlite3", free_tcp_port())
    bridge = WardOfficeBridge(
        parameter_overrides=[
            Parameter("server_url", value=server.url),
            Parameter("poll_rate_hz", value=10.0),
            Parameter("connect_timeout_s", value=0.3),
            Parameter("read_timeout_s", value=READ_TIMEOUT_S),
            Parameter("retry_backoff_s", value=0.05),
            Parameter("breaker_failure_threshold", value=2),
            Parameter("breaker_reset_s", value=0.5),
            Parameter("outbox_dir", value=str(tmp_path / "outbox")),
            Parameter("outbox_retry_s", value=0.2),
            # Generous: on a loaded machine an immediate delivery may take a while.
            Parameter("feedback_wait_s", value=3.0),
        ]
    )
    visitor = Visitor()
    ros_spin(bridge, visitor)
    yield Rig(server, bridge, visitor)
    server.stop()


def test_bridge_serves_queue_tickets_check_in_status_and_feedback(rig):
    rig.server.start()
    state = wait_until(rig.reachable, message="queue state from a reachable server")
    assert [s.letter for s in state.services] == ["A", "B", "C", "D", "E"]
    assert 0 <= state.data_age_s < 2

    first, _ = rig.visitor.timed_ticket("civil_status", citizen_id="079", priority=True)
    assert (first.success, first.error_code, first.ticket.number, first.ticket.priority) == (
        True,
        "",
        "A001",
        True,
    )
    assert first.ticket.counters == ["1", "2"]
    limit, _ = rig.visitor.timed_ticket("civil_status", citizen_id="079")
    unknown, _ = rig.visitor.timed_ticket("passports")
    empty, _ = rig.visitor.timed_ticket("")
    assert (limit.success, limit.error_code) == (False, "LIMIT_REACHED")
    assert unknown.error_code == empty.error_code == "UNKNOWN_SERVICE"
    civil = lambda: next(s for s in rig.visitor.latest().services if s.code == "civil_status")  # noqa: E731
    wait_until(lambda: civil().waiting == 1, message="the new ticket in /queue/state")

    today = rig.server.store.today().isoformat()
    booking = httpx.post(
        f"{rig.server.url}/api/v1/bookings",
        json={"service_code": "certification", "citizen_id": "001", "date": today},
        headers=ADMIN,
    ).json()["booking_code"]
    checked_in = rig.visitor.call(
        "check_in", CheckInBooking.Request(booking_code=booking.lower(), language="en")
    )
    twice = rig.visitor.call("check_in", CheckInBooking.Request(booking_code=booking, language="en"))
    garbage = rig.visitor.call("check_in", CheckInBooking.Request(booking_code="../../admin", language="en"))
    assert (checked_in.success, checked_in.ticket.booking_code, checked_in.ticket.channel) == (
        True,
        booking,
        "online",
    )
    assert twice.error_code == "ALREADY_CHECKED_IN"
    assert garbage.error_code == "UNKNOWN_CODE"

    status = rig.visitor.call("application", ApplicationStatus.Request(receipt_code="hs-2024-000125"))
    missing = rig.visitor.call("application", ApplicationStatus.Request(receipt_code="HS-0000-1"))
    assert (status.success, status.status, status.overdue) == (True, "PROCESSING", True)
    assert missing.error_code == "UNKNOWN_CODE"

    sent = rig.visitor.call("feedback", SubmitFeedback.Request(rating=5, comment="Tốt", language="vi"))
    bad = rig.visitor.call("feedback", SubmitFeedback.Request(rating=0))
    nowhere = rig.visitor.call("feedback", SubmitFeedback.Request(rating=3, service_code="passports"))
    babel = rig.visitor.call("feedback", SubmitFeedback.Request(rating=3, language="klingon-xx"))
    assert babel.error_code == "INVALID_LANGUAGE"
    assert (sent.success, sent.queued) == (True, False)
    assert (bad.success, bad.error_code) == (False, "INVALID_RATING")
    assert (nowhere.success, nowhere.error_code) == (False, "UNKNOWN_SERVICE")
    assert rig.feedback_count() == 1


def test_server_down_at_start_then_up(rig):
    state = wait_until(lambda: rig.reachable(False), message="an unreachable queue state")
    assert state.data_age_s == -1.0
    reply = rig.wait_fail_fast()
    assert reply.error_code == "SERVER_UNREACHABLE"
    wait_until(
        lambda: DiagnosticStatus.ERROR in rig.visitor.link_levels, timeout_s=5, message="an ERROR diagnostic"
    )
    queued = rig.visitor.call("feedback", SubmitFeedback.Request(rating=4, idempotency_key="fb-down"))
    assert (queued.success, queued.queued) == (True, True)

    rig.server.start()
    wait_until(rig.reachable, message="recovery without help")
    reply, _ = rig.visitor.timed_ticket()
    assert reply.success
    wait_until(lambda: rig.feedback_count() == 1, message="the queued feedback to arrive")


def test_server_dies_mid_run_and_returns(rig):
    rig.server.start()
    wait_until(lambda: (s := rig.reachable()) and s.services, message="a reachable queue state")
    rig.server.stop()
    state = wait_until(lambda: rig.reachable(False), message="the drop to show")
    assert len(state.services) == 5  # the last known queue stays, marked unreachable
    assert rig.wait_fail_fast().error_code == "SERVER_UNREACHABLE"
    wait_until(lambda: (s := rig.reachable(False)) and s.data_age_s > 0.5, message="the data to age")
    rig.server.start()
    wait_until(rig.reachable, message="recovery without help")
    reply, _ = rig.visitor.timed_ticket()
    assert reply.success


@pytest.mark.parametrize(
    ("mode", "extra"),
    [
        ("slow", {"delay_s": 2 * READ_TIMEOUT_S}),
        ("error", {}),
        ("garbage", {}),
        ("wrong_type", {}),
        ("down", {}),
    ],
)
def test_faulty_answers_mean_unreachable_until_they_stop(rig, mode, extra):
    rig.server.start()
    wait_until(rig.reachable, message="a reachable server")
    rig.fault(mode, **extra)
    wait_until(lambda: rig.reachable(False), message=f"'{mode}' to show as unreachable")
    assert rig.wait_fail_fast().error_code == "SERVER_UNREACHABLE"
    rig.fault("none")
    wait_until(rig.reachable, timeout_s=15, message="recovery without help")
    wait_until(lambda: rig.visitor.timed_ticket()[0].success, timeout_s=5, message="tickets again")


def test_unusable_outbox_refuses_feedback_but_the_node_keeps_serving(ros_spin, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with ServerThread(load_config(), tmp_path / "office.sqlite3", free_tcp_port()) as server:
        bridge = WardOfficeBridge(
            parameter_overrides=[
                Parameter("server_url", value=server.url),
                Parameter("poll_rate_hz", value=10.0),
                Parameter("outbox_dir", value=str(blocker / "outbox")),
            ]
        )
        visitor = Visitor()
        ros_spin(bridge, visitor)
        refused = visitor.call("feedback", SubmitFeedback.Request(rating=5))
        ticket, _ = visitor.timed_ticket()
    assert (refused.success, refused.error_code) == (False, "OUTBOX_FAILED")
    assert ticket.success
