"""Performance: every load run against the bounds its steps asserted, and against earlier runs.

A bound step ("the p99 latency is below 250 ms", "at least 99% succeed", ...) applies to the load
run that finished last before it, in the same scenario. The pass/fail of a bound is computed
from the saved numbers, so a bound that never ran (skipped after an earlier failure) still shows.

Regression: a percentile is flagged when it exceeds the reference (baseline run, else the median of
the history) by more than ``TOLERANCE`` (i.e. more than double) and by at least ``FLOOR_MS``. Why so
wide: over 261 saved load runs of 20 identical load specs on this shared 2-core machine (one
afternoon, other suites running), p95 divided by its spec's median was 1.61 at the 75th percentile,
1.8 at the 80th and 3.3 at the 90th. Doubling is beyond ~80% of that noise, while a real regression
(300 ms injected on a 60 ms endpoint: 6x) stands far above it; the 20 ms floor keeps fast endpoints
quiet. The default go/no-go rule on regressions is a warning for that reason.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from harness.analysis.annotate import Annotation
from harness.analysis.evidence import LoadRun
from harness.analysis.model import Run, Scenario, Step

TOLERANCE = 1.0
FLOOR_MS = 20.0
PERCENTILES = ("p50", "p95", "p99")

_BOUNDS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"the (p50|p90|p95|p99\.9|p99|max) latency is below ([\d.]+) ms"), "latency_ms.{0}", "<"),
    (re.compile(r"the (p50|p90|p95|p99\.9|p99|max) latency is at least ([\d.]+) ms"), "latency_ms.{0}", ">="),
    (re.compile(r"the (p50|p90|p95|p99\.9|p99|max) time to first event is below ([\d.]+) ms"), "ttfe_ms.{0}", "<"),
    (re.compile(r"at least ([\d.]+)% succeed"), "success_pct", ">="),
    (re.compile(r"at least ([\d.]+)% of the messages were delivered"), "delivery_pct", ">="),
    (re.compile(r"the throughput is at least ([\d.]+) requests per second"), "throughput_rps", ">="),
    (re.compile(r"the load run took less than ([\d.]+) seconds"), "elapsed_s", "<"),
)


@dataclass(frozen=True, slots=True)
class Bound:
    """One asserted bound: metric, operator, target, the actual value and whether it holds."""

    metric: str
    op: str
    target: float
    actual: float | None
    step: str
    step_status: str

    @property
    def met(self) -> bool | None:
        """True/False from the numbers; None when the run did not measure the metric."""
        if self.actual is None:
            return None
        return self.actual < self.target if self.op == "<" else self.actual >= self.target


@dataclass(frozen=True, slots=True)
class Trend:
    """A percentile now against the reference (baseline or history median) and the values over runs."""

    percentile: str
    now: float
    reference: float | None
    history: tuple[float, ...]

    @property
    def regressed(self) -> bool:
        """Beyond TOLERANCE and FLOOR_MS above the reference."""
        return (self.reference is not None and self.now > self.reference * (1 + TOLERANCE)
                and self.now - self.reference >= FLOOR_MS)


@dataclass(frozen=True, slots=True)
class PerfRow:
    """One load run: where it ran, its numbers, its bounds, its trend."""

    id: str
    scenario: str
    location: str
    load: LoadRun
    bounds: tuple[Bound, ...]
    trends: tuple[Trend, ...] = ()

    @property
    def met(self) -> bool:
        """Every measured bound holds."""
        return all(b.met is not False for b in self.bounds)

    def value(self, metric: str) -> float | None:
        """A metric of the run's summary: ``latency_ms.p99``, ``success_pct``, ``delivery_pct``, ..."""
        return metric_value(self.load.summary, metric)


def metric_value(summary: Mapping[str, object], metric: str) -> float | None:
    """Read a metric from a saved load summary (None when absent)."""
    if metric == "success_pct":
        value = summary.get("success_rate")
        return float(value) * 100 if isinstance(value, int | float) else None
    if metric == "delivery_pct":
        value = summary.get("delivery_ratio")
        return float(value) * 100 if isinstance(value, int | float) else None
    head, _, tail = metric.partition(".")
    value = summary.get(head)
    if tail and isinstance(value, Mapping):
        value = value.get(tail)
    return float(value) if isinstance(value, int | float) else None


