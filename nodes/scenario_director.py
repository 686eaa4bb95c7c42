"""The lobby simulation's director: plays a scenario against the running robot.

It moves visitors in the rendered lobby (/sim/lobby_commands), speaks their lines when the
robot has engaged them and finished talking (/speech/heard, source "sim"), switches faults
through injected callables, records every robot act (/dialogue/acts) and judges each
visitor's expectations (sim/scenario.py).

Threading: rclpy callbacks only append to guarded state and notify a condition; the
scenario itself runs in the caller's thread (`play`), waiting on that condition.
Visitors are played one after another: an arrival time is "not before".
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from rclpy.node import Node
from std_msgs.msg import Bool, String

from service_desk_interfaces.msg import (
    DialogueAct,
    DialogueState,
    DispenserStatus,
    PrinterStatus,
    QueueState,
    Utterance,
    VisitorEvent,
)
from service_desk_robot.nodes import qos
from service_desk_robot.sim.scenario import Act, Fault, Scenario, Visitor, VisitorRecord, judge

ACT_KIND = {
    DialogueAct.SAY: "say",
    DialogueAct.TICKET: "ticket",
    DialogueAct.DISPENSE: "dispense",
    DialogueAct.ERROR: "error",
}


@dataclass(frozen=True)
class DirectorTiming:
    """Wall-clock limits; scenario time runs `time_scale` times faster than the wall."""

    time_scale: float = 1.0
    quiet_s: float = 1.2  # robot silent this long (and not speaking): its turn is over
    engage_timeout_s: float = 40.0
    response_timeout_s: float = 30.0
    leave_timeout_s: float = 20.0
    goodbye_timeout_s: float = 3.0
    recovery_timeout_s: float = 60.0


class ScenarioDirector(Node):
    def __init__(
        self,
        scenario: Scenario,
        *,
        faults: Callable[[Fault], str],
        fill_line: Callable[[Visitor, str], str],
        transcript: Callable[[str], None],
        timing: DirectorTiming = DirectorTiming(),
        before_arrival: Callable[[Visitor], None] = lambda visitor: None,
    ) -> None:
        super().__init__("scenario_director")
        self.scenario = scenario
        self._faults = faults
        self._fill_line = fill_line
        self._before_arrival = before_arrival
        self._ready: set[str] = set()
        self._say = transcript
        self._timing = timing
        self._changed = threading.Condition()
        self._acts: list[tuple[float, DialogueAct]] = []
        self._events: list[tuple[float, VisitorEvent]] = []
        self._speaking = False
        self._collected = 0  # acts already attributed to a visitor
        self._server_reachable = False
        self._started = time.monotonic()
        self._commands = self.create_publisher(String, "/sim/lobby_commands", qos.events())
        self._heard = self.create_publisher(Utterance, "/speech/heard", qos.events())
        self.create_subscription(DialogueAct, "/dialogue/acts", self._on_act, qos.events(200))
        self.create_subscription(VisitorEvent, "/desk/visitor_events", self._on_event, qos.events())
        self.create_subscription(Bool, "/speech/speaking", self._on_speaking, qos.latched_state())
        latched = qos.latched_state()
        self.create_subscription(QueueState, "/queue/state", self._on_queue, latched)
        self.create_subscription(
            PrinterStatus, "/printer/status", self._ready_when("ticket printer", lambda m: m.online), latched
        )
        self.create_subscription(
            DispenserStatus, "/dispenser/status", self._ready_when("dispenser", lambda m: m.online), latched
        )
        self.create_subscription(
            DialogueState, "/dialogue/state", self._ready_when("dialogue", lambda m: True), latched
        )

    def _on_queue(self, msg: QueueState) -> None:
        with self._changed:
            self._server_reachable = msg.server_reachable
            if msg.server_reachable:
                self._ready.add("ward office server")
            self._changed.notify_all()

    def _wait_server_back(self) -> None:
        """Wait until the robot's own view of the ward office server says reachable again."""
        since = time.monotonic()
        with self._changed:
            back = self._changed.wait_for(
                lambda: self._server_reachable, timeout=self._timing.recovery_timeout_s
            )
        took = time.monotonic() - since
        self._log(
            f"robot sees the ward office server again after {took:.1f} s"
            if back
            else f"robot still sees no ward office server after {took:.0f} s"
        )

    def _ready_when(self, name: str, test: Callable[[object], bool]) -> Callable[[object], None]:
        def callback(msg: object) -> None:
            with self._changed:
                if test(msg):
                    self._ready.add(name)
                self._changed.notify_all()

        return callback

    def wait_ready(self, timeout_s: float) -> list[str]:
        """Wait until every robot capability reports ready; return those that did not."""
        expected = {"ward office server", "ticket printer", "dispenser", "dialogue"}
        with self._changed:
            self._changed.wait_for(lambda: expected <= self._ready, timeout=timeout_s)
            return sorted(expected - self._ready)

    # --- callbacks: copy into guarded state ------------------------------------------------
    def _on_act(self, msg: DialogueAct) -> None:
        seen_at = time.monotonic()
        act = self._to_act(msg)
        with self._changed:
            self._acts.append((seen_at, act))
            self._changed.notify_all()
        self._log(_describe(act))

    def _on_event(self, msg: VisitorEvent) -> None:
        with self._changed:
            self._events.append((time.monotonic(), msg))
            self._changed.notify_all()

    def _on_speaking(self, msg: Bool) -> None:
        with self._changed:
            self._speaking = msg.data
            self._changed.notify_all()

    # --- the scenario ----------------------------------------------------------------------
    def scenario_time(self) -> float:
        return (time.monotonic() - self._started) * self._timing.time_scale

    def play(self) -> list[VisitorRecord]:
        self._started = time.monotonic()
        self._command({"op": "clear"})
        return [self._play_visitor(visitor, n) for n, visitor in enumerate(self.scenario.visitors, 1)]

    def _log(self, text: str) -> None:
        self._say(f"[{self.scenario_time():7.1f} s] {text}")

    def _command(self, command: dict) -> None:
        self._commands.publish(String(data=json.dumps(command)))

    def _switch(self, faults: tuple[Fault, ...]) -> None:
        for fault in faults:
            if fault.name == "ward_office_back":
                self._wait_server_back()
                continue
            self._log(
                f"FAULT {fault.name}{f' {fault.duration_s:g} s' if fault.duration_s else ''}: "
                f"{self._faults(fault)}"
            )

    def _walk_s(self, visitor: Visitor) -> float:
        length = sum(math.dist(a, b) for a, b in zip(visitor.path, visitor.path[1:], strict=False))
        return length / self.scenario.walking_speed_mps / self._timing.time_scale

    def _play_visitor(self, visitor: Visitor, number: int) -> VisitorRecord:
        record = VisitorRecord(visitor)
        delay = (visitor.arrive_at_s - self.scenario_time()) / self._timing.time_scale
        if delay > 0:
            time.sleep(delay)  # scenario pacing, not a test wait
        self._switch(visitor.on_arrival)
        self._before_arrival(visitor)
        progress = f"[{number}/{len(self.scenario.visitors)}]"
        self._log(f"{progress} {visitor.id} arrives ({visitor.language}, face {visitor.face})")
        since = time.monotonic()
        self._command(
            {
                "op": "arrive",
                "visitor": visitor.id,
                "face": visitor.face,
                "path": [list(p) for p in visitor.path],
                "speed_mps": self.scenario.walking_speed_mps,
            }
        )
        if visitor.talks:
            self._converse(visitor, record, since)
        else:
            engaged = self._wait_event(VisitorEvent.ENGAGED, since, self._walk_s(visitor) + 2.0)
            record.greeted = engaged is not None
        self._command({"op": "leave", "visitor": visitor.id})
        left_since = time.monotonic()
        if record.face_id and (
            self._wait_event(
                VisitorEvent.LEFT, left_since, self._timing.leave_timeout_s, face_id=record.face_id
            )
            is None
        ):
            record.note = "robot never saw the visitor leave"
        elif record.face_id:
            self._wait_act(left_since, self._timing.goodbye_timeout_s)  # the goodbye, if any
        self._wait_quiet(left_since)
        self._collect(record)
        self._log(f"{visitor.id} has left")
        self._switch(visitor.on_leave)
        record.verdicts = judge(visitor, record.acts, record.greeted)
        for verdict in record.verdicts:
            self._log(f"  {'PASS' if verdict.passed else 'FAIL'} {verdict.expectation} ({verdict.detail})")
        return record

    def _converse(self, visitor: Visitor, record: VisitorRecord, since: float) -> None:
        engaged = self._wait_event(VisitorEvent.ENGAGED, since, self._timing.engage_timeout_s)
        if engaged is None:
            record.note = "never engaged"
            self._log(f"{visitor.id} was not engaged within {self._timing.engage_timeout_s:g} s")
            return
        record.greeted = True
        record.face_id = engaged.visitor_id
        stopped_at = since + self._walk_s(visitor)
        first = self._wait_act(since)
        if first is not None:
            record.greet_latency_s = max(0.0, first - stopped_at)
        self._wait_quiet(since)
        self._collect(record)
        for template in visitor.says:
            line = self._fill_line(visitor, template)
            self._log(f"{visitor.id}: {line}")
            spoken = time.monotonic()
            self._heard.publish(
                Utterance(text=line, language=visitor.language, confidence=1.0, final=True, source="sim")
            )
            first = self._wait_act(spoken, self._timing.response_timeout_s)
            if first is None:
                self._log(
                    f"{visitor.id}: the robot did not answer within {self._timing.response_timeout_s:g} s"
                )
                continue
            record.response_latencies_s.append(first - spoken)
            self._wait_quiet(spoken)
            self._collect(record)

    @staticmethod
    def _to_act(msg: DialogueAct) -> Act:
        return Act(
            ACT_KIND.get(msg.act, "error"),
            msg.visitor_id,
            text=msg.text,
            language=msg.language,
            ticket_number=msg.ticket_number,
            service_code=msg.service_code,
            people_ahead=msg.people_ahead,
            printed=msg.printed,
            item=msg.item,
            count=msg.count,
            ok=msg.ok,
            code=msg.code,
        )

    def _collect(self, record: VisitorRecord) -> None:
        """Attribute every act not yet collected to the visitor at the desk."""
        with self._changed:
            fresh, self._collected = self._acts[self._collected :], len(self._acts)
        record.acts.extend(act for _, act in fresh)

    # --- waiting on the robot --------------------------------------------------------------
    def _wait_event(
        self, kind: int, since: float, timeout_s: float, face_id: str = ""
    ) -> VisitorEvent | None:
        def find():
            for seen_at, event in self._events:
                if seen_at >= since and event.event == kind and (not face_id or event.visitor_id == face_id):
                    return event
            return None

        with self._changed:
            self._changed.wait_for(lambda: find() is not None, timeout=timeout_s)
            return find()

    def _wait_act(self, since: float, timeout_s: float | None = None) -> float | None:
        """Wall time of the first act after `since`, or None."""
        timeout_s = self._timing.response_timeout_s if timeout_s is None else timeout_s

        def first():
            return next((t for t, _ in self._acts if t >= since), None)

        with self._changed:
            self._changed.wait_for(lambda: first() is not None, timeout=timeout_s)
            return first()

    def _wait_quiet(self, since: float) -> float:
        """Wait until the robot has not acted for quiet_s and is not speaking; return that time."""
        deadline = time.monotonic() + self._timing.response_timeout_s
        with self._changed:
            while time.monotonic() < deadline:
                last = max([since, *(t for t, _ in self._acts if t >= since)])
                quiet_for = time.monotonic() - last
                if not self._speaking and quiet_for >= self._timing.quiet_s:
                    return time.monotonic()
                self._changed.wait(timeout=max(0.05, self._timing.quiet_s - quiet_for))
        return time.monotonic()


def _describe(act: Act) -> str:
    if act.kind == "say":
        return f"robot ({act.language}): {act.text}"
    if act.kind == "ticket":
        state = "printed" if act.printed else "NOT printed (kept for reprint)"
        return f"TICKET {act.ticket_number} {act.service_code}, {act.people_ahead} ahead, {state}"
    if act.kind == "dispense":
        return f"DISPENSE {act.item} x{act.count}: {'ok' if act.ok else 'failed ' + act.code}"
    return f"ERROR {act.code}: {act.text}"
