"""The analysis as JSON: counts on every feature and scenario; steps where a consumer needs them.

``full`` (the handoff report) lists every step with its counts; the lean form (`harness analyze
--json`) lists steps only for scenarios that did not pass, so writing it costs less than the analysis.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.analysis import resilience
from harness.analysis.analyze import Analysis
from harness.analysis.annotate import Annotation
from harness.analysis.blockers import Impact, Verdict
from harness.analysis.metrics import flatten
from harness.analysis.model import PASSED, ErrorInfo, Feature, Scenario, Step
from harness.analysis.model import Counts as _Counts
from harness.analysis.performance import PerfRow

FORMAT = "harness-analysis/1"


def to_dict(analysis: Analysis, *, with_steps: bool = True, full: bool = True) -> dict[str, Any]:
    """The whole analysis as plain data."""
    m = analysis.metrics
    blockers = {v.scenario.location + "::" + v.scenario.name: v for v in analysis.verdicts}
    return {
        "format": FORMAT,
        "verdict": analysis.gonogo.verdict if analysis.gonogo else ("NO-GO" if analysis.failed else "GO"),
        "gonogo": analysis.gonogo.as_dict() if analysis.gonogo else None,
        "run": asdict(analysis.run.info),
        "summary": {"features": m.features.as_dict(), "rules": m.rules.as_dict(),
                    **{k: v for k, v in m.overall.as_dict().items() if k != "name"}},
        "by_feature": flatten(m.by_feature), "by_tag": flatten(m.by_tag),
        "by_priority": flatten(m.by_priority), "by_component": flatten(m.by_component),
        "blockers": [impact_dict(i) for i in analysis.impacts],
        "unique_errors": [asdict(u) for u in analysis.unique_errors],
        "hollow_steps": [asdict(s) for s in analysis.hollow],
        "undefined_steps": [asdict(s) for s in analysis.undefined],
        "diff": asdict(analysis.diff) if analysis.diff else None,
        "trend": [asdict(p) for p in analysis.trend],
        "flaky": [asdict(f) for f in analysis.flaky],
        "context": {key: note_dict(note) for key, note in analysis.notes.items()},
        "performance": [perf_dict(row) for row in analysis.performance],
        "resilience": resilience.as_dict(analysis.sweeps),
        "features": [_feature(f, blockers, with_steps, full) for f in analysis.run.features],
    }


def note_dict(note: Annotation) -> dict[str, Any]:
    """A scenario's context: failing step and time, active faults, load then, log excerpt, fault windows."""
    return {"step": note.step, "at": note.at, "sentence": note.sentence() if note.step else "",
            "faults": [asdict(f) for f in note.faults], "load": [asdict(x) for x in note.load],
            "logs": [asdict(x) for x in note.logs],
            "nearest_log": asdict(note.nearest) if note.nearest else None,
            "fault_windows": [asdict(w) for w in note.windows],
            "load_runs": [f"{r.env}/{r.name}" for r in note.load_runs], "start": note.start, "end": note.end}


def perf_dict(row: PerfRow) -> dict[str, Any]:
    """One load run's numbers, bounds (met or not) and trend."""
    return {"id": row.id, "scenario": row.scenario, "location": row.location,
            "load_run": f"{row.load.env}/{row.load.name}", "mode": row.load.mode, "started": row.load.started,
            "numbers": {m: row.value(m) for m in ("latency_ms.p50", "latency_ms.p95", "latency_ms.p99",
                                                  "throughput_rps", "success_pct", "delivery_pct")},
            "bounds": [{**asdict(b), "met": b.met} for b in row.bounds], "met": row.met,
            "trends": [{**asdict(t), "regressed": t.regressed} for t in row.trends]}


def impact_dict(impact: Impact) -> dict[str, Any]:
    """One blocker's impact as plain data."""
    rule = impact.rule
    return {"id": rule.id, "title": rule.title, "owner": rule.owner, "hint": rule.hint,
            "scenarios": impact.scenarios, "steps": impact.steps, "share": round(impact.share, 4),
            "projected_scenario_pass_rate": round(impact.projected_rate, 4),
            "passed_steps_inside_failed_scenarios": impact.passed_steps_inside,
            "mean_failing_step_position": round(impact.mean_position, 3),
            "examples": [asdict(e) for e in impact.examples]}


