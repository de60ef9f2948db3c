"""Formats of Indonesian business identifiers."""

from __future__ import annotations

import re

from stdnum.exceptions import ValidationError as StdnumError
from stdnum.id import npwp as stdnum_npwp

_NIB = re.compile(r"^\d{13}$")
_KBLI = re.compile(r"^\d{5}$")
# SBU sub-classifications (Permen PUPR 6/2021) are two letters and three digits, e.g. BG004, SI001.
_SBU = re.compile(r"^[A-Z]{2}\d{3}$")


def normalize_npwp(value: str) -> str:
    """The NPWP as digits only; 15-digit (old) and 16-digit (NIK-based or 0-prefixed) forms, check digit included."""
    try:
        return str(stdnum_npwp.validate(value))
    except StdnumError as exc:
        raise ValueError(f"not a valid NPWP (15 or 16 digits with a valid check digit): {exc}") from exc


def normalize_nib(value: str) -> str:
    compact = value.strip()
    if not _NIB.match(compact):
        raise ValueError("an NIB (Nomor Induk Berusaha) is exactly 13 digits")
    return compact


def normalize_kbli(value: str) -> str:
    compact = value.strip()
    if not _KBLI.match(compact):
        raise ValueError("a KBLI business field is a 5-digit code, e.g. 41011")
    return compact


def normalize_sbu(value: str) -> str:
    compact = value.strip().upper()
    if not _SBU.match(compact):
        raise ValueError("an SBU sub-classification is two letters and three digits, e.g. BG004")
    return compact
