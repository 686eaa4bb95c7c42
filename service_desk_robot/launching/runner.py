"""`LaunchRunner`: run a launch file from Python (the `launch`, `sim` and `chat` commands).

    runner = LaunchRunner("launch/sim.launch.xml", {"use_sim": "true"})  # parses: errors here
    runner.start()            # every process started, or LaunchError and none left running
    ...
    runner.stop()             # SIGINT, SIGTERM, SIGKILL per process group; nothing left

It is also a context manager (`with LaunchRunner(...) as runner:`). The file is read when
the runner is built, so a bad file raises before anything starts. Children inherit the
environment of this process (prepared by ros_env.prepare_run) plus each tag's <env>.
Threading: see supervisor.py; the methods may be called from any one thread.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from service_desk_robot.launching.parser import LaunchDescription, load_launch_file
from service_desk_robot.launching.supervisor import LineSink, ManagedProcess, Supervisor, stdout_sink


class LaunchRunner:
    def __init__(
        self,
        launch: str | os.PathLike[str] | LaunchDescription,
        arguments: Mapping[str, str] | None = None,
        *,
        sink: LineSink = stdout_sink,
        log_dir: Path | None = None,
        environ: Mapping[str, str] | None = None,
        sigint_timeout_s: float = 5.0,
        sigterm_timeout_s: float = 5.0,
    ) -> None:
        if isinstance(launch, LaunchDescription):
            if arguments:
                raise TypeError("arguments apply when reading a file; this description is already read")
            self.description = launch
        else:
            self.description = load_launch_file(launch, arguments, environ=environ)
        self._supervisor = Supervisor(
            self.description.processes,
            sink=sink,
            log_dir=log_dir,
            environ=environ,
            sigint_timeout_s=sigint_timeout_s,
            sigterm_timeout_s=sigterm_timeout_s,
        )
        self._started = False

    @property
    def processes(self) -> list[ManagedProcess]:
        return self._supervisor.processes

    def process(self, label: str) -> ManagedProcess:
        for process in self.processes:
            if process.label == label:
                return process
        raise KeyError(f"no process labelled {label!r}; have {[p.label for p in self.processes]}")

    def start(self) -> LaunchRunner:
        self._started = True
        self._supervisor.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """True once every process has ended for good (none running, none to respawn)."""
        return self._supervisor.wait(timeout)

    def stop(self, *, force: bool = False) -> None:
        if self._started:
            self._supervisor.stop(force=force)

    @property
    def failures(self) -> list[str]:
        """Labels of processes (without respawn) that died with a non-zero code by themselves."""
        return list(self._supervisor.failures)

    def __enter__(self) -> LaunchRunner:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
