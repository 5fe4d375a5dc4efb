"""Per-tenant token-bucket rate limiting."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """``capacity`` requests at once, refilled at ``refill_per_second``; one bucket per tenant."""

    def __init__(self, capacity: int, refill_per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity, self.refill, self._clock = capacity, refill_per_second, clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, tenant: str) -> float:
        """Spend one token: 0.0 when allowed, else the seconds until one is available."""
        now = self._clock()
        bucket = self._buckets.setdefault(tenant, _Bucket(float(self.capacity), now))
        bucket.tokens = min(float(self.capacity), bucket.tokens + (now - bucket.updated) * self.refill)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        if self.refill <= 0:
            return float("inf")
        return (1.0 - bucket.tokens) / self.refill