def performance(run: Run, notes: Mapping[str, Annotation], loads: Sequence[LoadRun],
                baseline: Sequence[PerfRow] | None = None,
                history: Sequence[Sequence[PerfRow]] = ()) -> list[PerfRow]:
    """A row per load run, with bounds; trends against the baseline's run, else the history's median."""
    rows: list[PerfRow] = []
    claimed: set[str] = set()
    for scenario in run.scenarios():
        note = notes.get(scenario.key)
        if note is None or not note.load_runs:
            continue
        for n, load in enumerate(note.load_runs, 1):
            claimed.add(load.name + load.env)
            bounds = tuple(_bounds(scenario, load, note.load_runs))
            rows.append(PerfRow(f"{scenario.key}#{n}", scenario.name, scenario.location, load, bounds))
    rows.extend(PerfRow(f"{load.env}/{load.summary.get('target', '')}/{load.mode}#{load.name}", "", "", load, ())
                for load in loads if load.name + load.env not in claimed)
    return [_with_trend(row, baseline, history) for row in rows]


_QUEUED = re.compile(r"the (p50|p90|p95|p99\.9|p99|max) latency is within the baseline queued on (\d+) slots "
                     r"plus ([\d.]+) ms")
_BASELINE = re.compile(r"a single request is timed (\d+) times as the baseline")


def _bounds(scenario: Scenario, load: LoadRun, runs: Sequence[LoadRun]) -> Iterable[Bound]:
    for step in scenario.steps:
        queued = _QUEUED.search(step.name)
        if queued:
            name = f"latency_ms.{queued.group(1)}"
            baseline = _baseline_ms(scenario, runs)
            if baseline is not None and _owner(step, name, runs) is load:
                requests = float(metric_value(load.summary, "requests") or 0)
                target = baseline * math.ceil(requests / max(int(queued.group(2)), 1)) + float(queued.group(3))
                yield Bound(name, "<", round(target, 1), metric_value(load.summary, name), step.text, step.status)
            continue
        for pattern, metric, op in _BOUNDS:
            found = pattern.search(step.name)
            if found:
                name = metric.format(found.group(1)) if "{0}" in metric else metric
                if _owner(step, name, runs) is load:
                    yield Bound(name, op, float(found.groups()[-1]), metric_value(load.summary, name),
                                step.text, step.status)
                break


def _baseline_ms(scenario: Scenario, runs: Sequence[LoadRun]) -> float | None:
    """The scenario's baseline: the median latency of the load run its baseline step made."""
    step = next((s for s in scenario.steps if _BASELINE.search(s.name)), None)
    if step is None:
        return None
    during = [r for r in runs if r.started is not None and step.started
              and step.started - 0.5 <= r.started <= step.started + step.duration + 0.5]
    single = during or [r for r in runs if r.summary.get("users") == 1]
    return metric_value(single[0].summary, "latency_ms.p50") if single else None


def _owner(step: Step, metric: str, runs: Sequence[LoadRun]) -> LoadRun | None:
    """The run a check step looks at: among the runs that measured the metric, the one that finished
    last before the step (else the first); a delivery check looks at the WebSocket run, not the HTTP one.
    Finished, not started: subscribers opened before an HTTP run end after it, and the step reads them."""
    measured = [r for r in runs if metric_value(r.summary, metric) is not None] or list(runs)
    if not step.started:
        return measured[-1] if measured else None
    done = [r for r in measured if r.started is not None and r.started + r.elapsed <= step.started + 0.5]
    return max(done, key=lambda r: (r.started or 0.0) + r.elapsed) if done else (measured[0] if measured else None)


def _with_trend(row: PerfRow, baseline: Sequence[PerfRow] | None,
                history: Sequence[Sequence[PerfRow]]) -> PerfRow:
    base = next((r for r in baseline or () if r.id == row.id), None)
    earlier = [r for rows in history for r in rows if r.id == row.id]
    trends = []
    for name in PERCENTILES:
        now = row.value(f"latency_ms.{name}")
        if now is None:
            continue
        metric = f"latency_ms.{name}"
        values = tuple(v for r in earlier if (v := r.value(metric)) is not None)
        reference = base.value(metric) if base is not None else (statistics.median(values) if values else None)
        trends.append(Trend(name, now, reference, values))
    return PerfRow(row.id, row.scenario, row.location, row.load, row.bounds, tuple(trends))


def bounds_missed(rows: Iterable[PerfRow]) -> list[tuple[PerfRow, Bound]]:
    """Every bound whose numbers say it was not met."""
    return [(row, b) for row in rows for b in row.bounds if b.met is False]


def regressions(rows: Iterable[PerfRow]) -> list[tuple[PerfRow, Trend]]:
    """Every percentile flagged as regressed."""
    return [(row, t) for row in rows for t in row.trends if t.regressed]
