"""The `ticket_printer` node: queue tickets on paper, none lost, none printed twice.

Wiring only; the work is in service_desk_robot.printer (TicketPrinter):
- service /printer/print_ticket (service_desk_interfaces/srv/PrintTicket): success, or a
  stable error_code (BAD_TICKET, PAPER_OUT, PRINTER_OFFLINE, PRINTER_ERROR) with the number
  in the message; on PAPER_OUT / PRINTER_OFFLINE the ticket is kept (kept_for_reprint) and
  prints by itself once the printer can (auto_reprint);
- service /printer/reprint_pending (std_srvs/Trigger): staff print the kept tickets now;
- /printer/status (PrinterStatus, latched): online, paper, tickets printed, kept numbers,
  last error, hardware id;
- diagnostics with the printer's hardware id.

Threading: the services are in a reentrant group; a call hands its ticket to the printer's
worker thread and waits at most reply_timeout_s for the outcome, so concurrent calls print
one at a time in order and never block the executor for long. Status is published from the
worker thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from std_srvs.srv import Trigger

from service_desk_interfaces.msg import PrinterStatus
from service_desk_interfaces.srv import PrintTicket
from service_desk_robot.nodes.diagnostics import Diagnostics, Health
from service_desk_robot.nodes.params import Parameters, config_dir, yaml_defaults
from service_desk_robot.nodes.qos import latched_state
from service_desk_robot.nodes.runtime import run_node
from service_desk_robot.printer.backends import BackendConfig, PaperState, PrinterConnection
from service_desk_robot.printer.errors import PrinterConfigError
from service_desk_robot.printer.escpos_job import make_profile
from service_desk_robot.printer.layout import width_for_paper
from service_desk_robot.printer.service import PrinterSettings, PrinterState, PrintOutcome, TicketPrinter
from service_desk_robot.printer.spool import TicketSpool
from service_desk_robot.printer.ticket import TicketData, load_ticket_config

NAME = "ticket_printer"


class TicketPrinterNode(Node):
    def __init__(self, **node_options: Any) -> None:
        super().__init__(NAME, **node_options)
        param = Parameters(self, yaml_defaults(NAME)).get

        backend = BackendConfig(
            kind=param("backend", "network, serial, usb or file"),
            host=param("host", "network printer host"),
            port=param("port", "network printer TCP port"),
            device=param("device", "serial printer device"),
            baud=param("baud", "serial baud rate"),
            usb_vendor_id=param("usb_vendor_id", "USB printer vendor id"),
            usb_product_id=param("usb_product_id", "USB printer product id"),
            path=param("file_path", "file backend: file or device node to write jobs to"),
            timeout_s=param("timeout_s", "connect / write timeout, s"),
            status_timeout_s=param("status_timeout_s", "wait for a paper status answer, s"),
            status_query=param("status_query", "ask the paper sensor (DLE EOT); false if unsupported"),
        )
        profile_name = param("profile", "python-escpos printer profile name")
        paper_mm = param("paper_width_mm", "paper width in mm: 80 or 58")
        preview_dir = param("preview_dir", "save every ticket image sent here ('' = do not)")
        settings = PrinterSettings(
            width_dots=width_for_paper(paper_mm),
            crop=param("crop_raster", "place raster bands with GS L (smaller jobs)"),
            poll_interval_s=param("poll_interval_s", "paper sensor poll period while idle, s"),
            reconnect_initial_s=param("reconnect_initial_s", "first reconnection delay, s (doubles)"),
            reconnect_max_s=param("reconnect_max_s", "longest reconnection delay, s"),
            auto_reprint=param("auto_reprint", "print kept tickets as soon as the printer can"),
            preview_dir=Path(preview_dir).expanduser() if preview_dir else None,
        )
        self._reply_timeout_s = param("reply_timeout_s", "longest wait of a print call for its outcome, s")
        spool_path = param("spool_path", "durable JSON queue of unprinted tickets and printed keys")
        ticket_yaml = param("ticket_config", "ticket texts and layout YAML ('' = package config)")
        services_yaml = param("services_config", "office and services YAML ('' = package config)")
        ticket_config = load_ticket_config(
            Path(ticket_yaml or config_dir() / "ticket.yaml"),
            Path(services_yaml or config_dir() / "services.yaml"),
        )
        profile = make_profile(profile_name, settings.width_dots)
        self._hardware_id = backend.hardware_id
        self._last_state: PrinterState | None = None  # for logging transitions only
        self._status_pub = self.create_publisher(PrinterStatus, "/printer/status", latched_state())
        self._spool = TicketSpool(Path(spool_path).expanduser() if spool_path else None)
        self._printer = TicketPrinter(
            ticket_config,
            PrinterConnection(backend, profile),
            self._spool,
            profile,
            settings,
            on_state=self._publish_state,
        )
        self._diagnostics = Diagnostics(self, hardware_id=self._hardware_id)
        self._diagnostics.add("printer", self._health)
        group = ReentrantCallbackGroup()
        self.create_service(PrintTicket, "/printer/print_ticket", self._print_ticket, callback_group=group)
        self.create_service(Trigger, "/printer/reprint_pending", self._reprint_pending, callback_group=group)
        self._publish_state(self._printer.state())
        self._printer.start()
        self.get_logger().info(
            f"ticket printer {self._hardware_id}: {paper_mm} mm, profile {profile_name}, spool {spool_path}"
        )

    def close(self) -> None:
        self._printer.stop()

    def _publish_state(self, state: PrinterState) -> None:
        previous, self._last_state = self._last_state, state

        def headline(s: PrinterState) -> tuple[object, ...]:
            return (s.online, s.paper, "" if s.online else s.last_error)

        if previous is None or headline(previous) != headline(state):
            # State transitions at INFO, through the node logger (the core logs to `logging`).
            detail = f" ({state.last_error})" if state.last_error else ""
            if state.online:
                self.get_logger().info(f"printer online, paper {state.paper.name}{detail}")
            else:
                self.get_logger().warning(f"printer offline{detail}")
        msg = PrinterStatus()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.online = state.online
        msg.paper = int(state.paper)
        msg.tickets_printed = state.tickets_printed
        msg.pending_numbers = list(state.pending_numbers)
        msg.last_error = state.last_error
        msg.hardware_id = state.hardware_id
        self._status_pub.publish(msg)

    def _health(self) -> Health:
        state = self._printer.state()
        values = {
            "paper": state.paper.name,
            "tickets_printed": state.tickets_printed,
            "kept": ", ".join(state.pending_numbers),
            "last_error": state.last_error,
        }
        if not state.online:
            return Health.error(f"printer offline: {state.last_error}", **values)
        if state.paper == PaperState.OUT:
            return Health.error("paper out: load a new roll", **values)
        if state.paper == PaperState.LOW:
            return Health.warn("paper low: have a roll ready", **values)
        if self._spool.save_error:
            return Health.warn(f"ticket spool not durable: {self._spool.save_error}", **values)
        if state.pending_numbers:
            return Health.warn(f"{len(state.pending_numbers)} ticket(s) waiting to print", **values)
        return Health.ok("printer ready", **values)

    def _print_ticket(
        self, request: PrintTicket.Request, response: PrintTicket.Response
    ) -> PrintTicket.Response:
        t = request.ticket
        ticket = TicketData(
            number=t.number,
            service_code=t.service_code,
            service_name_vi=t.service_name_vi,
            service_name_en=t.service_name_en,
            people_ahead=t.people_ahead,
            estimated_wait_min=t.estimated_wait_min,
            counters=tuple(t.counters),
            issued_at=t.issued_at,
            booking_code=t.booking_code,
            priority=t.priority,
            channel=t.channel,
            language=t.language,
        )
        future = self._printer.submit(ticket)
        try:
            outcome: PrintOutcome = future.result(timeout=self._reply_timeout_s)
        except TimeoutError:
            # Still queued behind a slow printer: it prints in its turn, exactly once.
            outcome = PrintOutcome(
                False,
                "PRINTER_OFFLINE",
                f"printer slow: ticket {ticket.number} is queued and prints in its turn",
                kept_for_reprint=True,
                number=ticket.number,
            )
        summary = f"print {ticket.number[:16]!r}: {outcome.error_code or 'OK'} {outcome.message}"
        # rclpy ties one severity to each call site: two calls, not one with a chosen level.
        if outcome.success:
            self.get_logger().info(summary)
        else:
            self.get_logger().warning(summary)
        response.success = outcome.success
        response.error_code = outcome.error_code
        response.message = outcome.message
        response.kept_for_reprint = outcome.kept_for_reprint
        return response

    def _reprint_pending(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        del request
        try:
            outcome: PrintOutcome = self._printer.reprint_pending().result(timeout=self._reply_timeout_s * 4)
        except TimeoutError:
            outcome = PrintOutcome(False, message="reprint still running; watch /printer/status")
        self.get_logger().info(f"reprint pending: {outcome.message}")
        response.success = outcome.success
        response.message = outcome.message
        return response


def main() -> int:
    def factory() -> TicketPrinterNode:
        try:
            return TicketPrinterNode()
        except PrinterConfigError as error:
            # Fail loudly at configure time: one clear line, no traceback loop.
            import rclpy.logging

            rclpy.logging.get_logger(NAME).fatal(f"cannot start: {error}")
            raise SystemExit(2) from error

    return run_node(factory)


if __name__ == "__main__":
    raise SystemExit(main())
