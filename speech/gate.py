"""Self-hearing guard: the listener ignores audio while the robot speaks, plus a tail.

The tail covers what the microphone still picks up after playback ends (room echo,
the player's buffer). Thread-safe: `set_speaking` comes from a ROS callback, `is_open`
from the audio callback and the recogniser's worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SpeakingGate:
    def __init__(self, tail_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.tail_s = tail_s
        self._clock = clock
        self._lock = threading.Lock()
        self._speaking = False
        self._quiet_since = -float("inf")
        self.closed_count = 0  # audio chunks refused, for diagnostics

    def set_speaking(self, speaking: bool) -> None:
        with self._lock:
            if self._speaking and not speaking:
                self._quiet_since = self._clock()
            self._speaking = speaking

    @property
    def speaking(self) -> bool:
        return self._speaking

    def is_open(self, at: float | None = None) -> bool:
        """True when audio heard at `at` (default: now) may be the visitor's, not the robot's."""
        with self._lock:
            now = self._clock() if at is None else at
            return not self._speaking and now - self._quiet_since >= self.tail_s

    def admit(self, at: float | None = None) -> bool:
        """is_open(), counting refusals."""
        open_ = self.is_open(at)
        if not open_:
            with self._lock:
                self.closed_count += 1
        return open_
