"""The sweep's pure decisions about time and work: what the baseline says, each scenario's time limit under a
fault, which cells a shard runs, in what order, and when the budget is spent.

    judge_baseline(runs)          scenarios that passed every fault-free run / failed every one / flaked
    limits(durations, timeout)    scenario -> seconds it may take under a fault (``--scenario-timeout``)
    parse_shard("2/4"), shard()   a deterministic split of the whole fault space for CI runners
    order(cells, reduction)       the most informative cells first
    Budget                        stop before a cell that would not finish in time
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harness.errors import ConfigError
from harness.faults.kinds import FaultSpec
from harness.sweep.outcome import PASSED, ScenarioResult

LIMIT_FACTOR = 2.0  # a scenario may take twice its slowest fault-free run under a fault ...
LIMIT_SLACK_S = 10.0  # ... plus this (a fault's own cost: a reconnect, a retry, a re-registration)
AUTO = None  # --scenario-timeout not given: LIMIT_FACTOR x baseline + LIMIT_SLACK_S per scenario


@dataclass(frozen=True)
class Judged:
    """What the fault-free runs say: which scenarios a sweep keeps, and which it leaves out and why."""

    kept: tuple[str, ...]  # passed in every run, in selection order
    failing: tuple[ScenarioResult, ...]  # failed in every run (its first failure)
    flaky: tuple[ScenarioResult, ...]  # passed in one run and failed in another (its failure)
    durations: Mapping[str, float]  # scenario -> its slowest fault-free duration

    @property
    def left_out(self) -> tuple[ScenarioResult, ...]:
        """Every scenario left out: failing first, then flaky."""
        return self.failing + self.flaky


def judge_baseline(selection: Sequence[str], runs: Sequence[Sequence[ScenarioResult]]) -> Judged:
    """Keep the scenarios that passed in every run; a scenario missing from a run (behave died) counts as failed."""
    kept: list[str] = []
    failing: list[ScenarioResult] = []
    flaky: list[ScenarioResult] = []
    durations: dict[str, float] = {}
    for location in selection:
        results = [next((r for r in run if r.location == location), None) for run in runs]
        passed = [r for r in results if r is not None and r.status == PASSED]
        durations[location] = max((r.duration for r in passed), default=0.0)
        if results and len(passed) == len(results):
            kept.append(location)
            continue
        failure = next((r for r in results if r is not None and r.status != PASSED),
                       ScenarioResult(location, "", "missing", error="no result (behave wrote none)"))
        (flaky if passed else failing).append(failure)
    return Judged(tuple(kept), tuple(failing), tuple(flaky), durations)


def limits(durations: Mapping[str, float], timeout: float | None = AUTO) -> dict[str, float]:
    """Each scenario's limit under a fault: ``timeout`` seconds for all, none with 0, else 2 x its baseline + slack."""
    if timeout is not AUTO:
        return {"*": float(timeout)} if timeout and timeout > 0 else {}
    return {s: round(LIMIT_FACTOR * d + LIMIT_SLACK_S, 1) for s, d in durations.items()}


def parse_timeout(text: str) -> float | None:
    """``--scenario-timeout``: ``auto`` (the default), ``0`` (no limit) or seconds."""
    if text in ("", "auto"):
        return AUTO
    try:
        value = float(text)
    except ValueError as exc:
        raise ConfigError(f"not seconds: {text!r}", key="--scenario-timeout",
                          hint="give seconds (e.g. 30), 0 for no limit, or auto") from exc
    if value < 0:
        raise ConfigError(f"a negative limit: {text!r}", key="--scenario-timeout", hint="0 means no limit")
    return value


def parse_shard(text: str) -> tuple[int, int] | None:
    """``--shard I/N`` -> (I, N), 1 <= I <= N; empty -> None."""
    if not text:
        return None
    first, sep, second = text.partition("/")
    try:
        index, count = int(first), int(second)
    except ValueError:
        index = count = 0
    if not sep or not 1 <= index <= count:
        raise ConfigError(f"not a shard: {text!r}", key="--shard", hint="I/N with 1 <= I <= N, e.g. --shard 2/4")
    return index, count


def shard(cells: Sequence[FaultSpec], which: tuple[int, int] | None) -> list[FaultSpec]:
    """Shard I of N: every N-th cell of the whole (unreduced, stably ordered) fault space, starting at the I-th.

    The split is made before the reduction, so it does not depend on what a shard's baseline observed: the
    shards of one space never overlap and together hold every cell.
    """
    if which is None:
        return list(cells)
    index, count = which
    return [c for n, c in enumerate(cells) if n % count == index - 1]


def space_id(env: str, selection: Sequence[str], cells: Sequence[FaultSpec]) -> str:
    """A short hash naming a sweep's question (environment, selection, whole fault space): shards of one sweep
    share it, so a merge can tell they belong together."""
    text = "\n".join([env, " ".join(selection), *(f"{c.label} {sorted(c.params.items())}" for c in cells)])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def order(cells: Sequence[FaultSpec], scenarios: Mapping[FaultSpec, Sequence[str]]) -> list[FaultSpec]:
    """The most informative cells first: most scenarios exercised; ties keep the space's order."""
    return sorted(cells, key=lambda c: -len(scenarios.get(c, ())))


def likeliest_failure_first(scenarios: Sequence[str], failures: Mapping[str, int]) -> list[str]:
    """With --first-failure: the scenarios that failed in most cells so far first (a cell that detects its fault
    ends sooner); ties keep the selection's order."""
    return sorted(scenarios, key=lambda s: -failures.get(s, 0))


@dataclass
class Budget:
    """Seconds a sweep may take; a cell starts only when the typical cell so far still fits."""

    limit_s: float | None
    workers: int = 1

    def allows(self, elapsed: float, durations: Sequence[float]) -> bool:
        """Whether another cell may start ``elapsed`` seconds into the sweep."""
        if self.limit_s is None:
            return True
        typical = sum(durations) / len(durations) if durations else 0.0
        return elapsed + typical <= self.limit_s

    def left(self, remaining_cells: int, durations: Sequence[float]) -> float:
        """Seconds the remaining cells should take across the workers, by the mean cell so far."""
        if not durations:
            return 0.0
        return remaining_cells * (sum(durations) / len(durations)) / max(1, self.workers)
