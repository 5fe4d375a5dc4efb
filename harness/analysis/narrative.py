"""Derived sentences and tables shared by the Markdown and HTML reports."""

from __future__ import annotations

from dataclasses import dataclass

from harness.analysis.analyze import Analysis
from harness.analysis.blockers import Impact, impact_level
from harness.analysis.metrics import Rates
from harness.analysis.model import PASSED, PROBLEMS


def pct(value: float) -> str:
    """A rate as a percentage."""
    return f"{100 * value:.1f}%"


def level(impact: Impact) -> str:
    """HIGH / MEDIUM / LOW by share of the suite."""
    return impact_level(impact.share)


def icon(rate: float) -> str:
    """A status mark for a pass rate."""
    return "✅ Good" if rate >= 0.8 else "⚠️ Partial" if rate >= 0.5 else "❌ Needs work"


def categories(analysis: Analysis) -> tuple[str, tuple[Rates, ...]]:
    """Components when the suite tags them, features otherwise."""
    m = analysis.metrics
    return ("Component", m.by_component) if m.by_component else ("Feature", m.by_feature)


@dataclass(frozen=True, slots=True)
class Projection:
    """Scenario pass rate after fixing the blockers up to and including ``blocker``."""

    blocker: str
    scenarios: int
    rate: float


def projections(analysis: Analysis) -> list[Projection]:
    """Cumulative projection, biggest failing blockers first (an upper bound: later steps may fail)."""
    o = analysis.metrics.overall.scenarios
    considered = o.total - o.get("skipped")
    passed = o.get(PASSED)
    found = []
    for impact in analysis.impacts:
        gained = sum(1 for v in analysis.verdicts if v.rule is impact.rule and v.scenario.status != PASSED)
        if not gained:
            continue
        passed += gained
        found.append(Projection(impact.rule.id, passed, passed / considered if considered else 0.0))
    return found


def gap(analysis: Analysis) -> list[str]:
    """Why the step pass rate is higher than the scenario pass rate, blocker by blocker."""
    o = analysis.metrics.overall
    lines = [f"Step pass rate {pct(o.step_rate)} vs scenario pass rate {pct(o.scenario_rate)}: a scenario "
             f"fails on one step, so the steps that passed before it still count as passed, and "
             f"{o.steps_not_run} steps after failures (or behind hook errors) never ran."]
    for impact in analysis.impacts:
        if impact.passed_steps_inside:
            late = "late" if impact.mean_position >= 0.6 else "early" if impact.mean_position <= 0.34 else "midway"
            lines.append(f"`{impact.rule.id}`: {impact.passed_steps_inside} passed steps inside "
                         f"{impact.scenarios} failed scenarios; it fails them {late} "
                         f"(at {pct(impact.mean_position)} of their steps on average).")
    return lines


def rerun_targets(analysis: Analysis) -> list[str]:
    """file:line of every scenario that did not pass."""
    return [s.location for s in analysis.run.scenarios()
            if s.status in PROBLEMS or s.masked_by is not None]


def coverage(analysis: Analysis) -> list[tuple[str, int, int, float]]:
    """Per category: steps passed, steps total, share (step-execution coverage, not line coverage)."""
    _, rows = categories(analysis)
    return [(r.name, r.steps.get(PASSED), r.steps.total, r.step_rate) for r in rows]
