"""The machine's state beside a benchmark's numbers: load average and CPU steal (from /proc/stat).

A figure measured while another tenant steals CPU or the load average is above the core count is
not comparable with one from a quiet machine; every benchmark records both with its result.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from typing import Any


def _cpu_times() -> tuple[int, int]:
    """(steal, total) jiffies of all CPUs since boot; (0, 0) where /proc/stat is missing."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    steal = fields[7] if len(fields) > 7 else 0
    return steal, sum(fields[:8])


@dataclass(frozen=True)
class Machine:
    """Load average (1, 5, 15 min), CPU steal in percent over the measured span, and the core count."""

    load_average: tuple[float, float, float]
    steal_pct: float
    cpus: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        one, five, fifteen = self.load_average
        return f"machine: load average {one:.2f} {five:.2f} {fifteen:.2f}, CPU steal {self.steal_pct:.1f}%, " \
               f"{self.cpus} cores"


class Watch:
    """Start it before a benchmark, read ``state()`` after: the steal is over that span."""

    def __init__(self) -> None:
        self._start = _cpu_times()
        self._t = time.monotonic()

    def state(self) -> Machine:
        steal, total = _cpu_times()
        spent = total - self._start[1]
        pct = 100.0 * (steal - self._start[0]) / spent if spent > 0 else 0.0
        one, five, fifteen = os.getloadavg()
        return Machine((round(one, 2), round(five, 2), round(fifteen, 2)), round(pct, 2), os.cpu_count() or 1)
