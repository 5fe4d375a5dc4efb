"""The machine's state beside a load run's or a benchmark's numbers: load average and CPU steal.

A latency measured while another tenant steals CPU (``steal`` in /proc/stat) or while more work is
runnable than there are cores is not the product's alone. Every load run records both with its
numbers (``machine`` in its result file); a bound it misses while the machine was starved says so
in the failure (``starved()``), and the analyzer files it under the blocker "noisy-machine". It
stays a failure: noise turns nothing green.
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


# starved: another tenant took at least this share of the CPU during the run ...
STEAL_STARVED_PCT = 5.0
# ... or more work was runnable than the cores could serve (a load run itself keeps ~2 busy on 2 cores)
LOAD_STARVED_PER_CPU = 1.5


@dataclass(frozen=True)
class Machine:
    """Load average (1, 5, 15 min), CPU steal in percent over the measured span, and the core count."""

    load_average: tuple[float, float, float]
    steal_pct: float
    cpus: int

    def starved(self) -> str:
        """Why the machine was starved during the span ("" when it was not)."""
        reasons = []
        if self.steal_pct >= STEAL_STARVED_PCT:
            reasons.append(f"CPU steal {self.steal_pct:.1f}% (another tenant; >= {STEAL_STARVED_PCT:g}%)")
        if self.load_average[0] > LOAD_STARVED_PER_CPU * self.cpus:
            reasons.append(f"load average {self.load_average[0]:.2f} on {self.cpus} cores "
                           f"(> {LOAD_STARVED_PER_CPU:g} per core)")
        return "; ".join(reasons)

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
