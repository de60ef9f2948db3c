"""Circuit breaker per upstream service: a service that keeps failing is not hammered.

closed: calls go through; ``threshold`` consecutive failures open the circuit.
open: calls fail at once (503 with Retry-After) for ``open_s``.
half-open: after that, one trial call goes through; success closes, failure opens again.
State is per replica.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Literal

State = Literal["closed", "open", "half_open"]


class CircuitOpen(Exception):
    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"circuit open for {retry_after_s:.1f}s")
        self.retry_after_s = retry_after_s

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after_s)))


class CircuitBreaker:
    def __init__(self, threshold: int, open_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.open_s = open_s
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> State:
        if self.opened_at is None:
            return "closed"
        if self.clock() - self.opened_at >= self.open_s:
            return "half_open"
        return "open"

    def before_call(self) -> None:
        """Raise :class:`CircuitOpen` if the call must not be made."""
        state = self.state
        if state == "closed":
            return
        if state == "half_open" and not self._trial_in_flight:
            self._trial_in_flight = True
            return
        assert self.opened_at is not None
        raise CircuitOpen(max(0.0, self.open_s - (self.clock() - self.opened_at)) or self.open_s)

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self._trial_in_flight = False

    def failure(self) -> None:
        self.failures += 1
        if self._trial_in_flight or self.failures >= self.threshold:
            self.opened_at = self.clock()
        self._trial_in_flight = False

    def release(self) -> None:
        """The call ended without telling anything about the upstream (the client went away)."""
        self._trial_in_flight = False
