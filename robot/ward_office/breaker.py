"""A circuit breaker: after repeated failures, fail fast for a while instead of waiting.

CLOSED: calls go through; `failure_threshold` consecutive failures open it.
OPEN: calls are refused at once (`allow()` is False) until `reset_after_s` has passed.
HALF_OPEN: one trial call goes through; success closes the breaker, failure re-opens it.

The clock is injected (monotonic seconds) so tests step time instead of sleeping.
Thread-safe: the bridge's poller and service callbacks share one breaker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

CLOSED, OPEN, HALF_OPEN = "CLOSED", "OPEN", "HALF_OPEN"


class CircuitBreaker:
    def __init__(
        self,
        failure_threshold: int = 3,
        reset_after_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or reset_after_s <= 0:
            raise ValueError("failure_threshold must be >= 1 and reset_after_s > 0")
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> str:
        with self._lock:
            return self._current_state()

    def _current_state(self) -> str:
        if self._state == OPEN and self._clock() - self._opened_at >= self.reset_after_s:
            self._state = HALF_OPEN
            self._trial_in_flight = False
        return self._state

    def retry_in_s(self) -> float:
        """Seconds until an open breaker lets a trial call through (0 when not open)."""
        with self._lock:
            if self._current_state() != OPEN:
                return 0.0
            return max(0.0, self.reset_after_s - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """May a call go out now? In HALF_OPEN only one trial is let through at a time."""
        with self._lock:
            state = self._current_state()
            if state == CLOSED:
                return True
            if state == HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._state, self._failures, self._trial_in_flight = CLOSED, 0, False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._current_state() == HALF_OPEN or self._failures >= self.failure_threshold:
                self._state, self._opened_at, self._trial_in_flight = OPEN, self._clock(), False
