"""Token buckets: a tenant's request rate, and failed authentications per client address.

A bucket holds at most ``burst`` tokens and gains ``rate_per_s`` a second; a request takes one
token or is refused (429), and the refusal says when the next token comes (``Retry-After``).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    rate_per_s: float
    burst: float
    tokens: float = -1.0  # -1: full at first use
    updated: float = field(default_factory=time.monotonic)

    def _refill(self, now: float) -> None:
        if self.tokens < 0:
            self.tokens = self.burst
        else:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate_per_s)
        self.updated = now

    def take(self, now: float | None = None) -> float:
        """Take a token: 0.0 when granted, else the seconds until one is there (nothing taken)."""
        self._refill(time.monotonic() if now is None else now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate_per_s if self.rate_per_s > 0 else math.inf

    def wait_s(self, now: float | None = None) -> float:
        """Seconds until a token is there (0.0: one is), taking nothing."""
        self._refill(time.monotonic() if now is None else now)
        if self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) / self.rate_per_s if self.rate_per_s > 0 else math.inf


class Buckets:
    """One bucket per key (a tenant id, a client address), made on first use by ``make``. At most
    ``max_keys`` are kept, least recently used dropped first, so a flood of addresses cannot grow
    the table without bound (a dropped key starts again with a full bucket)."""

    def __init__(self, make: Callable[[str], TokenBucket | None], max_keys: int = 10_000) -> None:
        self._make = make
        self._buckets: OrderedDict[str, TokenBucket | None] = OrderedDict()
        self._max_keys = max_keys

    def bucket(self, key: str) -> TokenBucket | None:
        """The key's bucket; None when ``make`` said the key is not limited."""
        if key in self._buckets:
            self._buckets.move_to_end(key)
            return self._buckets[key]
        made = self._make(key)
        self._buckets[key] = made
        if len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return made

    def take(self, key: str) -> float:
        """0.0 when the key may go on (or is not limited), else the seconds to wait."""
        found = self.bucket(key)
        return 0.0 if found is None else found.take()

    def wait_s(self, key: str) -> float:
        found = self.bucket(key)
        return 0.0 if found is None else found.wait_s()
