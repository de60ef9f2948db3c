"""Rate limiting with the generic cell rate algorithm (GCRA), one counter per key.

State lives in this process: each gateway replica limits on its own, so with N replicas behind a
load balancer a client can make up to N times the configured rate. That is the documented
trade-off (no shared store on the request path); the limits are sized per replica.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: float = 0.0
    remaining: int = 0

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after_s)))


class RateLimiter:
    """At most ``limit`` events per ``window_s`` per key, allowing the whole ``limit`` as one burst."""

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit and window must be positive")
        self.limit = limit
        self.window_s = window_s
        self.interval = window_s / limit
        self.max_keys = max_keys
        self.clock = clock
        self._tat: OrderedDict[str, float] = OrderedDict()  # theoretical arrival time per key

    def check(self, key: str) -> Verdict:
        """Would one more event be allowed now? Consumes nothing."""
        return self._evaluate(key, consume=False)

    def hit(self, key: str) -> Verdict:
        """Count one event; the verdict says whether it was within the limit."""
        return self._evaluate(key, consume=True)

    def reset(self, key: str) -> None:
        self._tat.pop(key, None)

    def _evaluate(self, key: str, *, consume: bool) -> Verdict:
        now = self.clock()
        tat = max(self._tat.get(key, now), now)
        new_tat = tat + self.interval
        if new_tat - now > self.window_s + 1e-9:
            return Verdict(False, retry_after_s=new_tat - now - self.window_s)
        remaining = int((self.window_s - (new_tat - now)) / self.interval + 1e-9)
        if consume:
            self._tat[key] = new_tat
            self._tat.move_to_end(key)
            self._evict()
        return Verdict(True, remaining=remaining)

    def _evict(self) -> None:
        # Least recently touched first: dropping a counter only forgives that client, and memory stays bounded.
        while len(self._tat) > self.max_keys:
            self._tat.popitem(last=False)

    def __len__(self) -> int:
        return len(self._tat)
