"""`service-desk-robot chat`: talk to the robot by typing, as a visitor would speak.

Starts launch/chat.launch.xml with the launch runner (ward office server, fake printer,
dispenser emulator, and the robot's nodes without camera, microphone or screen; free
loopback ports, a temporary work folder), waits until the dialogue reports every peer
ready, then reads visitor lines from stdin: each line is one utterance on /speech/heard;
a line `/leave` ends the current visitor and the next line is a new visitor (a new
ENGAGED event, so the robot greets again). End of input: the visitor leaves, every
process is stopped, exit 0.

Output: the robot's acts from /dialogue/acts, one per line ("robot: ..."), or with
--json one JSON object per act and nothing else on stdout; launch output goes to
<work folder>/launch.log, errors to stderr. Exit 2 when the robot could not start.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

HELP = "type as a visitor and see what the robot says and does (simulated world, no camera or microphone)"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
LEAVE = "/leave"
BUSY_STATES = {"ISSUING_TICKET", "CHECKING_IN", "PRINTING", "LOOKING_UP", "SUBMITTING_FEEDBACK", "DISPENSING"}
QUIET_S = 0.6  # no new act for this long (and nothing outstanding): the robot has answered
FIRST_ACT_TIMEOUT_S = 10.0
ANSWER_TIMEOUT_S = 30.0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object per robot act, nothing else"
    )
    parser.add_argument(
        "--lang", choices=("vi", "en"), default=None, help="language of the greeting (default: config, vi)"
    )
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=90.0,
        metavar="S",
        help="seconds to wait for the robot to start",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="keep the world's files here (default: a temporary folder)",
    )


def _config_dir(work: Path, language: str | None) -> Path:
    """The package config, or a copy whose dialogue greets in the chosen language."""
    import shutil

    import yaml

    source = PACKAGE_ROOT / "config"
    if language is None:
        return source
    copy = work / "config"
    shutil.copytree(source, copy)
    params_file = copy / "dialogue.yaml"
    params = yaml.safe_load(params_file.read_text(encoding="utf-8"))
    params["dialogue"]["ros__parameters"]["default_language"] = language
    params_file.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    return copy


def format_act(act: Any, as_json: bool) -> str:
    """One line for a DialogueAct: JSON as the issue specifies, or readable text."""
    from service_desk_interfaces.msg import DialogueAct

    if act.act == DialogueAct.SAY:
        record: dict[str, Any] = {"act": "say", "text": act.text, "language": act.language}
        text = f"robot: {act.text}"
    elif act.act == DialogueAct.TICKET:
        record = {
            "act": "ticket",
            "number": act.ticket_number,
            "service": act.service_code,
            "people_ahead": act.people_ahead,
            "printed": act.printed,
        }
        printed = "printed" if act.printed else "NOT printed (kept for reprint)"
        text = f"[ticket {act.ticket_number}, {act.service_code}, {act.people_ahead} ahead, {printed}]"
    elif act.act == DialogueAct.DISPENSE:
        record = {"act": "dispense", "item": act.item, "count": act.count, "ok": act.ok}
        if act.code:
            record["code"] = act.code
        text = (
            f"[dispensed {act.item} x{act.count}]" if act.ok else f"[dispense {act.item} failed: {act.code}]"
        )
    else:
        record = {"act": "error", "code": act.code, "message": act.text}
        text = f"[error {act.code}]"
    return json.dumps(record, ensure_ascii=False) if as_json else text


class _Seat:
    """The typing visitor's side, in this process: publishes words, collects acts (threads:
    ROS callbacks append under a condition; the main thread waits on it)."""

    def __init__(self, context: Any, out: TextIO, as_json: bool, language: str | None) -> None:
        from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
        from rclpy.node import Node

        from service_desk_interfaces.msg import DialogueAct, DialogueState, Utterance, VisitorEvent
        from service_desk_robot.nodes import qos

        self._Utterance, self._VisitorEvent = Utterance, VisitorEvent
        self._ok_levels = (DiagnosticStatus.OK, DiagnosticStatus.WARN)
        self.node = Node("chat_seat", context=context)
        self._out, self._json, self._language = out, as_json, language or ""
        self._changed = threading.Condition()
        self._acts = 0
        self._last_act_s = 0.0
        self._state = ""
        self._dialogue_ready = False
        self._heard = self.node.create_publisher(Utterance, "/speech/heard", qos.events())
        self._events = self.node.create_publisher(VisitorEvent, "/desk/visitor_events", qos.events())
        self.node.create_subscription(DialogueAct, "/dialogue/acts", self._on_act, qos.events(200))
        self.node.create_subscription(DialogueState, "/dialogue/state", self._on_state, qos.latched_state())
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)

    def _on_act(self, msg: Any) -> None:
        with self._changed:
            print(format_act(msg, self._json), file=self._out, flush=True)
            self._acts += 1
            self._last_act_s = time.monotonic()
            self._changed.notify_all()

    def _on_state(self, msg: Any) -> None:
        with self._changed:
            self._state = msg.state
            self._changed.notify_all()

    def _on_diagnostics(self, msg: Any) -> None:
        for status in msg.status:
            if status.name == "dialogue: conversation":
                with self._changed:
                    # OK/WARN: the dialogue sees the ward office, printer, dispenser and speech.
                    self._dialogue_ready = status.level in self._ok_levels
                    self._changed.notify_all()

    def wait_ready(self, timeout_s: float) -> bool:
        with self._changed:
            return self._changed.wait_for(
                lambda: self._dialogue_ready and self._heard.get_subscription_count() > 0, timeout=timeout_s
            )

    def engage(self, visitor_id: str) -> None:
        self._act_and_settle(
            lambda: self._events.publish(
                self._VisitorEvent(event=self._VisitorEvent.ENGAGED, visitor_id=visitor_id)
            )
        )

    def leave(self, visitor_id: str) -> None:
        self._act_and_settle(
            lambda: self._events.publish(
                self._VisitorEvent(event=self._VisitorEvent.LEFT, visitor_id=visitor_id)
            )
        )

    def say(self, text: str) -> None:
        utterance = self._Utterance(
            text=text, language=self._language, confidence=1.0, final=True, source="chat"
        )
        self._act_and_settle(lambda: self._heard.publish(utterance))

    def _act_and_settle(self, publish) -> None:
        """Publish, then wait until the robot has answered: an act came, nothing is
        outstanding (no busy state) and no act for QUIET_S, or a timeout."""
        with self._changed:
            before = self._acts
        publish()
        start = time.monotonic()
        with self._changed:
            self._changed.wait_for(lambda: self._acts > before, timeout=FIRST_ACT_TIMEOUT_S)
            while time.monotonic() - start < ANSWER_TIMEOUT_S:
                quiet_for = time.monotonic() - self._last_act_s
                if self._state not in BUSY_STATES and quiet_for >= QUIET_S:
                    return
                self._changed.wait(timeout=max(0.05, QUIET_S - quiet_for))


def run(args: argparse.Namespace) -> int:
    import tempfile

    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from service_desk_robot.launching import LaunchError, LaunchRunner
    from service_desk_robot.ports import free_loopback_ports

    out = sys.stdout
    with tempfile.TemporaryDirectory(prefix="service-desk-robot-chat-") as temporary:
        work = (args.work_dir or Path(temporary)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        server, printer, printer_control, dispenser_control = free_loopback_ports(4)
        launch_log = (work / "launch.log").open("a", encoding="utf-8")
        log_lock = threading.Lock()

        def sink(line: str) -> None:
            with log_lock:
                launch_log.write(line + "\n")
                launch_log.flush()

        try:
            runner = LaunchRunner(
                PACKAGE_ROOT / "launch/chat.launch.xml",
                {
                    "work_dir": str(work),
                    "config_dir": str(_config_dir(work, args.lang)),
                    "server_port": str(server),
                    "printer_port": str(printer),
                    "printer_control_port": str(printer_control),
                    "dispenser_control_port": str(dispenser_control),
                },
                sink=sink,
            )
        except LaunchError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        context = rclpy.Context()
        rclpy.init(context=context)
        executor = SingleThreadedExecutor(context=context)
        seat = _Seat(context, out, args.json, args.lang)
        executor.add_node(seat.node)
        threading.Thread(target=executor.spin, daemon=True).start()
        runner.start()
        try:
            if not seat.wait_ready(args.ready_timeout):
                # The work folder may be temporary: show the end of the launch log now.
                tail = (work / "launch.log").read_text(encoding="utf-8").splitlines()[-20:]
                print(f"error: the robot was not ready within {args.ready_timeout:g} s", file=sys.stderr)
                print("\n".join(tail), file=sys.stderr)
                return 2
            _converse(seat, sys.stdin, out, args.json)
        except KeyboardInterrupt:
            pass
        finally:
            runner.stop()
            executor.shutdown(timeout_sec=2)
            seat.node.destroy_node()
            rclpy.try_shutdown(context=context)
            launch_log.close()
    return 0


def _converse(seat: _Seat, lines: TextIO, out: TextIO, as_json: bool) -> None:
    visitor_number = 1
    visitor: str | None = f"chat-{visitor_number}"
    seat.engage(visitor)
    prompt = not as_json and lines.isatty()
    while True:
        if prompt:
            print("you> ", end="", file=out, flush=True)
        line = lines.readline()
        if not line:
            break
        text = line.strip()
        if not text:
            continue
        if text == LEAVE:
            if visitor is not None:
                seat.leave(visitor)
                visitor = None
            continue
        if visitor is None:
            visitor_number += 1
            visitor = f"chat-{visitor_number}"
            seat.engage(visitor)
        seat.say(text)
    if visitor is not None:
        seat.leave(visitor)
