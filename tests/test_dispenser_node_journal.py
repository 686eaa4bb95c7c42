"""The dispenser node when its exactly-once journal cannot be opened: one clear error,
status fault JOURNAL, every goal aborted with JOURNAL, and the node keeps running."""

from __future__ import annotations

import pytest
from support import wait_until

pytestmark = pytest.mark.ros


def test_an_unusable_journal_disables_dispensing_with_a_clear_code(tmp_path, ros_spin):
    from action_msgs.msg import GoalStatus
    from rclpy.action import ActionClient
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    from service_desk_interfaces.action import Dispense
    from service_desk_interfaces.msg import DispenserStatus
    from service_desk_robot.nodes.dispenser import DispenserNode
    from service_desk_robot.nodes.qos import latched_state

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    node = DispenserNode(
        parameter_overrides=[
            Parameter("journal_path", value=str(blocker / "journal.sqlite3")),
            Parameter("port", value=str(tmp_path / "no-such-tty")),
        ]
    )
    probe = Node("dispenser_journal_probe")
    statuses: list[DispenserStatus] = []
    probe.create_subscription(DispenserStatus, "/dispenser/status", statuses.append, latched_state())
    action = ActionClient(probe, Dispense, "/dispenser/dispense")
    ros_spin(node, probe)

    wait_until(lambda: statuses and statuses[-1].fault == "JOURNAL", message="JOURNAL fault in status")
    assert action.wait_for_server(timeout_sec=10)
    sent = action.send_goal_async(Dispense.Goal(item="water", count=1, request_id="j-1", visitor_id="v"))
    wait_until(sent.done, message="goal accepted")
    result = sent.result().get_result_async()
    wait_until(result.done, message="result")
    assert result.result().status == GoalStatus.STATUS_ABORTED
    assert result.result().result.error_code == "JOURNAL"
    assert "journal" in result.result().result.message
