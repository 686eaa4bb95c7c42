"""The ticket_printer node in-process against the fake TCP printer: services, latched status,
diagnostics, paper out and back, bad tickets, concurrent calls."""

from __future__ import annotations

import threading

import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.node import Node
from rclpy.parameter import Parameter
from std_srvs.srv import Trigger
from support import free_tcp_port, wait_until

from service_desk_interfaces.msg import PrinterStatus, Ticket
from service_desk_interfaces.srv import PrintTicket
from service_desk_robot.nodes import qos
from service_desk_robot.nodes.ticket_printer import TicketPrinterNode
from service_desk_robot.sim.fake_printer.server import FakePrinter

pytestmark = pytest.mark.ros


class Caller(Node):
    """What the dialogue and the staff console do: call the services, watch status and health."""

    def __init__(self) -> None:
        super().__init__("printer_test_caller")
        self.lock = threading.Lock()
        self.status: PrinterStatus | None = None
        self.diagnostics: list[DiagnosticStatus] = []
        self.create_subscription(PrinterStatus, "/printer/status", self._on_status, qos.latched_state())
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)
        self.print_client = self.create_client(PrintTicket, "/printer/print_ticket")
        self.reprint_client = self.create_client(Trigger, "/printer/reprint_pending")

    def _on_status(self, msg: PrinterStatus) -> None:
        with self.lock:
            self.status = msg

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        with self.lock:
            self.diagnostics += [s for s in msg.status if s.name.startswith("ticket_printer")]

    def latest(self) -> PrinterStatus | None:
        with self.lock:
            return self.status

    def call_async(self, client, request):
        wait_until(client.service_is_ready, message=f"{client.srv_name} ready")
        return client.call_async(request)

    def call(self, client, request, timeout_s: float = 15.0):
        future = self.call_async(client, request)
        wait_until(future.done, timeout_s=timeout_s, message=f"reply of {client.srv_name}")
        return future.result()

    def print_ticket(self, number: str, **fields) -> PrintTicket.Response:
        return self.call(self.print_client, PrintTicket.Request(ticket=ticket(number, **fields)))


def ticket(number: str, **fields) -> Ticket:
    values = {"service_code": "civil_status", "issued_at": "2026-11-26T09:00:00", "language": "vi", **fields}
    return Ticket(number=number, **values)


@pytest.fixture
def rig(ros_spin, tmp_path):
    fake = FakePrinter(free_tcp_port(), out_dir=tmp_path / "jobs").start()
    node = TicketPrinterNode(
        parameter_overrides=[
            Parameter("port", value=fake.port),
            Parameter("poll_interval_s", value=0.1),
            Parameter("reconnect_initial_s", value=0.05),
            Parameter("reconnect_max_s", value=0.2),
            Parameter("spool_path", value=str(tmp_path / "spool.json")),
            Parameter("preview_dir", value=str(tmp_path / "previews")),
        ]
    )
    caller = Caller()
    ros_spin(node, caller)
    yield fake, caller, tmp_path
    fake.stop()


def test_print_status_paper_out_and_back(rig):
    fake, caller, tmp_path = rig
    status = wait_until(lambda: (s := caller.latest()) and s.online and s, message="printer online")
    assert status.hardware_id == f"tcp:127.0.0.1:{fake.port}"
    assert status.paper == PrinterStatus.PAPER_OK

    reply = caller.print_ticket("A001")
    assert reply.success
    assert reply.error_code == ""
    assert (tmp_path / "previews" / "2026-11-26_A001.png").is_file()
    wait_until(lambda: caller.latest().tickets_printed == 1, message="status counts the ticket")

    fake.set_paper("out")
    reply = caller.print_ticket("A002", language="en")
    assert not reply.success
    assert reply.error_code == "PAPER_OUT"
    assert "A002" in reply.message
    assert reply.kept_for_reprint
    status = wait_until(lambda: (s := caller.latest()) and list(s.pending_numbers) == ["A002"] and s)
    assert status.paper == PrinterStatus.PAPER_OUT
    wait_until(
        lambda: any(
            d.level == DiagnosticStatus.ERROR and d.hardware_id == status.hardware_id
            for d in caller.diagnostics
        ),
        message="diagnostic ERROR for paper out",
    )

    fake.set_paper("ok")
    wait_until(lambda: caller.latest().tickets_printed == 2, message="kept ticket printed when paper is back")
    assert list(caller.latest().pending_numbers) == []
    assert len(fake.printed_jobs()) == 2
    assert caller.call(caller.reprint_client, Trigger.Request()).success  # nothing left to print
    assert caller.print_ticket("A002").success  # asked again: not printed twice
    assert len(fake.printed_jobs()) == 2


def test_bad_tickets_and_concurrent_calls(rig):
    fake, caller, _ = rig
    reply = caller.print_ticket("", service_code="civil_status")
    assert reply.error_code == "BAD_TICKET"
    assert not reply.kept_for_reprint
    reply = caller.print_ticket("Z001", service_code="passport")
    assert reply.error_code == "BAD_TICKET"
    assert "passport" in reply.message

    futures = [
        caller.call_async(caller.print_client, PrintTicket.Request(ticket=ticket(f"B{i:03d}")))
        for i in range(4)
    ]
    wait_until(lambda: all(f.done() for f in futures), timeout_s=20, message="four replies")
    assert all(f.result().success for f in futures)
    assert len(fake.printed_jobs()) == 4
