"""The robot's touchscreen and the staff console (no ROS imports).

- `state`: `ScreenState`, the aggregator the screen node feeds from ROS callbacks with
  plain method calls; it builds the visitor and staff snapshots the pages show.
- `intents`: validation of the taps the visitor screen turns into dialogue intents.
- `config`: loading and checking the screen's labels (vi + en) and catalogue.
- `app`: the Starlette web application (pages, JSON API, server-sent events, staff token).
- `server`: running that application with uvicorn in a background thread.

Exceptions form one tree under `ScreenError`:

    ScreenError
    ├── ScreenConfigError    bad labels or catalogue (configure time)
    ├── InvalidIntentError   a visitor tap that is not a valid intent (carries `code`)
    └── ScreenServerError    the web server could not start (port taken, bad address)
"""

from __future__ import annotations


class ScreenError(Exception):
    """Base of every error raised by the screen core."""


class ScreenConfigError(ScreenError):
    """The screen's labels or catalogue are missing or inconsistent."""


class InvalidIntentError(ScreenError):
    """A visitor tap that cannot become a dialogue intent; `code` is stable for clients."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ScreenServerError(ScreenError):
    """The web server could not start or stop."""
