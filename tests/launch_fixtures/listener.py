"""Test node: prints the first Utterance heard on `heard`, then calls IssueTicket once."""

from __future__ import annotations

import sys

from rclpy.node import Node

from service_desk_interfaces.msg import Utterance
from service_desk_interfaces.srv import IssueTicket
from service_desk_robot.nodes.runtime import run_node


class Listener(Node):
    def __init__(self) -> None:
        super().__init__("listener")
        self._heard = False
        self.create_subscription(Utterance, "heard", self._on_heard, 10)
        self._client = self.create_client(IssueTicket, "issue_ticket")
        self._call_timer = self.create_timer(0.1, self._call_when_ready)

    def _on_heard(self, message: Utterance) -> None:
        if not self._heard:
            self._heard = True
            print(f"heard '{message.text}' ({message.language})", flush=True)

    def _call_when_ready(self) -> None:
        if not self._client.service_is_ready():
            return
        self._call_timer.cancel()
        future = self._client.call_async(IssueTicket.Request(service_code="B"))
        future.add_done_callback(lambda done: print(f"ticket {done.result().ticket.number}", flush=True))


def main() -> int:
    return run_node(Listener)


if __name__ == "__main__":
    sys.exit(main())
