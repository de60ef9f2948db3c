"""How money and times are written for Indonesian readers, in Bahasa Indonesia and English.

Rupiah is written as Indonesia writes it in both languages (``Rp1.500.000.000``: no space, dots
between thousands, no decimals: the platform keeps integer Rupiah). Times are shown in Asia/Jakarta
(WIB) whatever the server's zone; month and day names come from Babel's CLDR data.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime

JAKARTA = ZoneInfo("Asia/Jakarta")
LANGUAGES = ("id", "en")


def rupiah(amount: int | None) -> str:
    """``1500000000`` -> ``Rp1.500.000.000``; negative amounts keep their sign before the symbol."""
    if amount is None:
        return "-"
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("Rupiah amounts are integers")
    digits = f"{abs(amount):,}".replace(",", ".")
    return f"-Rp{digits}" if amount < 0 else f"Rp{digits}"


def jakarta_datetime(when: datetime | None, language: str) -> str:
    """``2026-01-02T03:00Z`` -> ``2 Januari 2026 pukul 10.00 WIB`` / ``2 January 2026, 10:00 WIB``."""
    if when is None:
        return "-"
    if when.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    local = when.astimezone(JAKARTA)
    if language == "id":
        return babel_format_datetime(local, "d MMMM y 'pukul' HH.mm", tzinfo=JAKARTA, locale="id") + " WIB"
    return babel_format_datetime(local, "d MMMM y, HH:mm", tzinfo=JAKARTA, locale="en") + " WIB"


def jakarta_date(day: date | datetime | None, language: str) -> str:
    """A calendar date (or the Jakarta date of a time): ``2 Januari 2026`` / ``2 January 2026``."""
    if day is None:
        return "-"
    if isinstance(day, datetime):
        day = day.astimezone(JAKARTA).date()
    return babel_format_date(day, "d MMMM y", locale="id" if language == "id" else "en")
