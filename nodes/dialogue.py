"""The `dialogue` node: the robot's brain, wiring the dialogue core to the other nodes.

The conversation itself is service_desk_robot.robot.dialogue (DialogueManager: events in,
effects out). This node turns ROS input into events and carries the effects out:

- in:  /desk/visitor_events (VisitorEvent: ENGAGED, LEFT), /speech/heard (Utterance, final
  only; `intent` set = touch input), /speech/speaking (latched Bool: barge-in), and, for
  diagnostics, /queue/state, /printer/status, /dispenser/status (latched);
- calls: /ward_office/{issue_ticket,check_in,application_status,feedback},
  /printer/print_ticket (services), /dispenser/dispense and /speech/say (actions); every
  call is asynchronous and has a deadline: a missing server or a reply that never comes
  becomes a failure result (SERVER_UNREACHABLE, PRINTER_OFFLINE, OFFLINE) the visitor hears
  about;
- out: /dialogue/state (DialogueState, latched), /dialogue/acts (DialogueAct, events: one
  per robot act), service /dialogue/pause_greeting (std_srvs/SetBool) for staff,
  diagnostics.

Sentences are spoken one at a time: a Say goal is sent when the previous one finished;
barge-in cancels the current one and drops the queue.

Threading: callbacks run on the multi-threaded executor (one reentrant group). Every
event goes through `_feed`, which holds one re-entrant lock while the manager handles it
and its effects are sent; an event raised while effects are executed (a server that is
not there) is queued and handled right after, in order. Nothing waits on another node.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rclpy.action import ActionClient
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.task import Future
from std_msgs.msg import Bool
from std_srvs.srv import SetBool

from service_desk_interfaces.action import Dispense, Say
from service_desk_interfaces.msg import (
    DialogueAct,
    DialogueState,
    DispenserStatus,
    PrinterStatus,
    QueueState,
    Ticket,
    Utterance,
    VisitorEvent,
)
from service_desk_interfaces.srv import (
    ApplicationStatus,
    CheckInBooking,
    IssueTicket,
    PrintTicket,
    SubmitFeedback,
)
from service_desk_robot.nodes import qos
from service_desk_robot.nodes.diagnostics import Diagnostics, Health
from service_desk_robot.nodes.params import Parameters, config_dir, yaml_defaults
from service_desk_robot.nodes.runtime import run_node
from service_desk_robot.robot.dialogue import messages as m
from service_desk_robot.robot.dialogue.config import DialogueConfig
from service_desk_robot.robot.dialogue.errors import DialogueError
from service_desk_robot.robot.dialogue.manager import DialogueManager

NAME = "dialogue"
ACT_KINDS = {"say": DialogueAct.SAY, "ticket": DialogueAct.TICKET, "dispense": DialogueAct.DISPENSE}


@dataclass
class _Call:
    """An outstanding request to another node, failed by the tick once past its deadline."""

    deadline_s: float
    on_timeout: m.Event


class DialogueNode(Node):
    def __init__(self, **node_options: Any) -> None:
        super().__init__(NAME, **node_options)
        param = Parameters(self, yaml_defaults(NAME)).get

        folder = param("config_dir", "folder of phrases/intents/procedures/services YAML ('' = package)")
        language = param("default_language", "language of the greeting: vi or en")
        idle_timeout_s = param("idle_timeout_s", "silence before the robot says goodbye, s")
        max_items = {
            "water": param("max_water_per_request", "most bottles of water handed out per request"),
            "candy": param("max_candy_per_request", "most candies handed out per request"),
        }
        paused = param("greeting_paused", "start with greeting new visitors paused")
        self._service_timeout_s = param("service_timeout_s", "deadline of a ward office or printer call, s")
        self._dispense_timeout_s = param("dispense_timeout_s", "deadline of a dispense goal, s")
        self._say_timeout_s = param("say_timeout_s", "deadline of one spoken sentence, s")
        tick_s = param("tick_period_s", "period of the idle and deadline check, s")

        config = DialogueConfig.load(
            Path(folder) if folder else config_dir(),
            default_language=language,
            idle_timeout_s=idle_timeout_s,
            max_items_per_request=max_items,
        )
        self._manager = DialogueManager(config, clock=time.monotonic)
        self._lock = threading.RLock()
        self._inbox: deque[m.Event] = deque()
        self._draining = False
        self._calls: dict[str, _Call] = {}
        self._say_queue: deque[m.Say] = deque()
        self._say_active: tuple[str, Any] | None = None  # (request id, goal handle or None)
        self._counts = {"utterances": 0, "visitors": 0, "errors": 0}
        self._last_error = ""
        self._queue_state: QueueState | None = None
        self._printer_status: PrinterStatus | None = None
        self._dispenser_status: DispenserStatus | None = None

        group = ReentrantCallbackGroup()
        # What visitors do arrives one message at a time, in order: two quick utterances
        # (speech, taps) must reach the dialogue in the order they were said.
        visitor_input = MutuallyExclusiveCallbackGroup()
        self._state_pub = self.create_publisher(DialogueState, "/dialogue/state", qos.latched_state())
        self._acts_pub = self.create_publisher(DialogueAct, "/dialogue/acts", qos.events())
        self._issue = self.create_client(IssueTicket, "/ward_office/issue_ticket", callback_group=group)
        self._check_in = self.create_client(CheckInBooking, "/ward_office/check_in", callback_group=group)
        self._status = self.create_client(
            ApplicationStatus, "/ward_office/application_status", callback_group=group
        )
        self._feedback = self.create_client(SubmitFeedback, "/ward_office/feedback", callback_group=group)
        self._print = self.create_client(PrintTicket, "/printer/print_ticket", callback_group=group)
        self._dispense = ActionClient(self, Dispense, "/dispenser/dispense", callback_group=group)
        self._say = ActionClient(self, Say, "/speech/say", callback_group=group)

        self.create_subscription(
            VisitorEvent, "/desk/visitor_events", self._on_visitor, qos.events(), callback_group=visitor_input
        )
        self.create_subscription(
            Utterance, "/speech/heard", self._on_heard, qos.events(), callback_group=visitor_input
        )
        self.create_subscription(
            Bool, "/speech/speaking", self._on_speaking, qos.latched_state(), callback_group=group
        )
        self.create_subscription(
            QueueState,
            "/queue/state",
            self._remember("_queue_state"),
            qos.latched_state(),
            callback_group=group,
        )
        self.create_subscription(
            PrinterStatus,
            "/printer/status",
            self._remember("_printer_status"),
            qos.latched_state(),
            callback_group=group,
        )
        self.create_subscription(
            DispenserStatus,
            "/dispenser/status",
            self._remember("_dispenser_status"),
            qos.latched_state(),
            callback_group=group,
        )
        self.create_service(SetBool, "/dialogue/pause_greeting", self._on_pause, callback_group=group)
        self.create_timer(tick_s, self._on_tick, callback_group=group)
        self._diagnostics = Diagnostics(self)
        self._diagnostics.add("conversation", self._health)
        self._diagnostics.add("devices", self._devices_health)

        self._feed(m.GreetingPaused(paused))
        self.get_logger().info(
            f"dialogue ready: {len(config.procedures)} procedures, {len(config.services)} services, "
            f"default language {language}, greeting {'paused' if paused else 'on'}"
        )

    # -- input ---------------------------------------------------------------------------

    def _on_visitor(self, msg: VisitorEvent) -> None:
        if msg.event == VisitorEvent.ENGAGED:
            with self._lock:
                self._counts["visitors"] += 1
            self._feed(m.VisitorEngaged(msg.visitor_id))
        elif msg.event == VisitorEvent.LEFT:
            self._feed(m.VisitorLeft(msg.visitor_id))

    def _on_heard(self, msg: Utterance) -> None:
        if not msg.final:
            return  # partial recognition: wait for the final words
        with self._lock:
            self._counts["utterances"] += 1
        self._feed(m.Heard(msg.text, msg.language, msg.intent, msg.argument))

    def _on_speaking(self, msg: Bool) -> None:
        self._feed(m.SpeakingChanged(msg.data))

    def _remember(self, attribute: str) -> Callable[[Any], None]:
        def store(msg: Any) -> None:
            setattr(self, attribute, msg)

        return store

    def _on_pause(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
        self._feed(m.GreetingPaused(request.data))
        response.success = True
        response.message = "greeting paused" if request.data else "greeting resumed"
        self.get_logger().info(response.message)
        return response

    def _on_tick(self) -> None:
        now = time.monotonic()
        with self._lock:
            expired = [rid for rid, call in self._calls.items() if call.deadline_s <= now]
            events = [self._calls.pop(rid).on_timeout for rid in expired]
        for event in events:
            self.get_logger().warning(f"no reply in time: {event}")
            if isinstance(event, m.SayFinished):
                self._say_done(event)
            else:
                self._feed(event)
        self._feed(m.Tick())

    # -- the core ------------------------------------------------------------------------

    def _feed(self, event: m.Event) -> None:
        with self._lock:
            self._inbox.append(event)
            if self._draining:
                return  # raised while effects run: handled right after, in order
            self._draining = True
            try:
                while self._inbox:
                    for effect in self._manager.handle(self._inbox.popleft()):
                        self._execute(effect)
            except DialogueError as error:
                self._inbox.clear()
                self._note_error(f"dialogue error: {error}")
            finally:
                self._draining = False

    def _execute(self, effect: m.Effect) -> None:
        if isinstance(effect, m.Say):
            self._say_queue.append(effect)
            self._speak_next()
        elif isinstance(effect, m.StopSpeaking):
            self._say_queue.clear()
            if self._say_active is not None:
                request_id, handle = self._say_active
                self._say_active = None
                self._calls.pop(request_id, None)
                if handle is not None:
                    handle.cancel_goal_async()
        elif isinstance(effect, m.IssueTicket):
            request = IssueTicket.Request(
                service_code=effect.service_code,
                priority=effect.priority,
                language=effect.language,
                idempotency_key=effect.request_id,
            )
            self._call(self._issue, request, effect.request_id, self._ticket_result, "SERVER_UNREACHABLE")
        elif isinstance(effect, m.CheckInBooking):
            request = CheckInBooking.Request(booking_code=effect.booking_code, language=effect.language)
            self._call(self._check_in, request, effect.request_id, self._ticket_result, "SERVER_UNREACHABLE")
        elif isinstance(effect, m.LookUpApplication):
            request = ApplicationStatus.Request(receipt_code=effect.receipt_code)
            self._call(self._status, request, effect.request_id, self._status_result, "SERVER_UNREACHABLE")
        elif isinstance(effect, m.SubmitFeedback):
            request = SubmitFeedback.Request(
                rating=effect.rating,
                comment=effect.comment,
                service_code=effect.service_code,
                language=effect.language,
                idempotency_key=effect.request_id,
            )
            self._call(
                self._feedback, request, effect.request_id, self._feedback_result, "SERVER_UNREACHABLE"
            )
        elif isinstance(effect, m.PrintTicket):
            request = PrintTicket.Request(ticket=_ticket_msg(effect.ticket))
            self._call(self._print, request, effect.request_id, self._print_result, "PRINTER_OFFLINE")
        elif isinstance(effect, m.Dispense):
            self._send_dispense(effect)
        elif isinstance(effect, m.PublishState):
            self._publish_state(effect.snapshot)
        elif isinstance(effect, m.PublishAct):
            self._publish_act(effect.act)

    # -- services ------------------------------------------------------------------------

    def _call(
        self,
        client: Any,
        request: Any,
        request_id: str,
        to_event: Callable[[str, Any], m.Event],
        unreachable: str,
    ) -> None:
        failure = to_event(request_id, _Failure(unreachable))
        if not client.service_is_ready():
            self._note_error(f"{client.srv_name} not available: {unreachable}")
            self._feed(failure)
            return
        self._calls[request_id] = _Call(time.monotonic() + self._service_timeout_s, failure)
        future = client.call_async(request)
        future.add_done_callback(lambda f: self._reply(request_id, f, to_event, unreachable))

    def _reply(
        self, request_id: str, future: Future, to_event: Callable[[str, Any], m.Event], unreachable: str
    ) -> None:
        with self._lock:
            if self._calls.pop(request_id, None) is None:
                return  # already failed by its deadline
        try:
            response = future.result()
        except Exception as error:  # noqa: BLE001 - any transport failure is "not reachable"
            self._note_error(f"call {request_id} failed: {error!r}")
            response = _Failure(unreachable)
        self._feed(to_event(request_id, response))

    @staticmethod
    def _ticket_result(request_id: str, r: Any) -> m.Event:
        ticket = _ticket_info(r.ticket) if r.success else None
        return m.TicketResult(request_id, r.success, r.error_code, ticket)

    @staticmethod
    def _print_result(request_id: str, r: Any) -> m.Event:
        return m.PrintResult(request_id, r.success, r.error_code, r.kept_for_reprint)

    @staticmethod
    def _status_result(request_id: str, r: Any) -> m.Event:
        return m.StatusResult(
            request_id,
            r.success,
            r.error_code,
            r.status,
            {"vi": r.procedure_name_vi, "en": r.procedure_name_en},
            r.due_date,
            r.overdue,
        )

    @staticmethod
    def _feedback_result(request_id: str, r: Any) -> m.Event:
        return m.FeedbackResult(request_id, r.success, r.queued, r.error_code)

    # -- actions -------------------------------------------------------------------------

    def _send_dispense(self, effect: m.Dispense) -> None:
        def failed(code: str, dispensed: int = 0) -> m.DispenseResult:
            return m.DispenseResult(effect.request_id, False, code, dispensed)

        if not self._dispense.server_is_ready():
            self._note_error("dispenser action server not available")
            self._feed(failed("OFFLINE"))
            return
        self._calls[effect.request_id] = _Call(time.monotonic() + self._dispense_timeout_s, failed("OFFLINE"))
        goal = Dispense.Goal(
            item=effect.item, count=effect.count, request_id=effect.request_id, visitor_id=effect.visitor_id
        )

        def accepted(future: Future) -> None:
            handle = future.result()
            if not handle.accepted:
                self._finish_call(effect.request_id, failed("OFFLINE"))
                return
            handle.get_result_async().add_done_callback(done)

        def done(future: Future) -> None:
            r = future.result().result
            self._finish_call(
                effect.request_id, m.DispenseResult(effect.request_id, r.success, r.error_code, r.dispensed)
            )

        self._dispense.send_goal_async(goal).add_done_callback(accepted)

    def _finish_call(self, request_id: str, event: m.Event) -> None:
        with self._lock:
            if self._calls.pop(request_id, None) is None:
                return
        self._feed(event)

    def _speak_next(self) -> None:
        """Send the next queued sentence when nothing is being spoken (lock held)."""
        if self._say_active is not None or not self._say_queue:
            return
        say = self._say_queue.popleft()
        if not self._say.server_is_ready():
            self._note_error("speech server not available: sentence shown, not spoken")
            self._feed(m.SayFinished(say.request_id, False, "UNAVAILABLE"))
            self._speak_next()
            return
        self._say_active = (say.request_id, None)
        self._calls[say.request_id] = _Call(
            time.monotonic() + self._say_timeout_s, m.SayFinished(say.request_id, False, "TIMEOUT")
        )

        def accepted(future: Future) -> None:
            handle = future.result()
            with self._lock:
                if self._say_active is not None and self._say_active[0] == say.request_id:
                    self._say_active = (say.request_id, handle)
                elif handle.accepted:
                    handle.cancel_goal_async()  # stopped by barge-in before it started
            if not handle.accepted:
                self._say_done(m.SayFinished(say.request_id, False, "REJECTED"))
                return
            handle.get_result_async().add_done_callback(done)

        def done(future: Future) -> None:
            r = future.result().result
            self._say_done(m.SayFinished(say.request_id, r.success, r.error_code))

        self._say.send_goal_async(Say.Goal(text=say.text, language=say.language)).add_done_callback(accepted)

    def _say_done(self, event: m.SayFinished) -> None:
        with self._lock:
            self._calls.pop(event.request_id, None)
            if self._say_active is not None and self._say_active[0] == event.request_id:
                self._say_active = None
            self._feed(event)
            self._speak_next()

    # -- output --------------------------------------------------------------------------

    def _publish_state(self, s: m.DialogueSnapshot) -> None:
        msg = DialogueState(
            state=s.state,
            visitor_id=s.visitor_id,
            language=s.language,
            last_robot_sentence=s.last_robot_sentence,
            last_action=s.last_action,
            ticket_number=s.ticket_number,
            ticket_not_printed=s.ticket_not_printed,
            greeting_paused=s.greeting_paused,
            options=list(s.options),
        )
        msg.header.stamp = self.get_clock().now().to_msg()
        self._state_pub.publish(msg)
        self.get_logger().info(f"state {s.state} visitor={s.visitor_id or '-'} {s.last_action}")

    def _publish_act(self, act: m.Act) -> None:
        msg = DialogueAct(
            act=ACT_KINDS.get(act.kind, DialogueAct.ERROR),
            visitor_id=act.visitor_id,
            text=act.text,
            language=act.language,
            ticket_number=act.ticket_number,
            service_code=act.service_code,
            people_ahead=act.people_ahead,
            printed=act.printed,
            item=act.item,
            count=act.count,
            ok=act.ok,
            code=act.code,
        )
        msg.header.stamp = self.get_clock().now().to_msg()
        self._acts_pub.publish(msg)
        if act.kind == "error":
            self._note_error(f"{act.code}: {act.text}")

    # -- health --------------------------------------------------------------------------

    def _note_error(self, message: str) -> None:
        with self._lock:
            self._counts["errors"] += 1
            self._last_error = message
        self.get_logger().warning(message)

    def _health(self) -> Health:
        with self._lock:  # the manager is not thread-safe: read it like the feeders do
            snapshot = self._manager.snapshot
            counts = dict(self._counts)
        values = {
            "state": snapshot.state,
            "visitor": snapshot.visitor_id,
            "language": snapshot.language,
            "greeting_paused": snapshot.greeting_paused,
            **counts,
            "last_error": self._last_error,
        }
        missing = self.missing_peers()
        if missing:
            return Health.error(f"not available: {', '.join(missing)}", **values)
        if snapshot.greeting_paused:
            return Health.warn("greeting paused by staff", **values)
        return Health.ok(f"{snapshot.state.lower()}", **values)

    def missing_peers(self) -> list[str]:
        """The nodes this one calls that are not there (yet): named for staff and tests."""
        return [
            name
            for name, ready in (
                ("ward office", self._issue.service_is_ready()),
                ("printer", self._print.service_is_ready()),
                ("dispenser", self._dispense.server_is_ready()),
                ("speech", self._say.server_is_ready()),
            )
            if not ready
        ]

    def _devices_health(self) -> Health:
        problems = []
        if self._queue_state is not None and not self._queue_state.server_reachable:
            problems.append("ward office server unreachable")
        if self._printer_status is not None and self._printer_status.paper == PrinterStatus.PAPER_OUT:
            problems.append("printer out of paper")
        if self._dispenser_status is not None and self._dispenser_status.fault:
            problems.append(f"dispenser fault {self._dispenser_status.fault}")
        if problems:
            return Health.warn("; ".join(problems))
        return Health.ok("devices report no fault")


@dataclass(frozen=True)
class _Failure:
    """Stands in for a reply that never came: every field a result converter reads."""

    error_code: str
    success: bool = False
    kept_for_reprint: bool = False
    queued: bool = False
    status: str = ""
    procedure_name_vi: str = ""
    procedure_name_en: str = ""
    due_date: str = ""
    overdue: bool = False
    ticket: None = None


def _ticket_info(t: Ticket) -> m.TicketInfo:
    return m.TicketInfo(
        number=t.number,
        service_code=t.service_code,
        service_name={"vi": t.service_name_vi, "en": t.service_name_en},
        people_ahead=t.people_ahead,
        estimated_wait_min=t.estimated_wait_min,
        counters=tuple(t.counters),
        issued_at=t.issued_at,
        booking_code=t.booking_code,
        priority=t.priority,
        channel=t.channel,
        language=t.language,
    )


def _ticket_msg(t: m.TicketInfo) -> Ticket:
    return Ticket(
        number=t.number,
        service_code=t.service_code,
        service_name_vi=t.service_name.get("vi", ""),
        service_name_en=t.service_name.get("en", ""),
        people_ahead=t.people_ahead,
        estimated_wait_min=t.estimated_wait_min,
        counters=list(t.counters),
        issued_at=t.issued_at,
        booking_code=t.booking_code,
        priority=t.priority,
        channel=t.channel,
        language=t.language,
    )


def main() -> int:
    return run_node(DialogueNode)


if __name__ == "__main__":
    raise SystemExit(main())