def _error(error: ErrorInfo | None) -> dict[str, str] | None:
    if error is None:
        return None
    return {"type": error.type, "message": error.message, "traceback": error.traceback, "hook": error.hook}


def _feature(feature: Feature, verdicts: dict[str, Verdict], with_steps: bool, full: bool) -> dict[str, Any]:
    return {"name": feature.name, "location": feature.location, "status": feature.status,
            "tags": list(feature.tags), "hook_error": _error(feature.hook_error),
            "duration": feature.duration,
            "counts": _Counts.of(s.status for s in feature.scenarios).as_dict(),
            "step_counts": _Counts.of(st.status for s in feature.scenarios for st in s.steps).as_dict(),
            "rules": [asdict(r) for r in feature.rules],
            "scenarios": [_scenario(s, verdicts.get(s.location + "::" + s.name), with_steps, full)
                          if full else _lean(s, verdicts.get(s.location + "::" + s.name), with_steps)
                          for s in feature.scenarios]}


def _lean(scenario: Scenario, verdict: Verdict | None, with_steps: bool) -> dict[str, Any]:
    """A scenario for `analyze --json`: status, what went wrong, and steps only when it did not pass."""
    data: dict[str, Any] = {"name": scenario.name, "location": scenario.location, "status": scenario.status,
                            "duration": scenario.duration}
    # only the keys that hold something (plain ifs: this runs once per scenario, 140k in a 50 MB JUnit)
    if scenario.tags:
        data["tags"] = list(scenario.tags)
    if scenario.rule:
        data["rule"] = scenario.rule
    if verdict is not None and verdict.rule is not None:
        data["blocker"] = verdict.rule.id
    if scenario.error is not None:
        data["error"] = _error(scenario.error)
    if scenario.skip_reason:
        data["skip_reason"] = scenario.skip_reason
    if scenario.masked_by is not None:
        data["masked_by"] = _error(scenario.masked_by)
    if scenario.attempts:
        data["attempts"] = list(scenario.attempts)
    if scenario.environment:
        data["environment"] = scenario.environment
    if scenario.steps:
        data["counts"] = dict(_Counts.of(s.status for s in scenario.steps).by_status)
        if with_steps and scenario.status != PASSED:
            data["steps"] = [_step(s, full=False) for s in scenario.steps]
    return data


def _scenario(scenario: Scenario, verdict: Verdict | None, with_steps: bool, full: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": scenario.name, "location": scenario.location, "status": scenario.status,
        "tags": list(scenario.tags), "rule": scenario.rule, "duration": scenario.duration,
        "blocker": verdict.rule.id if verdict and verdict.rule else None,
        "error": _error(scenario.error), "skip_reason": scenario.skip_reason,
        "masked_by": _error(scenario.masked_by), "attempts": list(scenario.attempts),
        "counts": _Counts.of(s.status for s in scenario.steps).as_dict(),
    }
    if scenario.environment is not None:
        data["environment"] = scenario.environment
    if with_steps:
        data["steps"] = [_step(s, full) for s in scenario.steps]
    return data


def _step(step: Step, full: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {"keyword": step.keyword, "name": step.name, "location": step.location,
                            "status": step.status, "duration": step.duration, "match": step.match}
    if full:
        data["counts"] = _one(step.status)
    if step.error is not None:
        data["error"] = _error(step.error)
    if step.verifications is not None:
        data["verifications"], data["actions"] = step.verifications, step.actions
    if step.captured:
        data["captured"] = step.captured
    if step.environment is not None:
        data["environment"] = step.environment
    return data


_ONE: dict[str, dict[str, int]] = {}


def _one(status: str) -> dict[str, int]:
    if status not in _ONE:
        _ONE[status] = _Counts.of([status]).as_dict()
    return dict(_ONE[status])


def write(analysis: Analysis, path: Path, *, full: bool = True) -> None:
    """Write the analysis JSON to ``path`` (orjson when installed: same JSON, a fraction of the time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = to_dict(analysis, full=full)
    try:
        # lazy: optional speed-up (json is the fallback)
        import orjson
    except ImportError:  # the lean form is written compact: json's C encoder only runs without indent
        with path.open("w") as out:
            json.dump(data, out, indent=1 if full else None, default=str)
        return
    path.write_bytes(orjson.dumps(data, default=str, option=orjson.OPT_INDENT_2 if full else 0))
