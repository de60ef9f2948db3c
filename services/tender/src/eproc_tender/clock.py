"""The service's notion of now, injectable so that stage windows and deadlines are testable without sleeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")


class Clock:
    """Wall-clock time; tests replace it with a :class:`ManualClock`.

    ``listeners`` are told when time jumps (a manual clock moved), so the scheduler re-checks what fell due.
    """

    def __init__(self) -> None:
        self.listeners: list[Callable[[], None]] = []

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now()


class ManualClock(Clock):
    def __init__(self, start: datetime) -> None:
        super().__init__()
        if start.tzinfo is None:
            raise ValueError("the clock needs a timezone-aware time")
        self.value = start.astimezone(UTC)

    def now(self) -> datetime:
        return self.value

    def set(self, value: datetime) -> None:
        self.value = value.astimezone(UTC)
        for listener in list(self.listeners):
            listener()
