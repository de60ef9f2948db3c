"""The service's notion of now, injectable so that assignment validity is testable without sleeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]
JAKARTA = ZoneInfo("Asia/Jakarta")


def system_clock() -> datetime:
    return datetime.now(UTC)


def jakarta_today(now: datetime) -> date:
    """Assignment letters are dated in Kota Tangerang's time zone."""
    return now.astimezone(JAKARTA).date()
