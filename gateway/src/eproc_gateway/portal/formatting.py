"""How the portal writes money, shares and times: integer Rupiah with Indonesian grouping, Asia/Jakarta."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")
DASH = "\u2013"  # shown for a missing value
MINUS = "\u2212"
MONTHS = {
    "id": ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}


def grouped(value: int) -> str:
    """1250000 -> '1.250.000' (Indonesian thousands separator, whatever the page language)."""
    return f"{abs(value):,}".replace(",", ".")


def rupiah(value: Any) -> str:
    """Integer Rupiah as 'Rp 1.250.000'; money is never a float, so anything else shows as a dash."""
    if isinstance(value, bool) or not isinstance(value, int):
        return DASH
    return f"{MINUS if value < 0 else ''}Rp {grouped(value)}"


def basis_points(value: Any, lang: str) -> str:
    """10 000 basis points = 100 %: '15,80 %' in Indonesian, '15.80%' in English."""
    if isinstance(value, bool) or not isinstance(value, int):
        return DASH
    sign = MINUS if value < 0 else ""
    whole, rest = divmod(abs(value), 100)
    return f"{sign}{whole},{rest:02d} %" if lang == "id" else f"{sign}{whole}.{rest:02d}%"


def share_bp(part: int | None, whole: int | None) -> int | None:
    """part / whole in basis points, rounded half away from zero (integers only)."""
    if part is None or not whole:
        return None
    numerator = part * 10_000
    sign = -1 if (numerator < 0) != (whole < 0) else 1
    return sign * ((2 * abs(numerator) + abs(whole)) // (2 * abs(whole)))


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))


def jakarta_time(value: Any, lang: str) -> str:
    """An instant as '12 Mar 2025 14:05 WIB' (Asia/Jakarta, UTC+7)."""
    moment = parse_time(value)
    if moment is None:
        return DASH
    local = moment.astimezone(JAKARTA)
    return f"{local.day} {MONTHS[lang][local.month - 1]} {local.year} {local:%H:%M} WIB"


def iso_jakarta(value: Any) -> str:
    """For <time datetime=...>: the instant with its Jakarta offset."""
    moment = parse_time(value)
    return moment.astimezone(JAKARTA).isoformat() if moment else ""


def calendar_date(value: Any, lang: str) -> str:
    """A calendar date (contract dates are Jakarta days already) as '3 Mar 2026'."""
    if isinstance(value, str) and value:
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if not isinstance(value, date):
        return DASH
    return f"{value.day} {MONTHS[lang][value.month - 1]} {value.year}"


def duration(seconds: Any, lang: str) -> str:
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        return DASH
    days, rest = divmod(seconds, 86_400)
    hours = rest // 3600
    return f"{days} hari {hours} jam" if lang == "id" else f"{days} d {hours} h"


def hundredths(value: Any, lang: str) -> str:
    """An average kept as hundredths (e.g. average_bidders_x100) as '2,50' / '2.50'."""
    if isinstance(value, bool) or not isinstance(value, int):
        return DASH
    whole, rest = divmod(abs(value), 100)
    sep = "," if lang == "id" else "."
    return f"{MINUS if value < 0 else ''}{whole}{sep}{rest:02d}"
