"""The dialogue node against small fake servers (ward office, printer, dispenser, speech).

GIVEN the dialogue node and fakes in one process WHEN a visitor engages and speaks THEN
the node calls the fakes, publishes one act per robot act and a latched state, and turns
missing servers into words.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from support import wait_until

pytestmark = pytest.mark.ros


class Fakes:
    """Fake ward office, printer, dispenser and speech servers in one node."""

    def __init__(self) -> None:
        from rclpy.action import ActionServer
        from rclpy.callback_groups import ReentrantCallbackGroup
        from rclpy.node import Node

        from service_desk_interfaces.action import Dispense, Say
        from service_desk_interfaces.msg import DialogueAct, DialogueState
        from service_desk_interfaces.srv import (
            ApplicationStatus,
            CheckInBooking,
            IssueTicket,
            PrintTicket,
            SubmitFeedback,
        )
        from service_desk_robot.nodes import qos

        self.node = Node("dialogue_fakes")
        group = ReentrantCallbackGroup()
        self.print_error = ""
        self.issue_requests: list[Any] = []
        self.printed: list[str] = []
        self.spoken: list[str] = []
        self.dispensed: list[tuple[str, int]] = []
        self.acts: list[Any] = []
        self.states: list[Any] = []
        self._lock = threading.Lock()
        n = self.node
        self.issue_srv = n.create_service(
            IssueTicket, "/ward_office/issue_ticket", self._issue, callback_group=group
        )
        n.create_service(CheckInBooking, "/ward_office/check_in", self._check_in, callback_group=group)
        n.create_service(
            ApplicationStatus, "/ward_office/application_status", self._status, callback_group=group
        )
        n.create_service(SubmitFeedback, "/ward_office/feedback", self._feedback, callback_group=group)
        n.create_service(PrintTicket, "/printer/print_ticket", self._print, callback_group=group)
        self._dispense_server = ActionServer(
            n, Dispense, "/dispenser/dispense", self._dispense, callback_group=group
        )
        self._say_server = ActionServer(n, Say, "/speech/say", self._say, callback_group=group)
        n.create_subscription(DialogueAct, "/dialogue/acts", self._act, qos.events(), callback_group=group)
        n.create_subscription(
            DialogueState, "/dialogue/state", self.states.append, qos.latched_state(), callback_group=group
        )

    def _act(self, msg: Any) -> None:
        with self._lock:
            self.acts.append(msg)

    def _issue(self, request, response):
        self.issue_requests.append(request)
        response.success = True
        t = response.ticket
        t.number, t.service_code, t.people_ahead, t.estimated_wait_min = "B012", request.service_code, 2, 8
        t.service_name_vi, t.service_name_en, t.counters = "Chứng thực", "Certification", ["3"]
        t.priority, t.language = request.priority, request.language
        return response

    def _check_in(self, request, response):
        response.success, response.error_code = False, "BOOKING_NOT_TODAY"
        return response

    def _status(self, request, response):
        response.success, response.status, response.due_date = True, "READY", "2026-12-01"
        response.procedure_name_vi, response.procedure_name_en = "khai sinh", "birth registration"
        return response

    def _feedback(self, request, response):
        response.success, response.queued = True, True
        return response

    def _print(self, request, response):
        self.printed.append(request.ticket.number)
        response.success = not self.print_error
        response.error_code = self.print_error
        response.kept_for_reprint = self.print_error == "PAPER_OUT"
        return response

    def _dispense(self, goal_handle):
        from service_desk_interfaces.action import Dispense

        goal = goal_handle.request
        self.dispensed.append((goal.item, goal.count))
        goal_handle.succeed()
        return Dispense.Result(success=True, dispensed=goal.count)

    def _say(self, goal_handle):
        from service_desk_interfaces.action import Say

        self.spoken.append(goal_handle.request.text)
        goal_handle.succeed()
        return Say.Result(success=True, spoken_duration_s=0.1)

    def acts_of(self, kind: int) -> list[Any]:
        with self._lock:
            return [a for a in self.acts if a.act == kind]


@pytest.fixture
def system(ros_spin):
    from rclpy.node import Node

    from service_desk_interfaces.msg import Utterance, VisitorEvent
    from service_desk_robot.nodes import qos
    from service_desk_robot.nodes.dialogue import DialogueNode

    fakes = Fakes()
    dialogue = DialogueNode()
    visitor = Node("dialogue_test_visitor")
    events = visitor.create_publisher(VisitorEvent, "/desk/visitor_events", qos.events())
    heard = visitor.create_publisher(Utterance, "/speech/heard", qos.events())
    ros_spin(fakes.node, dialogue, visitor)
    wait_until(lambda: not dialogue.missing_peers(), timeout_s=10, message="fake servers discovered")
    wait_until(
        lambda: events.get_subscription_count() and heard.get_subscription_count(), message="subscribers"
    )

    def engage(visitor_id: str) -> None:
        events.publish(VisitorEvent(event=VisitorEvent.ENGAGED, visitor_id=visitor_id))

    def say(text: str, **fields: Any) -> None:
        heard.publish(
            Utterance(text=text, final=fields.pop("final", True), confidence=1.0, source="chat", **fields)
        )

    # No teardown here: ros_spin stops its executor, then destroys the nodes (and servers).
    return fakes, dialogue, engage, say, visitor


def test_ticket_conversation_end_to_end(system):
    from service_desk_interfaces.msg import DialogueAct

    fakes, _dialogue, engage, say, _ = system
    engage("f1")
    wait_until(lambda: fakes.spoken, message="greeting spoken")
    assert "Xin chào" in fakes.spoken[0]
    say("lấy số chứng thực")
    [ticket] = wait_until(lambda: fakes.acts_of(DialogueAct.TICKET), message="ticket act")
    assert (ticket.ticket_number, ticket.printed, ticket.people_ahead) == ("B012", True, 2)
    assert fakes.issue_requests[0].service_code == "certification"
    assert fakes.issue_requests[0].idempotency_key
    assert fakes.printed == ["B012"]
    wait_until(lambda: any("bê, không, một, hai" in s for s in fakes.spoken), message="number spoken")
    wait_until(lambda: fakes.states and fakes.states[-1].ticket_number == "B012", message="state")
    assert fakes.states[-1].state == "LISTENING"


def test_paper_out_and_water(system):
    from service_desk_interfaces.msg import DialogueAct

    fakes, _, engage, say, _ = system
    fakes.print_error = "PAPER_OUT"
    engage("f2")
    say("I need a queue number for certified copies")
    [ticket] = wait_until(lambda: fakes.acts_of(DialogueAct.TICKET), message="ticket act")
    assert not ticket.printed
    errors = wait_until(lambda: fakes.acts_of(DialogueAct.ERROR), message="error act")
    assert errors[0].code == "PAPER_OUT"
    assert "B, zero, one, two" in errors[0].text
    wait_until(lambda: fakes.states[-1].ticket_not_printed, message="state shows the number")
    say("two candies please")
    [act] = wait_until(lambda: fakes.acts_of(DialogueAct.DISPENSE), message="dispense act")
    assert (act.item, act.count, act.ok) == ("candy", 2, True)
    assert fakes.dispensed == [("candy", 2)]


def test_touch_partial_and_pause(system):
    from std_srvs.srv import SetBool

    from service_desk_interfaces.msg import DialogueAct

    fakes, _, _engage, say, visitor = system
    say("lấy", final=False)  # a partial result is never acted on
    say("", intent="application_status", argument="HS-2024-000123", language="en")
    wait_until(lambda: any("is ready" in s for s in fakes.spoken), message="status answered")
    assert all(s.language == "en" for s in fakes.acts_of(DialogueAct.SAY))
    client = visitor.create_client(SetBool, "/dialogue/pause_greeting")
    assert client.wait_for_service(timeout_sec=5)
    future = client.call_async(SetBool.Request(data=True))
    wait_until(future.done, message="pause reply")
    assert future.result().success
    wait_until(lambda: fakes.states[-1].greeting_paused, message="paused state")


def test_missing_ward_office_becomes_words(system):
    from service_desk_interfaces.msg import DialogueAct

    fakes, dialogue, engage, say, _ = system
    fakes.node.destroy_service(fakes.issue_srv)
    wait_until(lambda: "ward office" in dialogue.missing_peers(), message="server gone")
    engage("f3")
    say("lay so chung thuc")
    [error] = wait_until(lambda: fakes.acts_of(DialogueAct.ERROR), message="error act")
    assert error.code == "SERVER_UNREACHABLE"
    assert "quầy số 1" in error.text
