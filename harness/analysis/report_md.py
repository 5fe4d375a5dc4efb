"""The handoff report in Markdown (the sections of a team handoff document)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

from harness.analysis import resilience
from harness.analysis.analyze import Analysis
from harness.analysis.metrics import Rates
from harness.analysis.model import SKIPPED
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
from harness.analysis.performance import FLOOR_MS
from harness.runfolder import names


def render(analysis: Analysis, team: str, next_team: str = "", static_hollow: Sequence[str] = (),
           run_folder: str = "") -> str:
    """The whole Markdown document."""
    parts = [_header(analysis, team, next_team), _gonogo(analysis), _summary(analysis), _categories(analysis),
             _blockers(analysis), _in_context(analysis), _performance(analysis), resilience.markdown(analysis.sweeps),
             _pass_rates(analysis),
             _coverage(analysis), _errors(analysis),
             _undefined(analysis), _hollow(analysis, static_hollow), _history(analysis),
             _recommendations(analysis, next_team), _rerun(analysis, run_folder), _artifacts(analysis)]
    return "\n\n---\n\n".join(p for p in parts if p) + "\n"


def _header(a: Analysis, team: str, next_team: str) -> str:
    info = a.run.info
    status = "❌ FAILURES" if a.failed else "✅ ALL PASSED"
    lines = [verdict_line(a), "", f"# {team}: Integration Test Results - HANDOFF DOCUMENT", "",
             f"**Date:** {_dt.date.today().isoformat()}  ", f"**Status:** {status}  "]
    if info.run_id or info.commit:
        lines.append(f"**Run:** {info.run_id or '-'} (commit {info.commit[:12] or 'unknown'})  ")
    lines.append(f"**Inputs:** {', '.join(info.sources)}  ")
    lines += [f"**Input note:** {note}  " for note in info.notes]
    if next_team:
        lines.append(f"**Next Team:** {next_team}")
    return "\n".join(lines)


def _summary(a: Analysis) -> str:
    o = a.metrics.overall
    considered = o.scenarios.total - o.scenarios.get("skipped")
    duration = sum(s.duration for s in a.run.scenarios())
    lines = ["## Executive Summary", "",
             f"- **Features:** {len(a.run.features)}; **scenarios:** {considered} selected"
             f"{f' ({o.scenarios.get(SKIPPED)} not selected)' if o.scenarios.get(SKIPPED) else ''}; "
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
    """Selected scenarios only in the totals: unselected (skipped) ones get their own column."""
    lines = [f"### {title}", "", f"| {label} | Scenarios run | Passed | Pass Rate | Not selected | "
             "Step Pass Rate (steps run) | Status |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        selected = r.scenarios.total - r.scenarios.get("skipped")
        lines.append(f"| {r.name} | {selected} | {r.scenarios.get('passed')} | "
                     f"{pct(r.scenario_rate)} | {r.scenarios.get('skipped')} | {pct(r.ran_step_rate)} | "
                     f"{icon(r.scenario_rate)} |")
    return "\n".join(lines)


def verdict_line(a: Analysis) -> str:
    """The handoff's first line: GO / NO-GO and the rules that decided it."""
    g = a.gonogo
    if g is None:
        return "**Verdict: NO-GO** (failures)" if a.failed else "**Verdict: GO**"
    failed = [r for r in g.failed if r.rule.severity == "no-go"]
    parts = [f"{r.rule.title} ✗" for r in failed]
    parts += [f"{c.scope}: NO-GO" for c in g.components if c.verdict == "NO-GO" and not failed]
    warn = [r for r in g.failed if r.rule.severity == "warn"]
    tail = f" (warnings: {', '.join(r.rule.title for r in warn)})" if warn else ""
    return f"**Verdict: {g.verdict}**" + (f" — {'; '.join(parts)}" if parts else " — every go/no-go rule holds") + tail


