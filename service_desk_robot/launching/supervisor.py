"""Start, watch, respawn and stop the processes of a launch description.

Each child runs in its own session (so its process group holds it and everything it
forks, and a terminal's Ctrl-C reaches only the runner, which then stops the children
in order). Output lines are prefixed `[label] `: `output="screen"` sends stdout and
stderr to the sink, `"log"` writes stdout to `<log_dir>/<label>.log` and stderr to both,
`"both"` sends everything to both (ros2 launch's meanings).

A child that exits is logged; with `respawn` it is started again after its
`respawn_delay`, otherwise the others keep running (as in ros2 launch). `stop()` sends
SIGINT to every process group, then SIGTERM, then SIGKILL, each after a grace period,
and returns when no process of any group is left.

Threading: one monitor thread per process (waits, respawns) and one reader thread per
output pipe; shared state is guarded by one lock, and the sink is called under a
separate lock so lines never interleave mid-line.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

from service_desk_robot.launching.errors import ProcessStartError
from service_desk_robot.launching.parser import ProcessSpec

LineSink = Callable[[str], None]
RUNNER_LABEL = "launch"
_READER_JOIN_S = 0.5  # a grandchild may hold the pipe open after the child died: do not wait on it
_POLL_S = 0.02


def stdout_sink(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class ManagedProcess:
    """One process of the launch and its history; read-only for callers."""

    def __init__(self, spec: ProcessSpec) -> None:
        self.spec = spec
        self.popen: subprocess.Popen[bytes] | None = None
        self.pids: list[int] = []  # every pid it ran as, respawns included
        self.exit_codes: list[int] = []  # one per ended run; negative = killed by that signal
        self.finished = threading.Event()  # set when it will not run again
        self.thread: threading.Thread | None = None

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def pid(self) -> int | None:
        return self.pids[-1] if self.pids else None

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    @property
    def restarts(self) -> int:
        return max(0, len(self.pids) - 1)


class Supervisor:
    def __init__(
        self,
        specs: list[ProcessSpec],
        *,
        sink: LineSink = stdout_sink,
        log_dir: Path | None = None,
        environ: Mapping[str, str] | None = None,
        sigint_timeout_s: float = 5.0,
        sigterm_timeout_s: float = 5.0,
    ) -> None:
        self.processes = [ManagedProcess(spec) for spec in specs]
        self._sink = sink
        self._sink_lock = threading.Lock()
        self._log_dir = log_dir
        self._environ = dict(os.environ if environ is None else environ)
        self._timeouts = {signal.SIGINT: sigint_timeout_s, signal.SIGTERM: sigterm_timeout_s}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._groups: set[int] = set()  # process groups that may still hold processes
        self._log_files: dict[str, IO[str]] = {}
        self.failures: list[str] = []  # labels of non-respawn processes that died non-zero

    # -- public ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start every process; if one cannot start, stop those started and raise."""
        for process in self.processes:
            try:
                with self._lock:
                    self._spawn(process)
            except OSError as error:
                self.emit(RUNNER_LABEL, f"cannot start {process.label} ({process.spec.source}): {error}")
                self.stop()
                raise ProcessStartError(f"cannot start {process.label}: {error}") from error
        for process in self.processes:
            process.thread = threading.Thread(
                target=self._monitor, args=(process,), name=f"launch-{process.label}", daemon=True
            )
            process.thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until no process runs or will run again; True when that happened in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for process in self.processes:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not process.finished.wait(remaining):
                return False
        return True

    def stop(self, *, force: bool = False) -> None:
        """SIGINT, SIGTERM, SIGKILL to every process group in turn; returns when all are gone.

        `force` skips straight to SIGKILL (a second Ctrl-C).
        """
        with self._lock:
            self._stopping.set()
        steps = [signal.SIGKILL] if force else [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]
        for sig in steps:
            groups = self._live_groups()
            if not groups:
                break
            if sig != signal.SIGINT:
                self.emit(RUNNER_LABEL, f"sending {sig.name} to {self._labels_of(groups)}")
            for group in groups:
                _signal_group(group, sig)
            deadline = time.monotonic() + self._timeouts.get(sig, 5.0)
            while self._live_groups() and time.monotonic() < deadline:
                time.sleep(_POLL_S)
        for process in self.processes:
            if process.thread is not None:
                process.thread.join()
            process.finished.set()
        for file in self._log_files.values():
            file.close()
        self._log_files.clear()

    def emit(self, label: str, line: str) -> None:
        with self._sink_lock:
            self._sink(f"[{label}] {line}")

    # -- internals -------------------------------------------------------------------------

    def _spawn(self, process: ManagedProcess) -> None:
        """Start one run of `process` (caller holds the lock)."""
        spec = process.spec
        env = {**self._environ, **spec.env}
        env.setdefault("PYTHONUNBUFFERED", "1")  # lines reach the prefixer as they are printed
        popen = subprocess.Popen(
            spec.cmd,
            cwd=spec.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        process.popen = popen
        process.pids.append(popen.pid)
        self._groups.add(popen.pid)
        self.emit(RUNNER_LABEL, f"{spec.label} started with pid {popen.pid}")
        to_log = spec.output in ("log", "both")
        for stream, to_screen in ((popen.stdout, spec.output != "log"), (popen.stderr, True)):
            threading.Thread(
                target=self._pump,
                args=(stream, spec.label, to_screen, to_log),
                name=f"launch-{spec.label}-out",
                daemon=True,
            ).start()

    def _pump(self, stream: IO[bytes], label: str, to_screen: bool, to_log: bool) -> None:
        log = self._log_file(label) if to_log else None
        with stream:
            for raw in stream:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if to_screen:
                    self.emit(label, line)
                if log is not None:
                    with self._sink_lock:
                        if not log.closed:
                            log.write(line + "\n")
                            log.flush()

    def _log_file(self, label: str) -> IO[str]:
        with self._sink_lock:
            if label not in self._log_files:
                if self._log_dir is None:
                    base = Path(self._environ.get("ROS_LOG_DIR") or Path.home() / ".ros/log")
                    self._log_dir = base / f"launch-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
                self._log_dir.mkdir(parents=True, exist_ok=True)
                self._log_files[label] = (self._log_dir / f"{label}.log").open("a", encoding="utf-8")
            return self._log_files[label]

    def _monitor(self, process: ManagedProcess) -> None:
        spec = process.spec
        while True:
            popen = process.popen
            code = popen.wait() if popen is not None else -1
            process.exit_codes.append(code)
            self._forget_group_if_empty(popen.pid if popen is not None else None)
            if self._stopping.is_set():
                break
            if not spec.respawn:
                if code != 0:
                    self.failures.append(spec.label)
                how = "finished cleanly" if code == 0 else f"died (exit code {_describe(code)})"
                others = sum(1 for p in self.processes if p is not process and not p.finished.is_set())
                self.emit(RUNNER_LABEL, f"{spec.label} {how}; {others} other process(es) still running")
                break
            self.emit(
                RUNNER_LABEL,
                f"{spec.label} exited (exit code {_describe(code)}); "
                f"respawning in {spec.respawn_delay_s:g} s",
            )
            if self._stopping.wait(spec.respawn_delay_s):
                break
            with self._lock:
                if self._stopping.is_set():
                    break
                try:
                    self._spawn(process)
                except OSError as error:
                    self.emit(RUNNER_LABEL, f"cannot respawn {spec.label}: {error}; giving up on it")
                    break
        process.finished.set()

    def _forget_group_if_empty(self, group: int | None) -> None:
        if group is None:
            return
        with self._lock:
            if group in self._groups and not _group_exists(group):
                self._groups.discard(group)

    def _live_groups(self) -> list[int]:
        with self._lock:
            # A group is live while its leader is unreaped or any member (a grandchild) remains.
            leaders = {p.popen.pid: p for p in self.processes if p.popen is not None}
            live = []
            for group in sorted(self._groups):
                leader = leaders.get(group)
                if (leader is not None and leader.popen.poll() is None) or _group_exists(group):
                    live.append(group)
                else:
                    self._groups.discard(group)
            return live

    def _labels_of(self, groups: list[int]) -> str:
        by_group = {pid: p.label for p in self.processes for pid in p.pids}
        return ", ".join(by_group.get(group, str(group)) for group in groups)


def _group_exists(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # cannot happen for our own children; treat as present
        return True
    return True


def _signal_group(group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, sig)


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"{code}, {signal.Signals(-code).name}"
        except ValueError:
            return str(code)
    return str(code)
