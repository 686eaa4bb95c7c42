"""The screen node's wiring: ROS topics -> pages' state, taps -> /speech/heard, staff
actions -> ROS services (in-process, real HTTP to the node's web server)."""

from __future__ import annotations

import socket
import threading

import httpx
import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.node import Node
from rclpy.parameter import Parameter
from std_srvs.srv import SetBool, Trigger
from support import free_tcp_port, wait_until

from service_desk_interfaces.msg import DialogueAct, DialogueState, PrinterStatus, Utterance
from service_desk_robot.nodes import qos
from service_desk_robot.nodes.screen import ScreenNode
from service_desk_robot.robot.screen.intents import ScreenUtterance

pytestmark = pytest.mark.ros
TOKEN = "node-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Robot(Node):
    """Stands in for the dialogue, printer and dispenser: topics and staff services."""

    def __init__(self) -> None:
        super().__init__("fake_robot_for_screen")
        self.heard: list[Utterance] = []
        self.calls: list[str] = []
        self.lock = threading.Lock()
        self.state_pub = self.create_publisher(DialogueState, "/dialogue/state", qos.latched_state())
        self.acts = self.create_publisher(DialogueAct, "/dialogue/acts", qos.events())
        self.printer = self.create_publisher(PrinterStatus, "/printer/status", qos.latched_state())
        self.diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_subscription(Utterance, "/speech/heard", self._heard, qos.events())
        self.create_service(Trigger, "/printer/reprint_pending", self._reprint)
        self.create_service(SetBool, "/dialogue/pause_greeting", self._pause)

    def _heard(self, msg: Utterance) -> None:
        with self.lock:
            self.heard.append(msg)

    def _reprint(self, _request, response):
        self.calls.append("reprint")
        response.success, response.message = True, "1 ticket reprinted"
        return response

    def _pause(self, request, response):
        self.calls.append(f"pause={request.data}")
        response.success, response.message = True, "ok"
        return response


@pytest.fixture
def wired(ros_spin):
    port = free_tcp_port()
    screen = ScreenNode(
        parameter_overrides=[
            Parameter("port", value=port),
            Parameter("staff_token", value=TOKEN),
            Parameter("service_timeout_s", value=1.0),
        ]
    )
    robot = Robot()
    ros_spin(screen, robot)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5.0) as http:
        yield screen, robot, http


def test_topics_reach_both_views(wired):
    _, robot, http = wired
    robot.state_pub.publish(
        DialogueState(
            state="SERVING", visitor_id="f3", language="vi", ticket_number="A007", ticket_not_printed=True
        )
    )
    robot.acts.publish(DialogueAct(act=DialogueAct.SAY, text="Số của bạn là A007", language="vi"))
    robot.printer.publish(PrinterStatus(online=True, paper=PrinterStatus.PAPER_OUT, pending_numbers=["A007"]))
    robot.diagnostics.publish(
        DiagnosticArray(status=[DiagnosticStatus(level=DiagnosticStatus.ERROR, name="ticket_printer: paper")])
    )

    def visitor_ready():
        body = http.get("/api/visitor/state").json()
        return body if body["ticket"] and body["subtitles"] and body["subtitles"][-1]["seq"] else None

    visitor = wait_until(visitor_ready, 5.0, message="visitor view")
    assert visitor["ticket"] == {
        "number": "A007",
        "service_code": "",
        "people_ahead": None,
        "not_printed": True,
    }
    staff = wait_until(
        lambda: (
            (body := http.get("/api/staff/state", headers=AUTH).json())["printer"].get("known")
            and any(n["name"] == "ticket_printer: paper" for n in body["nodes"])
            and body
        ),
        5.0,
        message="staff view",
    )
    assert staff["printer"]["paper"] == "out"
    assert {n["name"]: n["level"] for n in staff["nodes"]}["ticket_printer: paper"] == "error"
    assert staff["counts"]["visitors"] == 1


def test_a_tap_is_published_as_a_screen_utterance(wired):
    _, robot, http = wired
    wait_until(lambda: robot.count_publishers("/speech/heard") >= 1, 5.0, message="screen publisher")
    response = http.post("/api/visitor/intent", json={"intent": "queue_number", "argument": "certification"})
    assert response.status_code == 202
    wait_until(lambda: robot.heard, 5.0, message="utterance")
    msg = robot.heard[0]
    assert (msg.source, msg.intent, msg.argument, msg.language) == (
        "screen",
        "queue_number",
        "certification",
        "vi",
    )
    assert msg.final
    assert msg.confidence == pytest.approx(1.0)
    assert msg.text


def test_a_follow_up_waits_for_the_dialogues_question(wired):
    screen, robot, _ = wired
    wait_until(lambda: robot.count_publishers("/speech/heard") >= 1, 5.0, message="screen publisher")
    comment = ScreenUtterance("", "", "Nhanh", "vi", after_state="ASKING_COMMENT")
    rating = ScreenUtterance("feedback", "5", "Góp ý", "vi")
    # The dialogue never asks: the comment is dropped (it would be misread as a request).
    screen.publish_utterances([rating, comment])
    wait_until(lambda: robot.heard, 5.0, message="rating")
    assert [m.intent for m in robot.heard] == ["feedback"]

    robot.state_pub.publish(DialogueState(state="ASKING_COMMENT"))
    screen.publish_utterances([comment])
    wait_until(lambda: len(robot.heard) == 2, 5.0, message="comment once asked")
    assert robot.heard[1].text == "Nhanh"


def test_staff_actions_call_ros_services(wired):
    _, robot, http = wired
    wait_until(
        lambda: http.post("/api/staff/actions/reprint", headers=AUTH).status_code == 200,
        5.0,
        message="reprint",
    )
    assert http.post("/api/staff/actions/pause_greeting", headers=AUTH).json()["success"] is True
    assert "pause=True" in robot.calls
    # Nobody serves /dispenser/refill here: a clear failure, not a hang.
    response = http.post("/api/staff/actions/refill_dispenser", headers=AUTH)
    assert response.status_code == 502
    assert response.json()["error_code"] == "SERVICE_UNAVAILABLE"
    assert http.post("/api/staff/actions/reprint", headers={"Authorization": "Bearer no"}).status_code == 401


def test_a_service_that_never_answers_times_out(wired):
    _, robot, http = wired
    release = threading.Event()

    def stuck(_request, response):
        release.wait(5.0)
        return response

    robot.create_service(Trigger, "/dispenser/refill", stuck)
    try:
        wait_until(
            lambda: (
                http.post("/api/staff/actions/refill_dispenser", headers=AUTH).json()["error_code"]
                == "TIMEOUT"
            ),
            10.0,
            message="timeout after service_timeout_s",
        )
    finally:
        release.set()


def test_screen_reports_its_own_health(wired):
    screen, _, http = wired
    wait_until(
        lambda: any(
            n["name"] == "screen: web server" and n["level"] == "ok"
            for n in http.get("/api/staff/state", headers=AUTH).json()["nodes"]
        ),
        5.0,
        message="screen diagnostics",
    )
    assert screen.get_parameter("address").value == "127.0.0.1"


def test_a_taken_port_is_a_diagnostic_error_not_a_crash(rclpy_context):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        screen = ScreenNode(parameter_overrides=[Parameter("port", value=taken.getsockname()[1])])
        health = screen._web_health()
        screen.destroy_node()
    assert health.level == DiagnosticStatus.ERROR
    assert "not serving" in health.message
