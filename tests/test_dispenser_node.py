"""The dispenser node end to end: emulator and node as processes, the test as an action
client. Happy path with feedback and latched status; every fault aborts with a stable
error_code while the node keeps serving; the port vanishing and returning; the node
killed with SIGKILL mid-dispense and restarted: the same request id never dispenses twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest
from support import VENV_BIN, stop_process, wait_until

from service_desk_robot.sim.dispenser_emulator import send_control

pytestmark = pytest.mark.ros


class Emulator:
    def __init__(self, folder: Path, item_time_s: float = 0.05) -> None:
        self.link = folder / "dispenser-tty"
        self.process = subprocess.Popen(
            [
                VENV_BIN / "service-desk-robot",
                "dispenser-emulator",
                "--link",
                str(self.link),
                "--item-time",
                str(item_time_s),
                "--stock",
                "water=10",
                "--stock",
                "candy=10",
            ],
            stdout=subprocess.PIPE,
            stderr=(folder / "emulator.log").open("w"),
            text=True,
        )
        ready = json.loads(self.process.stdout.readline())
        self.control_port = ready["control_port"]

    def __call__(self, command: str) -> str:
        reply = send_control(self.control_port, command)
        assert reply.startswith("ok"), reply
        return reply

    def status(self) -> dict:
        return json.loads(self("status").removeprefix("ok "))

    def stop(self) -> None:
        stop_process(self.process)


def start_node(folder: Path, port: Path) -> subprocess.Popen:
    params = {
        "port": str(port),
        "journal_path": str(folder / "journal.sqlite3"),
        "reply_timeout_s": 0.1,
        "status_period_s": 0.3,
        "reconnect_period_s": 0.1,
    }
    args = [a for name, value in params.items() for a in ("-p", f"{name}:={value}")]
    log = (folder / "node.log").open("a")
    return subprocess.Popen(
        [VENV_BIN / "dispenser", "--ros-args", *args], stdout=log, stderr=subprocess.STDOUT
    )


class Client:
    """An rclpy node that sends Dispense goals and watches /dispenser/status."""

    def __init__(self) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.action import ActionClient
        from rclpy.executors import MultiThreadedExecutor
        from rclpy.node import Node
        from std_srvs.srv import Trigger

        from service_desk_interfaces.action import Dispense
        from service_desk_interfaces.msg import DispenserStatus
        from service_desk_robot.nodes.qos import latched_state

        self.Dispense = Dispense
        self.node = Node("dispenser_test_client")
        self.action = ActionClient(self.node, Dispense, "/dispenser/dispense")
        self.refill = self.node.create_client(Trigger, "/dispenser/refill")
        self.Trigger = Trigger
        self.status: DispenserStatus | None = None
        self.node.create_subscription(DispenserStatus, "/dispenser/status", self._on_status, latched_state())
        self.diagnostics: list = []
        self.node.create_subscription(
            DiagnosticArray, "/diagnostics", lambda m: self.diagnostics.extend(m.status), 10
        )
        self.executor = MultiThreadedExecutor(num_threads=2)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _on_status(self, msg) -> None:
        self.status = msg

    def wait_status(self, predicate, message: str, timeout_s: float = 10.0):
        wait_until(lambda: self.status is not None and predicate(self.status), timeout_s, message=message)
        return self.status

    def send(self, request_id: str, visitor_id: str, item: str, count: int, feedback: list | None = None):
        goal = self.Dispense.Goal(item=item, count=count, request_id=request_id, visitor_id=visitor_id)
        assert self.action.wait_for_server(timeout_sec=10)
        sent = self.action.send_goal_async(
            goal,
            feedback_callback=lambda f: (
                feedback.append(f.feedback.dispensed) if feedback is not None else None
            ),
        )
        wait_until(sent.done, message="goal accepted")
        return sent.result()

    def dispense(self, *args, **kwargs):
        handle = self.send(*args, **kwargs)
        done = handle.get_result_async()
        wait_until(done.done, timeout_s=15, message="dispense result")
        return done.result()

    def call_refill(self):
        assert self.refill.wait_for_service(timeout_sec=10)
        future = self.refill.call_async(self.Trigger.Request())
        wait_until(future.done, message="refill reply")
        return future.result()

    def close(self) -> None:
        self.executor.shutdown(timeout_sec=2)
        self.node.destroy_node()


@pytest.fixture(scope="module")
def client(rclpy_context):
    client = Client()
    yield client
    client.close()


class Rig:
    """One emulated board and one dispenser node on it, shared by the tests of this module."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.emulator = Emulator(folder)
        self.node = start_node(folder, self.emulator.link)

    def __call__(self, command: str) -> str:
        return self.emulator(command)

    def status(self) -> dict:
        return self.emulator.status()

    def kill_and_restart(self) -> None:
        os.kill(self.node.pid, signal.SIGKILL)
        self.node.wait(timeout=5)
        self.node = start_node(self.folder, self.emulator.link)  # same journal, same port

    def stop(self) -> None:
        stop_process(self.node)
        self.emulator.stop()


@pytest.fixture(scope="module")
def rig(tmp_path_factory, client):
    rig = Rig(tmp_path_factory.mktemp("dispenser-node"))
    client.wait_status(lambda s: s.online, "dispenser online")
    yield rig
    rig.stop()


