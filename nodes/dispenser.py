"""The `dispenser` node: water and candy from the board, exactly once per request id.

Wiring only; the work is in service_desk_robot.robot.dispenser:
- action /dispenser/dispense (service_desk_interfaces/action/Dispense): feedback after
  each item, cancel stops after the current item; result carries a stable error_code;
- /dispenser/status (DispenserStatus, latched): online, stock, fault, door, busy;
- service /dispenser/refill (std_srvs/Trigger): staff refilled, stock back to capacity
  and latched faults cleared;
- diagnostics with the serial port as hardware id.

Threading: the action and refill callbacks are in a reentrant group, so a dispense
(which blocks its executor thread for the motor's time) never holds up the others; the
service's supervisor thread keeps the port open and pushes state changes, which are
published from that thread.
"""

from __future__ import annotations

from pathlib import Path

from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.action.server import ServerGoalHandle
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.parameter import Parameter
from std_srvs.srv import Trigger

from service_desk_interfaces.action import Dispense
from service_desk_interfaces.msg import DispenserStatus, ItemStock
from service_desk_robot.nodes.diagnostics import Diagnostics, Health
from service_desk_robot.nodes.params import Parameters, yaml_defaults
from service_desk_robot.nodes.qos import latched_state
from service_desk_robot.nodes.runtime import run_node
from service_desk_robot.robot.dispenser import errors
from service_desk_robot.robot.dispenser.journal import Journal
from service_desk_robot.robot.dispenser.limits import VisitorLimits
from service_desk_robot.robot.dispenser.service import DispenserConfig, DispenserService, DispenserState

NAME = "dispenser"


