"""When a failed delivery is tried again, when it is given up, and when an endpoint is disabled.

Pauses grow exponentially (``base * factor**(n-1)``, capped) and a delivery is retried only within
its window (a day by default) from when it was queued: the defaults give 10 s, 30 s, 1.5 min, 4.5 min,
13.5 min, 40 min, 2 h, 6 h, 6 h... about eleven attempts in a day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 10.0
    factor: float = 3.0
    max_delay_s: float = 6 * 3600.0
    window_s: float = 86400.0

    def delay_after(self, failures: int) -> timedelta:
        """Pause after the ``failures``-th failed attempt (1 for the first)."""
        if failures < 1:
            raise ValueError("failures starts at 1")
        return timedelta(seconds=min(self.base_s * self.factor ** (failures - 1), self.max_delay_s))

    def next_attempt(self, queued_at: datetime, now: datetime, failures: int) -> datetime | None:
        """When to try again after ``failures`` failed attempts, or ``None`` once the window is used up."""
        at = now + self.delay_after(failures)
        if at > queued_at + timedelta(seconds=self.window_s):
            return None
        return at


@dataclass(frozen=True)
class DisablePolicy:
    """An endpoint that keeps failing is disabled: enough consecutive failures over a long enough time."""

    after_failures: int = 20
    after_s: float = 86400.0

    def should_disable(self, consecutive_failures: int, failing_since: datetime | None, now: datetime) -> bool:
        if consecutive_failures < self.after_failures or failing_since is None:
            return False
        return now - failing_since >= timedelta(seconds=self.after_s)
