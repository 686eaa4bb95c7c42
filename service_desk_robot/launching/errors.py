"""Exceptions of the launch runner.

LaunchError                 anything that stops a launch file from being run
├── SubstitutionError       a `$(...)` expression that cannot be evaluated (no location yet)
├── LaunchFileError         a problem in a launch file, with its path and line
└── ProcessStartError       a process that could not be started by the operating system
"""

from __future__ import annotations

from pathlib import Path


class LaunchError(Exception):
    """Base of every launch runner error."""


class SubstitutionError(LaunchError):
    """A substitution failed; the parser re-raises it as a LaunchFileError with a location."""


class LaunchFileError(LaunchError):
    """An error in a launch file: `str()` reads `path:line: message`."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.message = message
        location = f"{self.path}:{line}" if line else str(self.path)
        super().__init__(f"{location}: {message}")


class ProcessStartError(LaunchError):
    """The operating system refused to start a process (permissions, missing interpreter)."""
