"""The screen node: serves the robot's touchscreen page and the staff console.

Wiring only (the pages, API, token check and state live in robot/screen):
- subscribes /dialogue/state, /dialogue/acts (SAY -> subtitles, TICKET, DISPENSE, ERROR),
  /queue/state, /printer/status, /dispenser/status and /diagnostics, and feeds each
  message to `ScreenState`;
- a tap on the visitor screen is published on /speech/heard as an Utterance with
  source "screen" and `intent`/`argument` set (the dialogue takes it directly);
- staff actions call /printer/reprint_pending, /dispenser/refill (std_srvs/Trigger) and
  /dialogue/pause_greeting (std_srvs/SetBool).

Threading: ROS callbacks run on the executor and only hand converted data to
`ScreenState` (which has its own lock). The web server runs in its own thread
(`ScreenServer`); its requests publish (thread-safe) and call services asynchronously,
waiting on a `threading.Event` with a timeout while the executor completes the future.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.client import Client
from rclpy.node import Node
from std_srvs.srv import SetBool, Trigger

from service_desk_interfaces.msg import (
    DialogueAct,
    DialogueState,
    DispenserStatus,
    PrinterStatus,
    QueueState,
    Utterance,
)
from service_desk_robot.nodes import qos
from service_desk_robot.nodes.diagnostics import Diagnostics, Health
from service_desk_robot.nodes.params import config_dir
from service_desk_robot.nodes.runtime import run_node
from service_desk_robot.robot.screen import ScreenError
from service_desk_robot.robot.screen.app import ActionResult, create_app
from service_desk_robot.robot.screen.config import ScreenCatalog, check_labels, load_procedures, load_services
from service_desk_robot.robot.screen.intents import ScreenUtterance
from service_desk_robot.robot.screen.server import ScreenServer
from service_desk_robot.robot.screen.state import (
    DialogueInfo,
    DispenserInfo,
    HealthInfo,
    PrinterInfo,
    QueueInfo,
    ScreenState,
    StockInfo,
)
from service_desk_robot.robot.ward_office.models import ServiceQueueInfo

TOKEN_ENV = "SERVICE_DESK_STAFF_TOKEN"


class ScreenNode(Node):
    def __init__(self, **node_options: object) -> None:
        super().__init__("screen", **node_options)
        folder = self._declare("config_dir", "", "folder of screen.yaml, services.yaml, procedures.yaml")
        self._config_dir = Path(folder) if folder else config_dir()
        settings = self._read_settings()
        address = self._declare("address", settings["address"], "address the web server binds")
        port = self._declare(
            "port",
            settings["port"],
            "TCP port of the web server (0: any free port)",
            integer_range=[IntegerRange(from_value=0, to_value=65535, step=1)],
        )
        token = self._declare("staff_token", settings["staff_token"], f"staff token ({TOKEN_ENV} overrides)")
        language = self._declare("default_language", settings["default_language"], "page language: vi or en")
        stale_after_s = self._declare(
            "stale_after_s",
            settings["stale_after_s"],
            "seconds without diagnostics before a node is shown stale",
            floating_point_range=[FloatingPointRange(from_value=1.0, to_value=600.0)],
        )
        self._service_timeout_s = self._declare(
            "service_timeout_s",
            settings["service_timeout_s"],
            "seconds a staff action waits for its ROS service",
            floating_point_range=[FloatingPointRange(from_value=0.1, to_value=60.0)],
        )
        services_file = self._declare("services_file", settings["services_file"], "services catalogue")
        procedures_file = self._declare("procedures_file", settings["procedures_file"], "procedures list")

        self._token_configured = bool(os.environ.get(TOKEN_ENV) or token)
        self.state = ScreenState(today=self._today_function(services_file), stale_after_s=stale_after_s)
        self._diagnostics = Diagnostics(self)
        self._diagnostics.add("web server", self._web_health)

        self._heard = self.create_publisher(Utterance, "/speech/heard", qos.events())
        self._reprint = self.create_client(Trigger, "/printer/reprint_pending")
        self._refill = self.create_client(Trigger, "/dispenser/refill")
        self._pause = self.create_client(SetBool, "/dialogue/pause_greeting")
        latched = qos.latched_state()
        self.create_subscription(DialogueState, "/dialogue/state", self._on_dialogue_state, latched)
        self.create_subscription(DialogueAct, "/dialogue/acts", self._on_act, qos.events())
        self.create_subscription(QueueState, "/queue/state", self._on_queue, latched)
        self.create_subscription(PrinterStatus, "/printer/status", self._on_printer, latched)
        self.create_subscription(DispenserStatus, "/dispenser/status", self._on_dispenser, latched)
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, qos.events())

        self._server: ScreenServer | None = None
        self._failure = ""
        try:
            catalog = ScreenCatalog(
                services=load_services(self._resolve(services_file)),
                procedures=load_procedures(self._resolve(procedures_file)),
            )
            app = create_app(
                state=self.state,
                ports=self,
                labels=check_labels(settings["labels"]),
                catalog=catalog,
                staff_token=os.environ.get(TOKEN_ENV) or token,
                default_language=language,
            )
            self._server = ScreenServer(app, host=address, port=port)
            self._server.start()
        except ScreenError as error:
            self._server = None
            self._failure = str(error)
            self.get_logger().error(f"screen not served: {error}")
            return
        if not self._token_configured:
            self.get_logger().warning(f"no staff token ({TOKEN_ENV} or staff_token): staff console closed")
        url = self._server.url
        self.get_logger().info(f"visitor screen at {url}/, staff console at {url}/staff")

    # -- configuration -------------------------------------------------------------------

    def _declare(self, name: str, default: object, description: str, **limits: object) -> object:
        descriptor = ParameterDescriptor(description=description, read_only=True, **limits)
        return self.declare_parameter(name, default, descriptor).value

    def _resolve(self, file_name: str) -> Path:
        path = Path(file_name)
        return path if path.is_absolute() else self._config_dir / path

    def _read_settings(self) -> dict:
        """Defaults and labels from screen.yaml; an unreadable file falls back to the bare
        defaults below and is reported (the missing labels then stop the web server)."""
        settings: dict = {
            "address": "127.0.0.1",
            "port": 8080,
            "staff_token": "",
            "default_language": "vi",
            "stale_after_s": 5.0,
            "service_timeout_s": 5.0,
            "services_file": "services.yaml",
            "procedures_file": "procedures.yaml",
            "labels": {},
        }
        path = self._config_dir / "screen.yaml"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            settings.update(data["screen"]["ros__parameters"])
        except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
            self.get_logger().error(f"cannot use {path}: {error}")
        return settings

    def _today_function(self, services_file: str):
        """Today's date in the office's time zone (counts reset at local midnight)."""
        zone = None
        try:
            data = yaml.safe_load(self._resolve(services_file).read_text(encoding="utf-8"))
            zone = ZoneInfo(data["office"]["timezone"])
        except (OSError, yaml.YAMLError, KeyError, TypeError, ZoneInfoNotFoundError) as error:
            self.get_logger().warning(f"office time zone unknown ({error}); counting days in local time")
        return lambda: datetime.now(zone).date()

    def _web_health(self) -> Health:
        if self._server is None:
            return Health.error(f"not serving: {self._failure}")
        if not self._token_configured:
            return Health.warn("serving; staff console closed (no token)", url=self._server.url)
        return Health.ok("serving", url=self._server.url)

    # -- ROS -> state ----------------------------------------------------------------------

    def _on_dialogue_state(self, msg: DialogueState) -> None:
        self.state.on_dialogue_state(
            DialogueInfo(
                state=msg.state,
                visitor_id=msg.visitor_id,
                language=msg.language,
                last_robot_sentence=msg.last_robot_sentence,
                ticket_number=msg.ticket_number,
                ticket_not_printed=msg.ticket_not_printed,
                greeting_paused=msg.greeting_paused,
                options=tuple(msg.options),
            )
        )

    def _on_act(self, msg: DialogueAct) -> None:
        if msg.act == DialogueAct.SAY:
            self.state.on_say(msg.text, msg.language)
        elif msg.act == DialogueAct.TICKET:
            self.state.on_ticket(msg.ticket_number, msg.service_code, msg.people_ahead, msg.printed)
        elif msg.act == DialogueAct.DISPENSE:
            self.state.on_dispense(msg.item, msg.count, msg.ok)

    def _on_queue(self, msg: QueueState) -> None:
        services = tuple(
            ServiceQueueInfo(
                s.code,
                s.letter,
                s.name_vi,
                s.name_en,
                s.now_serving,
                s.waiting,
                s.estimated_wait_min,
                tuple(s.counters),
            )
            for s in msg.services
        )
        self.state.on_queue(QueueInfo(msg.server_reachable, msg.data_age_s, services))

    def _on_printer(self, msg: PrinterStatus) -> None:
        self.state.on_printer(
            PrinterInfo(
                online=msg.online,
                paper=msg.paper,
                tickets_printed=msg.tickets_printed,
                pending_numbers=tuple(msg.pending_numbers),
                last_error=msg.last_error,
                hardware_id=msg.hardware_id,
            )
        )

    def _on_dispenser(self, msg: DispenserStatus) -> None:
        self.state.on_dispenser(
            DispenserInfo(
                online=msg.online,
                stock=tuple(StockInfo(s.item, s.count, s.empty) for s in msg.stock),
                fault=msg.fault,
                door_open=msg.door_open,
                busy=msg.busy,
                hardware_id=msg.hardware_id,
            )
        )

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        self.state.on_diagnostics(
            [HealthInfo(s.name, ord(s.level), s.message, s.hardware_id) for s in msg.status]
        )

    # -- ScreenPorts (called from the web server's threads) ----------------------------------

    def publish_utterances(self, utterances: list[ScreenUtterance]) -> None:
        for utterance in utterances:
            if utterance.after_state and not self.state.wait_for_dialogue_state(
                utterance.after_state, self._service_timeout_s
            ):
                # Sent anyway it would be misread as a new request: drop it, say so.
                self.get_logger().warning(
                    f"dialogue never reached {utterance.after_state}: {utterance.intent or 'text'} not sent"
                )
                return
            msg = Utterance(
                text=utterance.text,
                language=utterance.language,
                confidence=1.0,
                final=True,
                source="screen",
                intent=utterance.intent,
                argument=utterance.argument,
            )
            msg.header.stamp = self.get_clock().now().to_msg()
            self._heard.publish(msg)

    def reprint_pending(self) -> ActionResult:
        return self._call(self._reprint, Trigger.Request())

    def refill_dispenser(self) -> ActionResult:
        return self._call(self._refill, Trigger.Request())

    def set_greeting_paused(self, paused: bool) -> ActionResult:
        return self._call(self._pause, SetBool.Request(data=paused))

    def _call(self, client: Client, request: object) -> ActionResult:
        if not client.service_is_ready():
            return ActionResult(False, f"{client.srv_name} is not available", "SERVICE_UNAVAILABLE")
        done = threading.Event()
        future = client.call_async(request)
        future.add_done_callback(lambda _: done.set())
        if not done.wait(self._service_timeout_s):
            client.remove_pending_request(future)
            message = f"{client.srv_name} did not answer in {self._service_timeout_s} s"
            return ActionResult(False, message, "TIMEOUT")
        response = future.result()
        if response is None:
            return ActionResult(False, f"{client.srv_name} failed", "SERVICE_FAILED")
        self.get_logger().info(f"staff action {client.srv_name}: {response.success} {response.message}")
        return ActionResult(response.success, response.message, "" if response.success else "REFUSED")

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def main() -> int:
    return run_node(ScreenNode)
