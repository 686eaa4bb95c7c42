"""Helpers for tests: wait on conditions with a deadline (never bare sleeps), free ports,
and child processes that are always ended by their process id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from service_desk_robot.ports import free_loopback_ports

VENV_BIN = Path(sys.prefix) / "bin"


def wait_until(
    predicate: Callable[[], object],
    timeout_s: float = 10.0,
    interval_s: float = 0.02,
    message: str = "condition",
) -> object:
    """Return the predicate's first truthy value; fail the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {message}")
        time.sleep(interval_s)


def free_tcp_port() -> int:
    return free_loopback_ports(1)[0]


def stop_process(process: subprocess.Popen, grace_s: float = 5.0) -> int:
    """SIGINT, then SIGTERM, then SIGKILL, each after a grace period; returns the exit code."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            break
        process.send_signal(sig)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            continue
    return process.wait()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
