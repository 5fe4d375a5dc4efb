"""What a cell came to: its scenarios' results under the fault, the recovery after the undo, and the outcome.

    tolerated      every scenario passed under the fault, and the environment recovered
    detected       some scenario failed (which, its first error, the blocker: the first failing step)
    intermittent   the cell's tries (``--confirm``, harness.sweep.confirm) disagree: some tolerated, some detected
    no recovery    probes and the smoke scenario did not pass again within the ready timeout
    not exercised  no scenario of the selection touched the target (dynamic reduction)
    fault failed   the fault could not be injected (the cell says nothing about the system)
    not run        the budget ran out or the sweep was interrupted first
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.faults.kinds import FaultSpec

TOLERATED = "tolerated"
DETECTED = "detected"
NO_RECOVERY = "no recovery"
NOT_EXERCISED = "not exercised"
FAULT_FAILED = "fault failed"
NOT_RUN = "not run"
INTERMITTENT = "intermittent"
OUTCOMES = (TOLERATED, DETECTED, INTERMITTENT, NO_RECOVERY, NOT_EXERCISED, FAULT_FAILED, NOT_RUN)
EXERCISED = (TOLERATED, DETECTED, INTERMITTENT, NO_RECOVERY)  # cells that ran scenarios under their fault
PASSED = "passed"


@dataclass(frozen=True)
class ScenarioResult:
    """One scenario's result in a cell: status, the failing step and the first line of its error."""

    location: str
    name: str
    status: str
    step: str = ""
    error: str = ""
    duration: float = 0.0  # seconds, as behave measured the scenario
    started: float = field(default=0.0, compare=False)  # wall clock (the run record's stamp); not in sweep.json

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"location": self.location, "name": self.name, "status": self.status, "step": self.step,
                "error": self.error, "duration": round(self.duration, 2)}


@dataclass(frozen=True)
class CellResult:
    """A finished (or skipped) cell."""

    fault: FaultSpec
    scenarios: tuple[ScenarioResult, ...] = ()
    recovered: bool = True
    recovery_s: float | None = None
    seconds: float = 0.0
    ran: bool = True
    timeline: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    folder: str = ""
    phases: Mapping[str, float] = field(default_factory=dict)  # where the cell's seconds went (behave, probes, smoke)
    worker: int = 0  # the sweep worker that ran it (0: none)
    tries: tuple[tuple[ScenarioResult, ...], ...] = ()  # the confirmation tries after the first (``--confirm``)

    @property
    def all_tries(self) -> tuple[tuple[ScenarioResult, ...], ...]:
        """Every try's scenario results, the first (``scenarios``) first."""
        return (self.scenarios, *self.tries)

    @property
    def failed(self) -> list[ScenarioResult]:
        """The scenarios that did not pass in the first try that had a failure."""
        return next(([s for s in t if s.status != PASSED] for t in self.all_tries
                     if any(s.status != PASSED for s in t)), [])

    @property
    def failed_by_try(self) -> list[list[str]]:
        """Each try's failing scenarios (locations); an empty list for a try that passed whole."""
        return [[s.location for s in t if s.status != PASSED] for t in self.all_tries]

    @property
    def outcome(self) -> str:
        """The cell's outcome (module docstring)."""
        return classify(self)

    @property
    def blocker(self) -> str:
        """The first failing scenario's failing step and error, in one line."""
        first = next(iter(self.failed), None)
        if first is None:
            return ""
        return f"{first.step}: {first.error}" if first.step else first.error


def classify(cell: CellResult) -> str:
    """The outcome of a cell, in order: not run, not exercised, fault failed, no recovery, then its tries: all
    detected, all tolerated, or intermittent when they disagree."""
    if not cell.ran:
        return NOT_RUN
    if not cell.scenarios:
        return NOT_EXERCISED
    if any(e.get("action") == "inject-failed" for e in cell.timeline):
        return FAULT_FAILED
    if not cell.recovered:
        return NO_RECOVERY
    verdicts = {bool(failed) for failed in cell.failed_by_try}
    if len(verdicts) > 1:
        return INTERMITTENT
    return DETECTED if verdicts == {True} else TOLERATED


def scenario_results(run: Any) -> list[ScenarioResult]:
    """Every scenario of an analysis model Run (harness.analysis.model), with its first failing step and error."""
    found = []
    for feature in run.features:
        for scenario in feature.scenarios:
            step = next((s for s in scenario.steps if s.status not in (PASSED, "skipped", "untested")), None)
            error = scenario.error or (step.error if step is not None else None)
            message = (error.message or error.type).strip().splitlines()[0] if error is not None and \
                (error.message or error.type) else ""
            found.append(ScenarioResult(scenario.location, scenario.name, scenario.status,
                                        step.name if step is not None else "", message[:300],
                                        float(getattr(scenario, "duration", 0.0) or 0.0),
                                        float(getattr(scenario, "started", 0.0) or 0.0)))
    return found


def score(cells: Sequence[CellResult]) -> tuple[int, int]:
    """(tolerated, exercised): exercised cells are those that ran scenarios and injected their fault (an
    intermittent cell is exercised and not tolerated)."""
    exercised = [c for c in cells if c.outcome in EXERCISED]
    return sum(1 for c in exercised if c.outcome == TOLERATED), len(exercised)


def service_of(fault: FaultSpec) -> str:
    """The service a cell is scored under: the target, or an edge's server side."""
    return (fault.peer or fault.target).partition("#")[0]
