"""Fixtures shared by every test.

The ROS environment of the whole test session is prepared here, at import time, before
any test module can import rclpy: loopback-only discovery, a domain id claimed for this
session alone, and logs in a temporary folder (service_desk_robot.ros_env).
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from service_desk_robot import ros_env

ros_env.prepare_run(fresh_domain=True, log_dir=Path(tempfile.mkdtemp(prefix="sdr-test-ros-log-")))

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def rclpy_context() -> Iterator[None]:
    """rclpy initialised once for the in-process tests of a session."""
    import rclpy

    rclpy.init()
    yield
    rclpy.try_shutdown()


@pytest.fixture
def ros_spin(rclpy_context: None) -> Iterator[callable]:
    """Spin nodes in a background executor: `ros_spin(node_a, node_b)`; stopped at teardown."""
    from rclpy.executors import MultiThreadedExecutor

    executor = MultiThreadedExecutor(num_threads=4)
    thread = threading.Thread(target=executor.spin, daemon=True)
    nodes = []

    def add(*new_nodes):
        for node in new_nodes:
            nodes.append(node)
            executor.add_node(node)
        if not thread.is_alive():
            thread.start()

    yield add
    executor.shutdown(timeout_sec=2)
    if thread.is_alive():
        thread.join(timeout=2)
    for node in nodes:
        close = getattr(node, "close", None)
        if callable(close):
            close()
        node.destroy_node()
