"""What a load run measured: per-request records and the summaries drawn from them."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

from harness.load.histogram import PERCENTILES, Histogram
from harness.load.history import History, Operation, Outcome
from harness.load.machine import Machine

# The driver appends one plain tuple per request (cheapest to build in the hot loop):
# (user, seq, intended, start, end, first_event, status, outcome, error, job_id).
# Times are seconds from the run's start on the monotonic clock; first_event is NaN when
# the request was not streamed or no event came; status is 0 when no response came.
RawRecord = tuple[int, int, float, float, float, float, int, Outcome, str | None, str | None]


class Record(NamedTuple):
    """One request as the driver saw it; times are seconds from the start of the run."""

    user: int
    seq: int
    intended: float
    start: float
    end: float
    first_event: float
    status: int
    outcome: Outcome
    error: str | None
    job_id: str | None

    @property
    def latency(self) -> float:
        """Seconds from the intended send time to the end of the response."""
        return self.end - self.intended

    @property
    def service_time(self) -> float:
        """Seconds from the actual send to the end of the response."""
        return self.end - self.start

    @property
    def time_to_first_event(self) -> float | None:
        """Seconds from the intended send time to the first SSE event, if one came."""
        return None if math.isnan(self.first_event) else self.first_event - self.intended


class Second(NamedTuple):
    """One second of the run, by completion time."""

    second: int
    completed: int
    ok: int
    not_ok: int
    p50: float
    p99: float


@dataclass
class LoadResult:
    """The outcome of one run: records plus throughput, success, percentiles and timeline."""

    mode: str
    method: str
    url: str
    users: int
    started_at: float
    elapsed: float
    raw: list[RawRecord]
    planned: int | None = None
    rate: float | None = None
    loop: str = "asyncio"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def starved(self) -> str:
        """Why the machine was starved during the run ("" when it was not, or was not recorded)."""
        state = self.extra.get("machine")
        if not isinstance(state, dict):
            return ""
        return Machine(tuple(state.get("load_average") or (0.0, 0.0, 0.0)),
                       float(state.get("steal_pct") or 0.0), int(state.get("cpus") or 1)).starved()

    @property
    def count(self) -> int:
        """Requests that completed (with a response or an error)."""
        return len(self.raw)

    @cached_property
    def outcomes(self) -> dict[str, int]:
        """Requests per outcome: ok, fail, info (indeterminate)."""
        seen = Counter(r[7] for r in self.raw)
        return {name: seen.get(name, 0) for name in ("ok", "fail", "info")}

    @property
    def ok_count(self) -> int:
        """Requests that met the success predicate."""
        return self.outcomes["ok"]

    @property
    def success_rate(self) -> float:
        """Fraction of completed requests that succeeded (1.0 for an empty run)."""
        return self.ok_count / self.count if self.count else 1.0

    @property
    def throughput(self) -> float:
        """Completed requests per second over the run."""
        return self.count / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def ok_throughput(self) -> float:
        """Successful requests per second over the run."""
        return self.ok_count / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def unsent(self) -> int:
        """Open loop: requests scheduled but never sent before the run's hard stop."""
        return max(0, (self.planned or 0) - self.count)

    @cached_property
    def status_counts(self) -> dict[int, int]:
        """Responses per HTTP status; 0 counts requests that got no response."""
        return dict(sorted(Counter(r[6] for r in self.raw).items()))

    @cached_property
    def error_counts(self) -> dict[str, int]:
        """Requests per error description (connection refused, timeout, ...)."""
        return dict(Counter(r[8] for r in self.raw if r[8] is not None).most_common())

    @cached_property
    def histogram(self) -> Histogram:
        """Latency from the intended send time, over every completed request."""
        histogram = Histogram()
        record = histogram.record
        for r in self.raw:
            record(r[4] - r[2])
        return histogram

    @cached_property
    def service_histogram(self) -> Histogram:
        """Latency from the actual send time (what a coordinated-omission tool reports)."""
        histogram = Histogram()
        for r in self.raw:
            histogram.record(r[4] - r[3])
        return histogram

    @cached_property
    def ttfe_histogram(self) -> Histogram:
        """Time to first SSE event from the intended send time, for streamed requests."""
        histogram = Histogram()
        for r in self.raw:
            if not math.isnan(r[5]):
                histogram.record(r[5] - r[2])
        return histogram

    def percentiles(self) -> dict[str, float]:
        """Latency min/p50/p90/p95/p99/p99.9/max in seconds, keyed "min", "p50" ... "max"."""
        return named(self.histogram)

    @property
    def ids(self) -> list[str]:
        """Job ids taken from successful responses, in completion order."""
        return [r[9] for r in self.raw if r[9] is not None]

    def records(self) -> list[Record]:
        """Every request as a named record."""
        return [Record(*r) for r in self.raw]

    @cached_property
    def timeline(self) -> list[Second]:
        """Per-second completions, successes and latency percentiles."""
        seconds: dict[int, list[RawRecord]] = {}
        for r in self.raw:
            seconds.setdefault(int(r[4]), []).append(r)
        timeline = []
        for second in range(max(seconds, default=-1) + 1):
            rows = seconds.get(second, [])
            histogram = Histogram()
            for r in rows:
                histogram.record(r[4] - r[2])
            ok = sum(1 for r in rows if r[7] == "ok")
            timeline.append(Second(second, len(rows), ok, len(rows) - ok,
                                   histogram.percentile(50), histogram.percentile(99)))
        return timeline

    def history(self, f: str = "submit") -> History:
        """The run as an operation history (wall-clock times) for the fault checkers."""
        t0 = self.started_at
        return History(Operation(r[0], f, t0 + r[3], t0 + r[4], r[7], r[9], r[8]) for r in self.raw)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (latencies in milliseconds)."""
        return {
            "mode": self.mode, "method": self.method, "url": self.url, "users": self.users,
            "rate": self.rate, "loop": self.loop, "elapsed_s": round(self.elapsed, 3),
            "requests": self.count, "planned": self.planned, "unsent": self.unsent,
            "throughput_rps": round(self.throughput, 1), "success_rate": round(self.success_rate, 6),
            "outcomes": self.outcomes, "status_counts": {str(k): v for k, v in self.status_counts.items()},
            "errors": self.error_counts,
            "latency_ms": {k: round(v * 1e3, 3) for k, v in self.percentiles().items()},
            "ttfe_ms": ({k: round(v * 1e3, 3) for k, v in named(self.ttfe_histogram).items()}
                        if self.ttfe_histogram.count else None),
            **self.extra,
        }

    def format_table(self, label: str = "") -> str:
        """A Markdown table: requests, success, req/s and latency percentiles in ms."""
        return format_table({label or f"{self.mode} {self.method} {self.url}": self})


def named(histogram: Histogram) -> dict[str, float]:
    """A histogram's min, p50 ... p99.9 and max in seconds, keyed "min", "p50" ... "max"."""
    values = {"min": histogram.min}
    values.update({f"p{p:g}": v for p, v in histogram.percentiles(PERCENTILES).items()})
    values["max"] = histogram.max
    return values


def format_table(results: dict[str, LoadResult]) -> str:
    """A Markdown latency table with one row per labelled result."""
    names = ["p50", "p90", "p95", "p99", "p99.9", "max"]
    lines = ["| run | requests | ok % | req/s | " + " | ".join(f"{n} ms" for n in names) + " |",
             "|---|---:|---:|---:|" + "---:|" * len(names)]
    for label, result in results.items():
        values = result.percentiles()
        cells = [label, str(result.count), f"{result.success_rate * 100:.2f}",
                 f"{result.throughput:.0f}", *(f"{values[n] * 1e3:.2f}" for n in names)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
