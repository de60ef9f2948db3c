"""Performance ratings and the track record built from them."""

from __future__ import annotations

from collections.abc import Iterable


def overall_score(scores: Iterable[tuple[int, int]]) -> int:
    """Overall 0-100 from (score, scale_max) pairs, each criterion weighted by its scale; rounded half up."""
    pairs = list(scores)
    if not pairs:
        raise ValueError("a rating needs at least one criterion")
    for score, scale in pairs:
        if scale <= 0 or not 0 <= score <= scale:
            raise ValueError(f"score {score} is outside 0..{scale}")
    got, most = sum(s for s, _ in pairs), sum(m for _, m in pairs)
    return (200 * got + most) // (2 * most)


def average(values: Iterable[int]) -> int | None:
    items = list(values)
    if not items:
        return None
    return (2 * sum(items) + len(items)) // (2 * len(items))
