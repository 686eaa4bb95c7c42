"""A small stand-in for diagnostic_updater (which has no wheel): one helper for every node.

Each node registers named checks; a timer publishes all of them on /diagnostics as one
DiagnosticArray at 1 Hz. A check returns a `Health` with a level, a message and key/values;
a check that raises is reported as ERROR instead of killing the timer.

    diagnostics = Diagnostics(node, hardware_id="tcp:127.0.0.1:9100")
    diagnostics.add("printer", lambda: Health.ok("paper OK", printed=12))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node

OK = DiagnosticStatus.OK
WARN = DiagnosticStatus.WARN
ERROR = DiagnosticStatus.ERROR
STALE = DiagnosticStatus.STALE


@dataclass(frozen=True)
class Health:
    level: bytes
    message: str
    values: dict[str, object] = field(default_factory=dict)

    @classmethod
    def ok(cls, message: str, **values: object) -> Health:
        return cls(OK, message, values)

    @classmethod
    def warn(cls, message: str, **values: object) -> Health:
        return cls(WARN, message, values)

    @classmethod
    def error(cls, message: str, **values: object) -> Health:
        return cls(ERROR, message, values)


def threshold(value: float, warn_above: float, error_above: float) -> bytes:
    """Level of a figure where bigger is worse (latency, age, queue length)."""
    if value > error_above:
        return ERROR
    if value > warn_above:
        return WARN
    return OK


class Diagnostics:
    def __init__(self, node: Node, hardware_id: str = "", period_s: float = 1.0) -> None:
        self._node = node
        self.hardware_id = hardware_id
        self._checks: dict[str, Callable[[], Health]] = {}
        self._publisher = node.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._timer = node.create_timer(period_s, self.publish)

    def add(self, name: str, check: Callable[[], Health]) -> None:
        self._checks[name] = check

    def publish(self) -> None:
        array = DiagnosticArray()
        array.header.stamp = self._node.get_clock().now().to_msg()
        for name, check in self._checks.items():
            try:
                health = check()
            except Exception as error:  # noqa: BLE001 - a broken check is itself a fault to report
                health = Health.error(f"check failed: {error!r}")
            array.status.append(
                DiagnosticStatus(
                    level=health.level,
                    name=f"{self._node.get_name()}: {name}",
                    message=health.message,
                    hardware_id=self.hardware_id,
                    values=[KeyValue(key=k, value=str(v)) for k, v in health.values.items()],
                )
            )
        self._publisher.publish(array)
