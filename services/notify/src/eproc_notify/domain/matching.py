"""Which vendor subscriptions an announcement matches.

Every criterion a subscription sets must hold (a KBLI code in common, the package's OPD, a keyword in
the package name); criteria left empty do not restrict. Keywords match whole-word prefixes, case- and
accent-insensitively, so ``jalan`` finds "Pembangunan Jalan Lingkungan" but not "perjalanan".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Criteria:
    kbli_codes: frozenset[str]
    opd_ids: frozenset[str]
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Announcement:
    name: str
    opd_id: str
    kbli_codes: frozenset[str]


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", fold(text))


def keyword_matches(keyword: str, name: str) -> bool:
    wanted = _words(keyword)
    if not wanted:
        return False
    words = _words(name)
    # A phrase matches consecutive words, its last word as a prefix ("alat kesehatan", "konstruk").
    for start in range(len(words) - len(wanted) + 1):
        window = words[start : start + len(wanted)]
        if window[:-1] == wanted[:-1] and window[-1].startswith(wanted[-1]):
            return True
    return False


def matches(criteria: Criteria, announcement: Announcement) -> bool:
    if criteria.kbli_codes and not (criteria.kbli_codes & announcement.kbli_codes):
        return False
    if criteria.opd_ids and announcement.opd_id not in criteria.opd_ids:
        return False
    return not criteria.keywords or any(keyword_matches(k, announcement.name) for k in criteria.keywords)


def normalise_keywords(keywords: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for keyword in keywords:
        cleaned = " ".join(keyword.split())
        if cleaned and fold(cleaned) not in (fold(k) for k in seen):
            seen[cleaned] = None
    return tuple(seen)
