"""Blacklist (daftar hitam) periods and their states."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

PROPOSED, CONFIRMED, DISMISSED, REVOKED, LIFTED = "proposed", "confirmed", "dismissed", "revoked", "lifted"


class BlacklistError(ValueError):
    pass


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def default_period(start: date, months: int) -> tuple[date, date]:
    """``months`` long, inclusive of both ends: 1 March for 12 months ends on the last day of February."""
    return start, add_months(start, months) - timedelta(days=1)


def check_period(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise BlacklistError("ends_on is before starts_on")


def confirm(status: str) -> str:
    if status != PROPOSED:
        raise BlacklistError(f"only a proposed entry can be confirmed; this one is {status}")
    return CONFIRMED


def dismiss(status: str) -> str:
    if status != PROPOSED:
        raise BlacklistError(f"only a proposed entry can be dismissed; this one is {status}")
    return DISMISSED


def revoke(status: str) -> str:
    if status != CONFIRMED:
        raise BlacklistError(f"only a confirmed entry in force can be revoked; this one is {status}")
    return REVOKED


def lifted_on(ends_on: date) -> date:
    """An entry is lifted the day after its last day."""
    return ends_on + timedelta(days=1)
