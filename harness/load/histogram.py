"""An HDR-style latency histogram: log-linear buckets, O(1) recording, <= 0.4% relative error."""

from __future__ import annotations

import math
from collections.abc import Iterable

from harness.errors import LoadError

# 2**_SUB_BITS linear sub-buckets per power of two: the bucket width is at most 1/128 of the
# value, and reporting the bucket's midpoint halves that, so any percentile is within 0.4%.
_SUB_BITS = 8
_SUB_COUNT = 1 << _SUB_BITS
_HALF = _SUB_COUNT >> 1
# Values are integer nanoseconds; 2**42 ns is 73 minutes, far past any request timeout.
_MAX_BITS = 42
_BUCKETS = (_MAX_BITS - _SUB_BITS + 1) * _HALF + _HALF
_MAX_TRACKABLE = (1 << _MAX_BITS) - 1

PERCENTILES: tuple[float, ...] = (50.0, 90.0, 95.0, 99.0, 99.9)


def _index(value_ns: int) -> int:
    """Bucket index of a non-negative value in nanoseconds."""
    bits = value_ns.bit_length()
    if bits <= _SUB_BITS:
        return value_ns
    shift = bits - _SUB_BITS
    return shift * _HALF + (value_ns >> shift)


def _bounds(index: int) -> tuple[int, int]:
    """The lowest value and the width of bucket ``index``."""
    if index < _SUB_COUNT:
        return index, 1
    shift = index // _HALF - 1
    return (index - shift * _HALF) << shift, 1 << shift


class Histogram:
    """Latency counts in log-linear buckets from 1 ns to 73 min; values in seconds."""

    __slots__ = ("counts", "total", "min_ns", "max_ns", "sum_ns")

    def __init__(self) -> None:
        self.counts = [0] * _BUCKETS
        self.total = 0
        self.min_ns = _MAX_TRACKABLE
        self.max_ns = 0
        self.sum_ns = 0

    def record(self, seconds: float) -> None:
        """Add one value in seconds (negative values count as zero)."""
        self.record_ns(int(seconds * 1e9) if seconds > 0 else 0)

    def record_ns(self, value_ns: int) -> None:
        """Add one value in integer nanoseconds; values past 73 minutes are clamped."""
        if value_ns > _MAX_TRACKABLE:
            value_ns = _MAX_TRACKABLE
        self.counts[_index(value_ns)] += 1
        self.total += 1
        self.sum_ns += value_ns
        if value_ns < self.min_ns:
            self.min_ns = value_ns
        if value_ns > self.max_ns:
            self.max_ns = value_ns

    def record_many(self, values: Iterable[float]) -> None:
        """Add many values in seconds."""
        for value in values:
            self.record(value)

    def merge(self, other: Histogram) -> None:
        """Add every count of ``other`` into this histogram."""
        counts = self.counts
        for index, count in enumerate(other.counts):
            if count:
                counts[index] += count
        self.total += other.total
        self.sum_ns += other.sum_ns
        self.min_ns = min(self.min_ns, other.min_ns)
        self.max_ns = max(self.max_ns, other.max_ns)

    def percentile(self, p: float) -> float:
        """The value in seconds at percentile ``p`` (0-100, nearest rank); 0.0 when empty."""
        if not 0.0 <= p <= 100.0:
            raise LoadError(f"percentile {p!r} is out of range", hint="use a number from 0 to 100")
        if self.total == 0:
            return 0.0
        if p >= 100.0:
            return self.max_ns / 1e9
        rank = max(1, math.ceil(p / 100.0 * self.total))
        seen = 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= rank:
                low, width = _bounds(index)
                middle = low + (width - 1) / 2
                return min(max(middle, self.min_ns), self.max_ns) / 1e9
        return self.max_ns / 1e9  # unreachable: counts add up to total

    def percentiles(self, ps: Iterable[float] = PERCENTILES) -> dict[float, float]:
        """Several percentiles in seconds, keyed by percentile."""
        return {p: self.percentile(p) for p in ps}

    @property
    def count(self) -> int:
        """How many values were recorded."""
        return self.total

    @property
    def max(self) -> float:
        """The largest value in seconds (exact); 0.0 when empty."""
        return self.max_ns / 1e9

    @property
    def min(self) -> float:
        """The smallest value in seconds (exact); 0.0 when empty."""
        return self.min_ns / 1e9 if self.total else 0.0

    @property
    def mean(self) -> float:
        """The mean in seconds (exact); 0.0 when empty."""
        return self.sum_ns / self.total / 1e9 if self.total else 0.0