def _gonogo(a: Analysis) -> str:
    g = a.gonogo
    if g is None:
        return ""
    lines = ["## Go/No-Go", "", f"**{g.verdict}** overall. Rules: `harness/analysis/default_gonogo.yaml` "
             "(project: `gonogo.yaml`).", "", "| Rule | Severity | Holds | Why not |", "|---|---|---|---|"]
    lines += [f"| {r.rule.title} | {r.rule.severity} | {'✅' if r.held else '❌'} | {_cell(r.detail) or '-'} |"
              for r in g.reasons]
    if g.components:
        lines += ["", "| Component | Verdict | Rules that failed |", "|---|---|---|"]
        lines += [f"| {c.scope} | {c.verdict} | {_cell(', '.join(r.rule.id for r in c.failed)) or '-'} |"
                  for c in g.components]
    return "\n".join(lines)


def _in_context(a: Analysis) -> str:
    shown = [(v, a.notes[v.scenario.key]) for v in a.verdicts
             if not v.failure.hollow and v.scenario.key in a.notes and a.notes[v.scenario.key].step]
    if not shown:
        return ""
    lines = ["## Failures in Context", "",
             "Each failure set against the faults active at that moment, the load then, and the services' "
             f"logs around it (from the run folder: `<env>/{names.TIMELINE}`, `<env>/{names.LOAD}/`, "
             f"`<env>/{names.FAILURES}/`)."]
    for verdict, note in shown[:40]:
        s = verdict.scenario
        lines += ["", f"### `{s.location}` {s.name}", f"**{note.step}** {note.sentence()}."]
        if note.logs:
            lines += ["", "```text"]
            lines += [f"{_clock(x.at)} {x.service}: {x.short[:200]}" for x in note.logs[-8:]]
            lines.append("```")
    return "\n".join(lines)


def _clock(at: float) -> str:
    return _dt.datetime.fromtimestamp(at, _dt.UTC).strftime("%H:%M:%S.%f")[:-3]


def _performance(a: Analysis) -> str:
    if not a.performance:
        return ""
    lines = ["## Performance", "", "Every load run against the bounds its steps asserted (computed from the "
             "saved numbers) and against the baseline or history (regression: more than double the reference "
             f"and {FLOOR_MS:.0f} ms above it).", "",
             "| Load run | Scenario | p50 ms | p95 ms | p99 ms | req/s | Success | Delivery | Bounds | Trend |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in a.performance:
        v = row.value
        bounds = "; ".join(f"{'✅' if b.met else '❌' if b.met is False else '?'} {b.metric} {b.op} {b.target:g} "
                           f"(actual {_num(b.actual)})" for b in row.bounds) or "none asserted"
        trend = "; ".join(f"{t.percentile} {'⚠️ regressed' if t.regressed else 'ok'} vs {t.reference:.0f}"
                          for t in row.trends if t.reference is not None) or "no reference"
        lines.append(f"| {row.load.env}/{row.load.name} | {_cell(row.scenario or '-')} | "
                     f"{_num(v('latency_ms.p50'))} | {_num(v('latency_ms.p95'))} | {_num(v('latency_ms.p99'))} | "
                     f"{_num(v('throughput_rps'))} | {_num(v('success_pct'), '%')} | {_num(v('delivery_pct'), '%')} | "
                     f"{_escape(bounds)} | {trend} |")
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def _num(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:.1f}{unit}"


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
        selected = p0.scenarios.total - p0.scenarios.get("skipped")
        lines.append(f"{n}. **Fix failing @p0 scenarios first**: {selected - p0.scenarios.get('passed')}"
                     f" of {selected} selected do not pass.")
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
    rerun = f"{run_folder}/{names.RERUN}" if run_folder else names.RERUN
    return "\n".join(["## How to Rerun the Failures", "", "```bash", f"behave @{rerun}",
                      f"# or, explicitly ({len(targets)} scenarios):",
                      "behave " + " ".join(targets[:40]) + (" ..." if len(targets) > 40 else ""), "```"])


def _artifacts(a: Analysis) -> str:
    e = a.evidence
    if not e:
        return ""
    lines = ["## Run Folder Evidence", "", f"Read from `{e.folder}`: {len(e.faults)} fault events, "
             f"{len(e.load)} load runs, {len(e.logs)} failure logs."]
    lines += [f"- failure log `{log.path}` ({len(log.lines)} lines)" for log in e.logs[:30]]
    lines += [f"- start-up artifact `{path}`" for path in e.artifacts[:30]]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")[:120]
