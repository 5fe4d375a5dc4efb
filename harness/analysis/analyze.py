"""The analysis pipeline: inputs → model → metrics, blockers, hollow and undefined steps, history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.analysis.annotate import Annotation, annotate
from harness.analysis.blockers import (
    Hollowness,
    Impact,
    UniqueError,
    Verdict,
    classify,
    impacts,
    judge_hollow,
    unique_errors,
)
from harness.analysis.evidence import Evidence
from harness.analysis.gonogo import GateRules, GoNoGo, decide, load_gate_rules
from harness.analysis.history import Diff, Flaky, Point, diff, flaky
from harness.analysis.metrics import Metrics, compute
from harness.analysis.model import ERROR, FAILED, HOOK_ERROR, PROBLEMS, UNDEFINED, Run
from harness.analysis.performance import PerfRow, performance
from harness.analysis.resilience import SweepSummary
from harness.analysis.rules import RuleSet, load_rules


@dataclass(frozen=True, slots=True)
class StepRef:
    """A step to point at: text, file:line, how many times, and (for undefined) a snippet."""

    text: str
    location: str
    count: int
    snippet: str = ""


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the reports show."""

    run: Run
    metrics: Metrics
    verdicts: tuple[Verdict, ...]
    impacts: tuple[Impact, ...]
    unique_errors: tuple[UniqueError, ...]
    hollow: tuple[StepRef, ...]
    undefined: tuple[StepRef, ...]
    diff: Diff | None = None
    trend: tuple[Point, ...] = ()
    flaky: tuple[Flaky, ...] = ()
    notes: Mapping[str, Annotation] = field(default_factory=dict)
    performance: tuple[PerfRow, ...] = ()
    gonogo: GoNoGo | None = None
    evidence: Evidence = field(default_factory=Evidence)
    sweeps: tuple[SweepSummary, ...] = ()  # resilience sweeps read beside the run (harness.analysis.resilience)

    @property
    def failed(self) -> bool:
        """True when any test failed or errored or a hook failed at any level (hollow passes excluded)."""
        return any(not v.failure.hollow for v in self.verdicts) or hook_failed(self.run)

    @property
    def exit_code(self) -> int:
        """The exit-code rule: 0 when every test passed (skips allowed), 1 when anything failed or the run
        did not finish (a record without its end line, or cut mid-line: what it holds is read, but not all ran)."""
        return 1 if self.failed or self.run.info.aborted else 0


def hook_failed(run: Run) -> bool:
    """A hook error anywhere: run level (before/after_all), feature, rule, or a suite-level JUnit error."""
    if run.info.hook_errors:
        return True
    return any(f.hook_error is not None or f.status == HOOK_ERROR
               or any(r.status in PROBLEMS for r in f.rules) for f in run.features)


@dataclass(frozen=True, slots=True)
class Folders:
    """The run folders' evidence: the run's, the baseline's and the history's (same order as the runs)."""

    run: Evidence = field(default_factory=Evidence)
    baseline: Evidence = field(default_factory=Evidence)
    history: tuple[Evidence, ...] = ()


def analyze(run: Run, rules: RuleSet | None = None, baseline: Run | None = None,
            history: Sequence[Run] = (), folders: Folders | None = None,
            gate: GateRules | None = None, sweeps: Sequence[SweepSummary] = ()) -> Analysis:
    """Run every analysis over a loaded run (and its folder's evidence and resilience sweeps, when given)."""
    rules = rules or load_rules()
    folders = folders or Folders()
    notes = annotate(run, folders.run)
    hollow = judge_hollow(run)  # once per scenario: blockers, the hollow list and go/no-go read it
    verdicts = tuple(classify(run, rules, _faults(notes), hollow))
    metrics = compute(run, rules.component_prefixes)
    change = None
    if baseline is not None:
        change = diff(run, verdicts, baseline, classify(baseline, rules),
                      baseline.info.run_id or ",".join(baseline.info.sources))
    trend = tuple(_point(r) for r in (*history, run)) if history else ()
    found = tuple(impacts(run, verdicts, rules, hollow))
    rows = tuple(_performance(run, notes, folders, baseline, history))
    verdict = decide(run, verdicts, found, rows, gate or load_gate_rules(),
                     [r.name for r in metrics.by_component], sweeps, hollow)
    return Analysis(run, metrics, verdicts, found,
                    tuple(unique_errors(verdicts)), tuple(_hollow(run, hollow)), tuple(_undefined(run)),
                    change, trend, tuple(flaky([*history, run])), notes, rows, verdict, folders.run, tuple(sweeps))


def _faults(notes: Mapping[str, Annotation]) -> dict[str, tuple[str, ...]]:
    return {key: tuple(f.what for f in note.faults) for key, note in notes.items() if note.faults}


def _performance(run: Run, notes: Mapping[str, Annotation], folders: Folders, baseline: Run | None,
                 history: Sequence[Run]) -> list[PerfRow]:
    base = None
    if baseline is not None and folders.baseline:
        base = performance(baseline, annotate(baseline, folders.baseline), folders.baseline.load)
    past = [performance(r, annotate(r, e), e.load) for r, e in zip(history, folders.history, strict=False) if e]
    return performance(run, notes, folders.run.load, base, past)


def _point(run: Run) -> Point:
    rates = compute(run).overall
    label = run.info.run_id or (Path(run.info.sources[0]).parent.name if run.info.sources else "?")
    return Point(label, run.info.commit, rates.scenario_rate, rates.step_rate)


def _hollow(run: Run, hollow: Hollowness) -> list[StepRef]:
    seen: dict[str, StepRef] = {}
    for scenario in run.scenarios():
        if not scenario.steps or scenario.steps[0].verifications is None:
            continue  # no counts (not the run record, or nothing ran)
        for step in hollow.of(scenario).steps:
            key = step.match or step.text
            old = seen.get(key)
            seen[key] = StepRef(step.text, step.match or step.location, (old.count if old else 0) + 1)
    return sorted(seen.values(), key=lambda s: (-s.count, s.text))


def _undefined(run: Run) -> list[StepRef]:
    seen: dict[str, StepRef] = {}
    for scenario in run.scenarios():
        if scenario.status not in (ERROR, FAILED):
            continue  # an undefined step makes its scenario error (failed: hidden behind a failure)
        kind = "given"
        for step in scenario.steps:
            word = step.keyword.strip().lower()
            kind = kind if word in ("and", "but", "*") else word
            if step.status == UNDEFINED:
                old = seen.get(step.name)
                seen[step.name] = StepRef(step.text, old.location if old else step.location,
                                          (old.count if old else 0) + 1, snippet(kind, step.name))
    return sorted(seen.values(), key=lambda s: (-s.count, s.text))


def snippet(kind: str, text: str) -> str:
    """A behave step stub for an undefined step."""
    kind = kind if kind in ("given", "when", "then") else "step"
    quoted = text.replace("\\", "\\\\").replace("'", "\\'")
    return (f"@{kind}('{quoted}')\ndef step_impl(context):\n"
            f"    raise StepNotImplementedError('{kind.capitalize()} {quoted}')\n")
