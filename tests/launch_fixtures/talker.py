"""Test node: publishes Utterance messages on `heard` and serves IssueTicket on `issue_ticket`."""

from __future__ import annotations

import os
import sys

from rclpy.node import Node

from service_desk_interfaces.msg import Utterance
from service_desk_interfaces.srv import IssueTicket
from service_desk_robot.nodes.runtime import run_node


class Talker(Node):
    def __init__(self) -> None:
        super().__init__("talker")
        self._publisher = self.create_publisher(Utterance, "heard", 10)
        self._count = 0
        self.create_timer(0.1, self._publish)
        self.create_service(IssueTicket, "issue_ticket", self._issue)
        print(f"talker ready pid {os.getpid()}", flush=True)

    def _publish(self) -> None:
        self._count += 1
        self._publisher.publish(Utterance(text=f"xin chào {self._count}", language="vi", final=True))

    def _issue(self, request: IssueTicket.Request, response: IssueTicket.Response) -> IssueTicket.Response:
        response.success = True
        response.ticket.number = f"{request.service_code}042"
        response.ticket.service_code = request.service_code
        print(f"issued {response.ticket.number}", flush=True)
        return response


def main() -> int:
    return run_node(Talker)


if __name__ == "__main__":
    sys.exit(main())
