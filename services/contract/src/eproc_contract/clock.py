"""The service's notion of now, injectable so that time rules are tested without sleeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]
JAKARTA = ZoneInfo("Asia/Jakarta")


def system_clock() -> datetime:
    return datetime.now(UTC)


def jakarta_date(moment: datetime) -> date:
    """Contract dates (signing, SPMK, handover, lateness) are calendar days in Kota Tangerang's time zone."""
    return moment.astimezone(JAKARTA).date()
