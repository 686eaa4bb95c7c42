"""The launch runner end to end: real processes of a throw-away ament package talk over
DDS, get their arguments, parameters, remaps and namespaces, respawn, and stop with
nothing left behind (in-process API and the `launch` command)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from launch_fixtures.demo_prefix import FIXTURES, make_demo_prefix
from support import stop_process, wait_until

from service_desk_robot.launching import LaunchRunner

pytestmark = pytest.mark.ros


class Lines:
    """A thread-safe sink that keeps every output line."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)

    def all(self) -> list[str]:
        with self._lock:
            return list(self._lines)

    def find(self, pattern: str) -> re.Match[str] | None:
        for line in self.all():
            match = re.search(pattern, line)
            if match:
                return match
        return None


def gone(pid: int) -> bool:
    """No such process, or only a zombie nobody has reaped yet (it runs no code)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return make_demo_prefix(tmp_path_factory.mktemp("prefix"))


def test_two_nodes_exchange_a_message_and_a_service_call(demo_env: dict[str, str]) -> None:
    lines = Lines()
    with LaunchRunner(FIXTURES / "talk.launch.xml", environ=demo_env, sink=lines) as runner:
        wait_until(lambda: lines.find(r"^\[listener\] ticket B042$"), 20, message="the service reply")
        wait_until(lambda: lines.find(r"^\[listener\] heard 'xin chào \d+' \(vi\)$"), 10, message="a message")
        assert lines.find(r"^\[talker\] issued B042$")
        assert runner.process("talker").pid != runner.process("listener").pid
    # Both nodes ended on the first signal (SIGINT), cleanly.
    assert [p.exit_codes for p in runner.processes] == [[0], [0]]


def test_arguments_parameters_remaps_namespaces_reach_the_nodes(demo_env: dict[str, str]) -> None:
    lines = Lines()
    runner = LaunchRunner(
        FIXTURES / "params.launch.xml", {"greeting": "xin chào"}, environ=demo_env, sink=lines
    )
    with runner:
        assert runner.wait(30), "the echo nodes print and exit"
    echoes = {}
    for line in lines.all():
        match = re.match(r"^\[(\w+)\] ECHO (.*)$", line)
        if match:
            echoes[match[1]] = json.loads(match[2])
    assert set(echoes) == {"plain", "grouped", "included"}
    plain = echoes["plain"]
    assert (plain["name"], plain["namespace"], plain["topic"]) == ("plain", "/", "/remapped/chatter")
    assert plain["argv"] == ["--flag", "two words"]
    assert plain["env"] == {"DEMO_FROM_ENV_TAG": "xin chào_topic"}
    params = plain["params"]
    # From the params file, then name/value params (which win), nested groups dotted.
    assert (params["rate_hz"], params["counters"]) == (15.0, [1, 2, 3])
    assert (params["greeting"], params["count"], params["group.inner"]) == ("xin chào", 7, "fallback")
    assert params["token"] == ""  # an empty value is an empty string, not a refused argument
    grouped = echoes["grouped"]
    assert (grouped["namespace"], grouped["topic"], grouped["params"]["greeting"]) == (
        "/lobby/desk",
        "/lobby/desk/chatter",
        "scoped",
    )
    included = echoes["included"]
    assert (included["name"], included["namespace"], included["params"]["extra"]) == (
        "included",
        "/lobby",
        "inner default",
    )
    assert runner.failures == []


def test_respawn_after_a_crash(demo_env: dict[str, str]) -> None:
    lines = Lines()
    with LaunchRunner(FIXTURES / "respawn.launch.xml", environ=demo_env, sink=lines) as runner:
        crasher = runner.process("crasher")
        wait_until(lambda: crasher.restarts >= 2, 20, message="two respawns")
        once = runner.process("crash_once")
        wait_until(once.finished.is_set, 10, message="crash_once to end")
        assert lines.find(r"^\[launch\] crasher exited \(exit code 3\); respawning in 0.2 s$")
        assert lines.find(r"^\[launch\] crash_once died \(exit code 3\)")
    assert len(set(crasher.pids)) == len(crasher.pids) >= 3
    assert once.exit_codes == [3]
    assert runner.failures == ["crash_once"]
    assert all(gone(pid) for pid in crasher.pids)


def stubborn_pids(lines: Lines) -> tuple[int, int]:
    match = wait_until(lambda: lines.find(r"stubborn pid (\d+) grandchild (\d+)"), 20, message="stubborn")
    return int(match[1]), int(match[2])


def test_stop_escalates_and_leaves_no_process(demo_env: dict[str, str], tmp_path: Path) -> None:
    lines = Lines()
    runner = LaunchRunner(
        FIXTURES / "shutdown.launch.xml",
        environ=demo_env,
        sink=lines,
        log_dir=tmp_path,
        sigint_timeout_s=0.5,
        sigterm_timeout_s=0.5,
    )
    runner.start()
    try:
        talker = int(wait_until(lambda: lines.find(r"^\[talker\] talker ready pid (\d+)"), 20)[1])
        stubborn, grandchild = stubborn_pids(lines)
    finally:
        runner.stop()
    assert all(gone(pid) for pid in (talker, stubborn, grandchild))
    assert runner.process("talker").exit_codes == [0]  # a ROS node ends on SIGINT
    assert runner.process("stubborn").exit_codes == [-signal.SIGKILL]
    assert lines.find(r"^\[launch\] sending SIGKILL to stubborn$")
    # output="both": on screen and in the log file.
    assert f"stubborn pid {stubborn}" in (tmp_path / "stubborn.log").read_text()


def test_command_stops_everything_on_ctrl_c_and_exits_0(demo_env: dict[str, str]) -> None:
    command = [sys.executable, "-m", "service_desk_robot.cli", "launch", "--grace", "0.5"]
    process = subprocess.Popen(
        [*command, "demo_pkg", "shutdown.launch.xml"],
        env=demo_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = Lines()
    reader = threading.Thread(
        target=lambda: [lines(line.rstrip("\n")) for line in process.stdout], daemon=True
    )
    reader.start()
    try:
        talker = int(wait_until(lambda: lines.find(r"^\[talker\] talker ready pid (\d+)"), 20)[1])
        stubborn, grandchild = stubborn_pids(lines)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        stop_process(process)
    reader.join(timeout=5)
    assert all(gone(pid) for pid in (talker, stubborn, grandchild))
    assert lines.find(r"SIGINT received: stopping every process")
