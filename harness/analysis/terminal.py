"""The terminal summary `harness analyze` prints."""

from __future__ import annotations

from harness.analysis.analyze import Analysis
from harness.analysis.metrics import summary_lines


def pct(value: float) -> str:
    """A rate as a percentage with one decimal."""
    return f"{100 * value:.1f}%"


def render(analysis: Analysis, top: int = 8) -> str:
    """Counts like behave's summary, rates, blockers, unique errors and the baseline diff."""
    o = analysis.metrics.overall
    run = analysis.run.info
    lines = [f"inputs: {', '.join(run.sources)} ({', '.join(run.formats)})", *(f"  {n}" for n in run.notes),
             *summary_lines(analysis.metrics), ""]
    lines.append(f"scenario pass rate {pct(o.scenario_rate)} ({o.scenarios.get('passed')}/"
                 f"{o.scenarios.total - o.scenarios.get('skipped')}), step pass rate {pct(o.step_rate)} "
                 f"({o.steps.get('passed')}/{o.steps.total}; {o.steps_not_run} never ran; "
                 f"{pct(o.ran_step_rate)} of steps that ran)")
    lines += [f"  ! {e.hook or 'hook'}: {e.type}: {e.message}" for e in run.hook_errors]
    if run.aborted:
        lines.append(f"  ! aborted: {run.aborted}")
    if analysis.impacts:
        w = max(16, *(len(i.rule.id) for i in analysis.impacts))
        lines += ["", f"{'blocker':<{w}} {'scen':>5} {'steps':>6} {'share':>7} {'if fixed':>9}  owner"]
        lines += [f"{i.rule.id:<{w}} {i.scenarios:>5} {i.steps:>6} {pct(i.share):>7} "
                  f"{pct(i.projected_rate):>9}  {i.rule.owner}" for i in analysis.impacts]
    if analysis.unique_errors:
        lines += ["", "unique errors:"]
        lines += [f"  {u.count:>4}x [{u.blocker}] {u.error_type or '-'}: {u.pattern[:90]}  ({u.example.location})"
                  for u in analysis.unique_errors[:top]]
    if analysis.diff:
        d = analysis.diff
        lines += ["", f"vs {d.baseline}: {len(d.new_failures)} new failures, {len(d.fixed)} fixed, "
                      f"{len(d.still_failing)} still failing, {len(d.blocker_changed)} blocker changed"]
        lines += [f"  new: {c.location} {c.key.split('::', 1)[1]}" for c in d.new_failures[:top]]
    if analysis.flaky:
        lines += ["", f"flaky: {len(analysis.flaky)}"] + [f"  {f.key} {'/'.join(f.statuses)}"
                                                           for f in analysis.flaky[:top]]
    if analysis.hollow:
        lines += ["", f"hollow steps (passed, verified nothing): {len(analysis.hollow)}"]
    lines += _context(analysis, top)
    for sweep in analysis.sweeps:
        tolerated, exercised = sweep.score.get("overall", (0, 0))
        lines += ["", f"resilience sweep {sweep.run_id} of {sweep.env}: {tolerated}/{exercised} exercised cells "
                      f"tolerated, {len(sweep.findings)} finding(s), {len(sweep.no_recovery)} without recovery"]
    g = analysis.gonogo
    if g is not None:
        lines += ["", f"verdict: {g.verdict}"] + [f"  {'no-go' if r.rule.severity == 'no-go' else 'warn'}: "
                                                   f"{r.rule.title}: {r.detail[:120]}" for r in g.failed]
    return "\n".join(lines)


def _context(analysis: Analysis, top: int) -> list[str]:
    shown = [(v.scenario, analysis.notes[v.scenario.key]) for v in analysis.verdicts
             if v.scenario.key in analysis.notes and analysis.notes[v.scenario.key].step]
    if not shown:
        return []
    return ["", "failures in context:"] + [f"  {s.location} {n.step}: {n.sentence()}" for s, n in shown[:top]]