class DispenserNode(Node):
    def __init__(self, parameter_overrides: list[Parameter] | None = None) -> None:
        # Overrides: for a node built in-process (tests); launched nodes use --ros-args.
        super().__init__(NAME, parameter_overrides=parameter_overrides or [])
        param = Parameters(self, yaml_defaults(NAME)).get

        port = param("port", "serial device or pyserial URL of the dispenser board")
        items = tuple(param("items", "item names; item i is in board slot i"))
        capacity = list(param("capacity", "stock of each item after a refill, in item order"))
        limits = list(param("limit_per_visitor", "max count per visitor and item in the window; -1 = none"))
        config = DispenserConfig(
            port=port,
            baud=param("baud", "serial baud rate"),
            items=items,
            capacity=dict(zip(items, capacity, strict=False)),
            limits=VisitorLimits(
                per_item={item: n for item, n in zip(items, limits, strict=False) if n >= 0},
                window_s=param("limit_window_s", "seconds over which per-visitor limits count"),
            ),
            reply_timeout_s=param("reply_timeout_s", "seconds to wait for one reply before resending"),
            retries=param("retries", "resends of a request after the first attempt"),
            item_timeout_s=param("item_timeout_s", "silence during a job before the job is queried, s"),
            status_period_s=param("status_period_s", "seconds between board status polls"),
            reconnect_period_s=param("reconnect_period_s", "seconds between attempts to reopen the port"),
        )
        journal_path = Path(param("journal_path", "SQLite exactly-once journal")).expanduser()
        self._low_stock = param("low_stock_warn", "diagnostics warn at or below this stock")
        if len(capacity) != len(items) or len(limits) != len(items):
            self.get_logger().error(
                f"capacity ({len(capacity)}) and limit_per_visitor ({len(limits)}) must list one value "
                f"per item ({len(items)}); missing ones mean no refill level / no limit"
            )

        self._last_health = (False, "OFFLINE")  # what the node starts as: not worth a log line
        self._status_pub = self.create_publisher(DispenserStatus, "/dispenser/status", latched_state())
        self._diagnostics = Diagnostics(self, hardware_id=f"serial:{port}")
        self._diagnostics.add("board", self._health)
        self._service: DispenserService | None = None
        self._journal: Journal | None = None
        self._journal_error = ""
        try:
            journal = self._journal = Journal(journal_path)
        except errors.JournalError as error:
            # Without the journal exactly-once cannot be kept: refuse every dispense.
            self._journal_error = error.message
            self.get_logger().error(f"{error.message}: dispensing is disabled")
        else:
            self._service = DispenserService(config, journal, on_state=self._publish_state)

        group = ReentrantCallbackGroup()
        self._action = ActionServer(
            self,
            Dispense,
            "/dispenser/dispense",
            execute_callback=self._execute,
            goal_callback=lambda _goal: GoalResponse.ACCEPT,
            cancel_callback=lambda _goal: CancelResponse.ACCEPT,
            callback_group=group,
        )
        self.create_service(Trigger, "/dispenser/refill", self._refill, callback_group=group)
        self._publish_state(DispenserState(hardware_id=f"serial:{port}", fault="OFFLINE"))
        if self._service is not None:
            self._service.start()
        self.get_logger().info(f"dispenser on {port}: items {', '.join(items)}, journal {journal_path}")

    def close(self) -> None:
        if self._service is not None:
            self._service.close()
        if self._journal is not None:
            self._journal.close()
        self._action.destroy()

    def _publish_state(self, state: DispenserState) -> None:
        health = (state.online, state.fault)
        if health != self._last_health:  # log transitions only, not every stock change
            self._last_health = health
            if state.online and not state.fault:
                self.get_logger().info(f"dispenser online: firmware {state.firmware}")
            else:
                detail = f" ({state.last_error})" if state.last_error else ""
                self.get_logger().warning(
                    f"dispenser {'fault ' + state.fault if state.online else 'offline'}{detail}"
                )
        msg = DispenserStatus()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.online = state.online
        msg.stock = [
            ItemStock(item=item, count=count, empty=count == 0) for item, count in state.stock.items()
        ]
        msg.fault = "JOURNAL" if self._journal_error else state.fault
        msg.door_open = state.door_open
        msg.busy = state.busy
        msg.firmware_version = state.firmware
        msg.hardware_id = state.hardware_id
        self._status_pub.publish(msg)

    def _execute(self, goal_handle: ServerGoalHandle) -> Dispense.Result:
        request = goal_handle.request
        result = Dispense.Result()
        if self._service is None:
            result.error_code, result.message = errors.JournalError.code, self._journal_error
            goal_handle.abort()
            return result
        feedback = Dispense.Feedback()

        def on_progress(dispensed: int, count: int) -> None:
            feedback.dispensed, feedback.count = dispensed, count
            goal_handle.publish_feedback(feedback)

        outcome = self._service.dispense(
            request.request_id,
            request.visitor_id,
            request.item,
            request.count,
            on_progress=on_progress,
            cancel_requested=lambda: goal_handle.is_cancel_requested,
        )
        result.success = outcome.success
        result.error_code = outcome.error_code
        result.message = outcome.message
        result.dispensed = outcome.dispensed
        if outcome.success:
            self.get_logger().info(f"request {request.request_id}: {outcome.message}")
            goal_handle.succeed()
        elif goal_handle.is_cancel_requested and outcome.error_code == errors.CanceledError.code:
            goal_handle.canceled()
        else:
            self.get_logger().warning(
                f"request {request.request_id}: {outcome.error_code}: {outcome.message}"
            )
            goal_handle.abort()
        return result

    def _refill(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        del request
        if self._service is None:
            response.success, response.message = False, self._journal_error
            return response
        outcome = self._service.refill()
        response.success = outcome.success
        response.message = outcome.message if outcome.success else f"{outcome.error_code}: {outcome.message}"
        self.get_logger().info(f"refill: {response.message}")
        return response

    def _health(self) -> Health:
        if self._service is None:
            return Health.error(f"journal unusable: {self._journal_error}")
        state = self._service.state
        values = {
            "firmware": state.firmware,
            "stock": ", ".join(f"{k}={v}" for k, v in state.stock.items()),
            "dispensed": state.dispenses,
            "connections": state.reconnects,
            "line_noise_bytes": state.noise_bytes,
        }
        if not state.online:
            return Health.error(f"offline: {state.last_error or state.fault}", **values)
        if state.fault:
            return Health.error(f"fault {state.fault}", **values)
        low = [item for item, count in state.stock.items() if count <= self._low_stock]
        if low:
            return Health.warn(f"low stock: {', '.join(low)}", **values)
        return Health.ok("ready", **values)


def main() -> int:
    return run_node(DispenserNode)
