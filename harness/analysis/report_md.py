"""The handoff report in Markdown (the sections of a team handoff document)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

from harness.analysis.analyze import Analysis
from harness.analysis.metrics import Rates
from harness.analysis.narrative import (
    categories,
    coverage,
    gap,
    icon,
    level,
    pct,
    projections,
    rerun_targets,
)


def render(analysis: Analysis, team: str, next_team: str = "", static_hollow: Sequence[str] = (),
           run_folder: str = "") -> str:
    """The whole Markdown document."""
    parts = [_header(analysis, team, next_team), _summary(analysis), _categories(analysis),
             _blockers(analysis), _pass_rates(analysis), _coverage(analysis), _errors(analysis),
             _undefined(analysis), _hollow(analysis, static_hollow), _history(analysis),
             _recommendations(analysis, next_team), _rerun(analysis, run_folder)]
    return "\n\n---\n\n".join(p for p in parts if p) + "\n"


def _header(a: Analysis, team: str, next_team: str) -> str:
    info = a.run.info
    status = "❌ FAILURES" if a.failed else "✅ ALL PASSED"
    lines = [f"# {team}: Integration Test Results - HANDOFF DOCUMENT", "",
             f"**Date:** {_dt.date.today().isoformat()}  ", f"**Status:** {status}  "]
    if info.run_id or info.commit:
        lines.append(f"**Run:** {info.run_id or '-'} (commit {info.commit[:12] or 'unknown'})  ")
    lines.append(f"**Inputs:** {', '.join(info.sources)}  ")
    if next_team:
        lines.append(f"**Next Team:** {next_team}")
    return "\n".join(lines)


def _summary(a: Analysis) -> str:
    o = a.metrics.overall
    considered = o.scenarios.total - o.scenarios.get("skipped")
    duration = sum(s.duration for s in a.run.scenarios())
    lines = ["## Executive Summary", "",
             f"- **Features:** {len(a.run.features)}; **scenarios:** {o.scenarios.total}; "
             f"**steps:** {o.steps.total}",
             f"- **Pass rate:** {pct(o.scenario_rate)} scenarios ({o.scenarios.get('passed')}/{considered}), "
             f"{pct(o.step_rate)} steps ({o.steps.get('passed')}/{o.steps.total}); "
             f"{o.steps_not_run} steps never ran",
             f"- **Duration:** {duration:.2f} seconds"]
    if a.impacts:
        top = a.impacts[0]
        lines.append(f"- **Key finding:** `{top.rule.id}` ({top.rule.title}) blocks {top.scenarios} "
                     f"scenarios ({pct(top.share)}); fixing it lifts the scenario pass rate to at most "
                     f"{pct(top.projected_rate)}")
    for error in a.run.info.hook_errors:
        lines.append(f"- **Run-level hook error:** {error.hook}: {error.type}: {error.message}")
    counts = " | ".join(f"{k} {v}" for k, v in o.scenarios.as_dict().items() if v)
    lines += ["", f"Scenarios by status: {counts}"]
    return "\n".join(lines)


def _table(title: str, label: str, rows: Sequence[Rates]) -> str:
    lines = [f"### {title}", "", f"| {label} | Scenarios | Passed | Pass Rate | Step Pass Rate | Status |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.name} | {r.scenarios.total} | {r.scenarios.get('passed')} | "
                     f"{pct(r.scenario_rate)} | {pct(r.step_rate)} | {icon(r.scenario_rate)} |")
    return "\n".join(lines)


def _categories(a: Analysis) -> str:
    label, rows = categories(a)
    parts = ["## Results by Category", "", _table(f"By {label.lower()}", label, rows)]
    if a.metrics.by_priority:
        parts += ["", _table("By priority", "Priority", a.metrics.by_priority)]
    return "\n".join(parts)


def _blockers(a: Analysis) -> str:
    if not a.impacts:
        return "## Blockers Identified\n\nNone: every scenario that ran passed."
    lines = ["## Blockers Identified"]
    for n, i in enumerate(a.impacts, 1):
        lines += ["", f"### Blocker {n}: {i.rule.title} ({level(i)} IMPACT)",
                  f"**Id:** `{i.rule.id}`  ", f"**Impact:** {i.scenarios} scenarios ({pct(i.share)}), "
                  f"{i.steps} steps  ", f"**Owner:** {i.rule.owner or '-'}  ",
                  f"**If fixed:** scenario pass rate up to {pct(i.projected_rate)}  ",
                  f"**Hint:** {i.rule.hint}", "", "Examples:"]
        lines += [f"- `{e.location}` {e.scenario}: {e.step} → {e.error_type or 'no error type'}"
                  f"{': ' + e.message if e.message else ''}" for e in i.examples]
    return "\n".join(lines)


def _pass_rates(a: Analysis) -> str:
    o = a.metrics.overall
    considered = o.scenarios.total - o.scenarios.get("skipped")
    lines = ["## Test Pass Rate Analysis", "", "### Current State",
             f"- **Scenarios:** {o.scenarios.get('passed')}/{considered} ({pct(o.scenario_rate)})",
             f"- **Steps:** {o.steps.get('passed')}/{o.steps.total} ({pct(o.step_rate)}); of the steps that "
             f"ran: {pct(o.ran_step_rate)}", "", "### Projected State (blockers fixed in this order)"]
    lines += [f"- after `{p.blocker}`: ~{p.scenarios}/{considered} ({pct(p.rate)})" for p in projections(a)]
    lines += ["", "Projections are upper bounds: a fixed scenario may fail on a later step.", "",
              "### Why the step rate is higher", ""] + [f"- {line}" for line in gap(a)]
    return "\n".join(lines)


def _coverage(a: Analysis) -> str:
    label, _ = categories(a)
    lines = ["## Coverage by Component", "", "Based on step execution (not line coverage).", "",
             f"| {label} | Steps passed | Steps | Coverage | Status |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {p} | {t} | {pct(r)} | {icon(r)} |" for name, p, t, r in coverage(a)]
    return "\n".join(lines)


def _errors(a: Analysis) -> str:
    if not a.unique_errors:
        return ""
    lines = ["## Unique Errors", "", "| Count | Blocker | Type | Message (normalised) | Example |",
             "|---|---|---|---|---|"]
    lines += [f"| {u.count} | {u.blocker} | {u.error_type or '-'} | {_cell(u.pattern)} | `{u.example.location}` |"
              for u in a.unique_errors[:30]]
    return "\n".join(lines)


def _undefined(a: Analysis) -> str:
    if not a.undefined:
        return ""
    lines = ["## Undefined Steps", "", "```python", "from behave import given, when, then, step",
             "from behave.api.pending_step import StepNotImplementedError", ""]
    for ref in a.undefined:
        lines += [f"# {ref.location} (used {ref.count}x)", ref.snippet]
    return "\n".join([*lines, "```"])


def _hollow(a: Analysis, static: Sequence[str]) -> str:
    if not a.hollow and not static:
        return ""
    lines = ["## Hollow Steps", "", "Steps that pass without verifying anything give a false green."]
    if a.hollow:
        lines += ["", "Passed with zero verifications in this run:"]
        lines += [f"- `{h.location}` {h.text} ({h.count}x)" for h in a.hollow[:50]]
    if static:
        lines += ["", "Step definitions whose body only passes, logs or prints (`harness steps --hollow`):"]
        lines += [f"- `{s}`" for s in static[:50]]
    return "\n".join(lines)


def _history(a: Analysis) -> str:
    lines = []
    if a.diff:
        d = a.diff
        lines += ["## Changes Since Baseline", "", f"Baseline: {d.baseline}", "",
                  f"- New failures: {len(d.new_failures)}", f"- Fixed: {len(d.fixed)}",
                  f"- Still failing: {len(d.still_failing)}", f"- Blocker changed: {len(d.blocker_changed)}"]
        lines += [f"  - new: `{c.location}` {c.key.split('::', 1)[-1]} ({c.before} → {c.after})"
                  for c in d.new_failures[:20]]
        lines += [f"  - blocker: `{c.location}` {c.blocker_before} → {c.blocker_after}"
                  for c in d.blocker_changed[:20]]
    if a.flaky:
        lines += ["", "### Flaky Scenarios", ""]
        lines += [f"- {f.key}: {' / '.join(f.statuses)} ({f.why})" for f in a.flaky[:30]]
    return "\n".join(lines).strip()


def _recommendations(a: Analysis, next_team: str) -> str:
    lines = [f"## Recommendations{' for ' + next_team if next_team else ''}", ""]
    n = 0
    p0 = next((r for r in a.metrics.by_priority if r.name == "p0" and r.scenario_rate < 1.0), None)
    if p0:
        n += 1
        lines.append(f"{n}. **Fix failing @p0 scenarios first**: {p0.scenarios.total - p0.scenarios.get('passed')}"
                     f" of {p0.scenarios.total} do not pass.")
    for impact in a.impacts:
        n += 1
        lines.append(f"{n}. **{impact.rule.title}** ({impact.scenarios} scenarios, owner "
                     f"{impact.rule.owner or '-'}): {impact.rule.hint}")
    if a.flaky:
        n += 1
        lines.append(f"{n}. **Stabilise {len(a.flaky)} flaky scenarios** before trusting pass rates.")
    if n == 0:
        lines.append("Nothing blocks: keep the suite green and add scenarios for what is not covered.")
    return "\n".join(lines)


def _rerun(a: Analysis, run_folder: str) -> str:
    targets = rerun_targets(a)
    if not targets:
        return ""
    rerun = f"{run_folder}/rerun.txt" if run_folder else "rerun.txt"
    return "\n".join(["## How to Rerun the Failures", "", "```bash", f"behave @{rerun}",
                      f"# or, explicitly ({len(targets)} scenarios):",
                      "behave " + " ".join(targets[:40]) + (" ..." if len(targets) > 40 else ""), "```"])


def _cell(text: str) -> str:
    return text.replace("|", "\\|")[:120]