def test_happy_path_with_feedback_and_latched_status(rig, client):
    from action_msgs.msg import GoalStatus

    feedback: list[int] = []
    done = client.dispense("happy-1", "visitor-1", "candy", 2, feedback=feedback)
    assert done.status == GoalStatus.STATUS_SUCCEEDED
    assert (done.result.success, done.result.error_code, done.result.dispensed) == (True, "", 2)
    assert feedback == [1]
    status = client.wait_status(lambda s: {i.item: i.count for i in s.stock}.get("candy") == 8, "stock 8")
    assert status.hardware_id.startswith("serial:")
    assert status.firmware_version
    replay = client.dispense("happy-1", "visitor-1", "candy", 2)
    assert (replay.status, replay.result.error_code, replay.result.dispensed) == (
        GoalStatus.STATUS_ABORTED,
        "ALREADY_SERVED",
        2,
    )
    limited = client.dispense("happy-2", "visitor-1", "candy", 1)
    assert limited.result.error_code == "LIMIT_REACHED"
    assert rig.status()["dispensed"]["candy"] == 2


@pytest.mark.parametrize(
    ("inject", "code", "undo"),
    [
        ("jam", "JAM", "refill"),
        ("motor_timeout", "MOTOR_TIMEOUT", "clear"),
        ("door open", "DOOR_OPEN", "door close"),
        ("empty water", "EMPTY", "stock water 10"),
        ("mute on", "NO_REPLY", "mute off"),
        ("garble on", "GARBLED", "garble off"),
    ],
)
def test_each_fault_aborts_with_a_stable_code_and_the_node_keeps_serving(rig, client, inject, code, undo):
    from action_msgs.msg import GoalStatus

    rig(inject)
    failed = client.dispense(f"fault-{code}", f"visitor-{code}", "water", 1)
    assert failed.status == GoalStatus.STATUS_ABORTED
    assert (failed.result.success, failed.result.error_code) == (False, code)
    assert failed.result.message
    if undo == "refill":
        client.wait_status(lambda s: s.fault == code, f"status shows {code}")
        assert client.call_refill().success
    else:
        rig(undo)
    client.wait_status(lambda s: s.online and not s.fault, "healthy again")
    after = client.dispense(f"after-{code}", f"visitor-after-{code}", "water", 1)
    assert after.result.success, after.result.message


def test_cancel_stops_after_the_current_item(rig, client):
    from action_msgs.msg import GoalStatus

    rig("item_time 0.5")
    try:
        feedback: list[int] = []
        handle = client.send("cancel-1", "visitor-cancel", "candy", 2, feedback=feedback)
        wait_until(lambda: feedback, message="first item out")
        handle.cancel_goal_async()
        done = handle.get_result_async()
        wait_until(done.done, message="canceled result")
        assert done.result().status == GoalStatus.STATUS_CANCELED
        assert (done.result().result.error_code, done.result().result.dispensed) == ("CANCELED", 1)
    finally:
        rig("item_time 0.05")


def test_a_second_goal_while_dispensing_is_busy_at_once(rig, client):
    from action_msgs.msg import GoalStatus

    rig("item_time 0.5")
    try:
        feedback: list[int] = []
        first = client.send("busy-1", "visitor-busy-1", "candy", 2, feedback=feedback)
        wait_until(lambda: client.status.busy, message="busy in status")
        second = client.dispense("busy-2", "visitor-busy-2", "water", 1)
        assert (second.status, second.result.error_code) == (GoalStatus.STATUS_ABORTED, "BUSY")
        assert rig.status()["busy"]  # answered at once, while the first was still running
        done = first.get_result_async()
        wait_until(done.done, message="first result")
        assert done.result().result.success
    finally:
        rig("item_time 0.05")


def test_diagnostics_carry_the_port_as_hardware_id(rig, client):
    report = wait_until(
        lambda: next((s for s in client.diagnostics if s.name.startswith("dispenser")), None),
        message="dispenser diagnostics",
    )
    assert report.hardware_id == f"serial:{rig.emulator.link}"
    assert {v.key for v in report.values} >= {"firmware", "stock"}


def test_the_port_disappears_and_returns(rig, client):
    rig("unplug")
    client.wait_status(lambda s: not s.online and s.fault == "OFFLINE", "offline")
    offline = client.dispense("port-1", "visitor-port", "water", 1)
    assert offline.result.error_code == "OFFLINE"
    rig("plug")
    client.wait_status(lambda s: s.online, "back online")
    assert client.dispense("port-1", "visitor-port", "water", 1).result.success


def test_killed_mid_dispense_and_restarted_never_dispenses_twice(rig, client):
    rig("item_time 0.4")
    before = rig.status()["dispensed"]["candy"]
    try:
        feedback: list[int] = []
        client.send("kill-1", "visitor-kill", "candy", 2, feedback=feedback)
        wait_until(lambda: feedback, message="first item out")
        rig.kill_and_restart()
        client.status = None
        client.wait_status(lambda s: s.online, "restarted node online")
        retry = client.dispense("kill-1", "visitor-kill", "candy", 2)
        assert (retry.result.error_code, retry.result.dispensed) == ("ALREADY_SERVED", 2)
        wait_until(lambda: not rig.status()["busy"], message="board idle")
        assert rig.status()["dispensed"]["candy"] == before + 2
        assert client.dispense("kill-2", "visitor-other", "candy", 1).result.success
    finally:
        rig("item_time 0.05")
