"""The analysis pipeline: inputs → model → metrics, blockers, hollow and undefined steps, history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.analysis.blockers import (
    Impact,
    UniqueError,
    Verdict,
    classify,
    hollow_steps,
    impacts,
    unique_errors,
)
from harness.analysis.history import Diff, Flaky, Point, diff, flaky
from harness.analysis.metrics import Metrics, compute
from harness.analysis.model import ERROR, FAILED, HOOK_ERROR, PROBLEMS, UNDEFINED, Run
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

    @property
    def failed(self) -> bool:
        """True when any test failed or errored or a hook failed at any level (hollow passes excluded)."""
        return any(not v.failure.hollow for v in self.verdicts) or hook_failed(self.run)

    @property
    def exit_code(self) -> int:
        """The exit-code rule: 0 when every test passed (skips allowed), 1 when anything failed."""
        return 1 if self.failed else 0


def hook_failed(run: Run) -> bool:
    """A hook error anywhere: run level (before/after_all), feature, rule, or a suite-level JUnit error."""
    if run.info.hook_errors:
        return True
    return any(f.hook_error is not None or f.status == HOOK_ERROR
               or any(r.status in PROBLEMS for r in f.rules) for f in run.features)


def analyze(run: Run, rules: RuleSet | None = None, baseline: Run | None = None,
            history: Sequence[Run] = ()) -> Analysis:
    """Run every analysis over a loaded run."""
    rules = rules or load_rules()
    verdicts = tuple(classify(run, rules))
    metrics = compute(run, rules.component_prefixes)
    change = None
    if baseline is not None:
        change = diff(run, verdicts, baseline, classify(baseline, rules),
                      baseline.info.run_id or ",".join(baseline.info.sources))
    trend = tuple(_point(r) for r in (*history, run)) if history else ()
    return Analysis(run, metrics, verdicts, tuple(impacts(run, verdicts, rules)),
                    tuple(unique_errors(verdicts)), tuple(_hollow(run)), tuple(_undefined(run)),
                    change, trend, tuple(flaky([*history, run])))


def _point(run: Run) -> Point:
    rates = compute(run).overall
    label = run.info.run_id or (Path(run.info.sources[0]).parent.name if run.info.sources else "?")
    return Point(label, run.info.commit, rates.scenario_rate, rates.step_rate)


def _hollow(run: Run) -> list[StepRef]:
    seen: dict[str, StepRef] = {}
    for scenario in run.scenarios():
        if not scenario.steps or scenario.steps[0].verifications is None:
            continue  # no counts (not the run record, or nothing ran)
        for step in hollow_steps(scenario):
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
