"""Operation history of a load run and the checkers that find lost, duplicated or slow jobs.

Each request is an operation: ``invoke`` then exactly one of ``ok`` (acknowledged, with the
job id the system gave back), ``fail`` (definitely not done: refused, rejected) or ``info``
(indeterminate: a timeout or a connection reset after the request was sent — the system may
or may not have done it). This is the Jepsen model; the checkers are pure functions of it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from harness.errors import LoadError

Outcome = Literal["ok", "fail", "info"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "fail", "info")


@dataclass(frozen=True)
class Operation:
    """One request: who invoked it, when, and how it ended (times are wall-clock seconds)."""

    process: int
    f: str
    invoked: float
    completed: float
    outcome: Outcome
    job_id: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one checker: valid or not, how much it saw, and every problem found."""

    name: str
    valid: bool
    checked: int
    problems: tuple[str, ...] = ()

    def message(self, limit: int = 10) -> str:
        """A one-paragraph report: the verdict and the first ``limit`` problems."""
        head = f"{self.name}: {'valid' if self.valid else 'INVALID'} ({self.checked} checked"
        head += f", {len(self.problems)} problems)" if self.problems else ")"
        shown = [f"  - {problem}" for problem in self.problems[:limit]]
        if len(self.problems) > limit:
            shown.append(f"  ... and {len(self.problems) - limit} more")
        return "\n".join([head, *shown])


class History:
    """An append-only list of operations, built by the driver or by hand with invoke/complete."""

    def __init__(self, operations: Iterable[Operation] = (),
                 clock: Callable[[], float] = time.time) -> None:
        self._done: list[Operation] = list(operations)
        self._pending: dict[int, tuple[int, str, float]] = {}
        self._next = 0
        self._clock = clock

    def invoke(self, process: int, f: str = "submit") -> int:
        """Start an operation now; returns its handle for ``complete``."""
        handle = self._next
        self._next += 1
        self._pending[handle] = (process, f, self._clock())
        return handle

    def complete(self, handle: int, outcome: Outcome, *, job_id: str | None = None,
                 error: str | None = None) -> Operation:
        """End an invoked operation as ok, fail or info."""
        if outcome not in OUTCOMES:
            raise LoadError(f"unknown outcome {outcome!r}", hint=f"use one of {OUTCOMES}")
        try:
            process, f, invoked = self._pending.pop(handle)
        except KeyError:
            raise LoadError(f"operation {handle} was never invoked or is already complete",
                            hint="call complete() once per handle that invoke() returned") from None
        operation = Operation(process, f, invoked, self._clock(), outcome, job_id, error)
        self._done.append(operation)
        return operation

    def add(self, operation: Operation) -> None:
        """Append an operation that is already complete."""
        self._done.append(operation)

    def operations(self) -> list[Operation]:
        """Every operation; ones still pending count as indeterminate (``info``)."""
        now = self._clock()
        pending = [Operation(p, f, t, now, "info", None, "still pending")
                   for p, f, t in self._pending.values()]
        return sorted(self._done + pending, key=lambda op: op.invoked)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations())

    def __len__(self) -> int:
        return len(self._done) + len(self._pending)

    def counts(self) -> dict[str, int]:
        """How many operations ended ok, fail and info."""
        seen = Counter(op.outcome for op in self.operations())
        return {outcome: seen.get(outcome, 0) for outcome in OUTCOMES}

    def acknowledged(self) -> list[Operation]:
        """The operations the system acknowledged with a job id."""
        return [op for op in self.operations() if op.outcome == "ok" and op.job_id is not None]

    def events(self) -> list[dict[str, object]]:
        """Jepsen-style events (invoke, then ok/fail/info) in time order, for export."""
        timed: list[tuple[float, int, dict[str, object]]] = []
        for index, op in enumerate(self.operations()):
            timed.append((op.invoked, 2 * index, {"index": index, "process": op.process,
                          "type": "invoke", "f": op.f, "value": None, "time": op.invoked}))
            timed.append((op.completed, 2 * index + 1, {"index": index, "process": op.process,
                          "type": op.outcome, "f": op.f, "value": op.job_id, "time": op.completed,
                          "error": op.error}))
        return [event for _, _, event in sorted(timed, key=lambda item: item[:2])]


def no_lost_jobs(history: History, lookup: Callable[[str], bool],
                 seen: Callable[[str], str] = lambda job_id: "") -> CheckResult:
    """Every acknowledged job must still be found by ``lookup(job_id)`` (``seen``: its last state, for the report)."""
    acked = history.acknowledged()
    lost = [f"job {op.job_id} accepted at {_clock_text(op.completed)} never completed{_last(seen(op.job_id or ''))}"
            for op in acked if not lookup(op.job_id or "")]
    return CheckResult("no acknowledged job lost", not lost, len(acked), tuple(lost))


def no_duplicate_ids(history: History) -> CheckResult:
    """No job id may be handed out by two different operations."""
    ids = Counter(op.job_id for op in history.operations() if op.job_id is not None)
    dupes = [f"job id {job_id} returned {n} times" for job_id, n in ids.items() if n > 1]
    return CheckResult("no job id duplicated", not dupes, sum(ids.values()), tuple(dupes))


def completes_within(history: History, completed_at: Callable[[str], float | None],
                     within: float, seen: Callable[[str], str] = lambda job_id: "") -> CheckResult:
    """Every acknowledged job completes within ``within`` seconds of the moment its request was sent.

    ``completed_at(job_id)`` gives the wall-clock completion time, or None if it never did;
    ``seen(job_id)`` what was last seen of it (its state, reason), for the report.
    """
    problems: list[str] = []
    acked = history.acknowledged()
    for op in acked:
        job_id = op.job_id or ""
        done = completed_at(job_id)
        sent = _clock_text(op.invoked)
        if done is None:
            problems.append(f"job {job_id} accepted at {sent} never completed{_last(seen(job_id))}")
        elif done - op.invoked > within:
            problems.append(f"job {job_id} sent at {sent} completed {done - op.invoked:.3f}s later (bound {within:g}s)")
    return CheckResult(f"every accepted job completes within {within:g}s of its request", not problems, len(acked),
                       tuple(problems))


def _clock_text(at: float) -> str:
    """A wall-clock time as ``HH:MM:SS.mmm`` UTC."""
    return time.strftime("%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1000):03d}"


def _last(seen: str) -> str:
    return f" (last seen: {seen})" if seen else ""
