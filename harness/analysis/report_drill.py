"""The HTML drill-down: feature → scenario → steps, with errors, output, service logs and a fault timeline.

No script: ``<details>`` open and close, and the filters are radio buttons whose ``:checked`` state
hides what does not match through CSS (status, tag and blocker filters combine). Markup is compact
(short class names, passed steps on one line) so a 1,000-scenario run stays small and opens fast.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from html import escape

from harness.analysis import svg
from harness.analysis.analyze import Analysis
from harness.analysis.annotate import Annotation
from harness.analysis.blockers import Verdict
from harness.analysis.exports import captured_output
from harness.analysis.model import PASSED, PROBLEMS, Feature, Scenario, Step

OUTPUT_CHARS = 4000
TRACE_CHARS = 3000
_MARK = {"passed": "✓", "failed": "✗", "error": "✗", "hook_error": "✗", "skipped": "–", "untested": "–",
         "undefined": "?", "pending": "…"}

CSS = ("#drill details{margin:.15em 0}#drill summary{cursor:pointer}.feat>summary{font-weight:600}"
       ".sc{margin-left:1.2em;border-left:3px solid #ccc;padding-left:.5em}.sc.s-passed{border-color:#2a7}"
       ".sc.s-failed,.sc.s-error,.sc.s-hook_error{border-color:#c33}#drill i{display:inline-block;width:1.1em;"
       "font-weight:700;font-style:normal}.s-passed>i,.s-passed>summary>i{color:#1a7f37}.s-failed>i,.s-error>i,"
       ".s-failed>summary>i,.s-error>summary>i,.s-hook_error>summary>i{color:#c62828}"
       "ol.st{margin:.3em 0;padding-left:1.5em}ol.st li{margin:.1em 0}.d,#drill small{color:#777;font-size:.85em}"
       ".ctx{background:#fff4e5;border-left:3px solid #b26a00;padding:.3em .6em;margin:.3em 0}"
       ".bl{background:#fde;border-radius:3px;padding:0 .3em;font-size:.85em}"
       "nav.f{position:sticky;top:0;background:#fff;padding:.4em 0;border-bottom:1px solid #ddd;z-index:1}"
       "nav.f label{border:1px solid #bbb;border-radius:3px;padding:0 .4em;margin:.1em;cursor:pointer;"
       "display:inline-block;font-size:.9em}input.r{position:absolute;opacity:0;pointer-events:none}"
       "pre.log{max-height:18em;font-size:.85em}.verdict{font-size:1.4em;font-weight:700;padding:.4em .6em}"
       ".go{background:#e6f4ea;color:#1a7f37}.nogo{background:#fdecea;color:#c62828}")


def drill_down(a: Analysis) -> str:
    """Filter radios, the filter bar, and the feature → scenario → step tree."""
    blockers = {v.scenario.key: v for v in a.verdicts}
    statuses = Counter(s.status for s in a.run.scenarios())
    tags = Counter(t for s in a.run.scenarios() for t in set(s.tags))
    rules = Counter(_blocker(blockers.get(s.key)) for s in a.run.scenarios())
    tag_ids = {t: f"t{n}" for n, t in enumerate(sorted(tags))}
    rule_ids = {r: f"b{n}" for n, r in enumerate(sorted(rules))}
    groups = (("s", "Status", {s: s for s in statuses}, statuses),
              ("t", "Tag", tag_ids, tags), ("b", "Blocker", rule_ids, rules))
    radios, bar, css = [], [], []
    for prefix, label, ids, counts in groups:
        radios.append(f'<input class="r" type="radio" name="f{prefix}" id="f{prefix}-all" checked>')
        css.append(f'#f{prefix}-all:checked~nav label[for="f{prefix}-all"]{{background:#dde}}')
        bar.append(f'<span>{label}:</span> <label for="f{prefix}-all">all</label>')
        for value in sorted(counts, key=lambda v: (-counts[v], v)):
            cls = f"{prefix}-{_ident(ids[value])}"
            radios.append(f'<input class="r" type="radio" name="f{prefix}" id="f{cls}">')
            bar.append(f'<label for="f{cls}">{escape(value)} ({counts[value]})</label>')
            css.append(f"#f{cls}:checked~main .sc:not(.{cls}),#f{cls}:checked~main .feat:not(:has(.{cls}))"
                       f'{{display:none}}#f{cls}:checked~nav label[for="f{cls}"]{{background:#dde}}')
        bar.append("<br>")
    features = "".join(_feature(f, blockers, a.notes, tag_ids, rule_ids) for f in a.run.features)
    return (f"<style>{''.join(css)}</style>{''.join(radios)}<nav class=\"f\">{''.join(bar)}</nav>"
            f'<main id="drill"><h2>Features, scenarios, steps</h2>{features}</main>')


def _ident(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


def _blocker(verdict: Verdict | None) -> str:
    if verdict is None:
        return "none"
    return verdict.rule.id if verdict.rule is not None else "unclassified"


def _feature(feature: Feature, blockers: Mapping[str, Verdict], notes: Mapping[str, Annotation],
             tag_ids: Mapping[str, str], rule_ids: Mapping[str, str]) -> str:
    counts = Counter(s.status for s in feature.scenarios)
    summary = ", ".join(f"{n} {status}" for status, n in counts.most_common())
    bad = any(s.status in PROBLEMS or s.status == "failed" for s in feature.scenarios)
    body = "".join(_scenario(s, blockers.get(s.key), notes.get(s.key), tag_ids, rule_ids)
                   for s in feature.scenarios)
    hook = f'<div class="ctx">{escape(_error_line(feature.hook_error))}</div>' if feature.hook_error else ""
    return (f'<details class="feat s-{feature.status}"{" open" if bad else ""}><summary>'
            f'<i>{_MARK.get(feature.status, "✗")}</i>{escape(feature.name)} '
            f'<span class="d">{escape(feature.path)} — {summary}</span></summary>{hook}{body}</details>')


def _scenario(s: Scenario, verdict: Verdict | None, note: Annotation | None,
              tag_ids: Mapping[str, str], rule_ids: Mapping[str, str]) -> str:
    blocker = _blocker(verdict)
    classes = " ".join([f"sc s-{s.status}", *(f"t-{tag_ids[t]}" for t in sorted(set(s.tags))),
                        f"b-{rule_ids[blocker]}"])
    badge = f' <span class="bl">{escape(blocker)}</span>' if verdict is not None else ""
    tags = " ".join(f"@{t}" for t in s.tags)
    parts = [f'<details class="{classes}"><summary><i>{_MARK.get(s.status, "✗")}</i>'
             f'{escape(s.name)}{badge} <span class="d">{escape(s.location)} {s.duration:.2f} s '
             f"{escape(tags)}</span></summary>"]
    if note is not None and note.step:
        parts.append(f'<div class="ctx"><b>{escape(note.step)}</b> {escape(note.sentence())}</div>')
    if note is not None:
        parts.append(timeline(note))
    if s.masked_by is not None:
        parts.append(f'<div class="ctx">masked by {escape(_error_line(s.masked_by))}</div>')
    parts.append(f'<ol class="st">{"".join(_step(step) for step in s.steps)}</ol>')
    output = captured_output(s)
    if output and s.status != PASSED:
        parts.append(f"<h4>Captured output</h4><pre>{escape(output[-OUTPUT_CHARS:])}</pre>")
    if note is not None and note.logs:
        lines = "\n".join(f"{_clock(x.at)} {x.service}: {x.short}" for x in note.logs)
        parts.append(f'<h4>Service logs around the failure</h4><pre class="log">{escape(lines)}</pre>')
    state = next((st.environment for st in s.steps if st.environment), None) or s.environment
    if state:
        parts.append(f"<h4>Containers at the failure</h4>{_containers(state)}")
    return "".join(parts) + "</details>"


def _containers(state: object) -> str:
    """The run record's container snapshot as a table (service, name, status, health, exit, OOM, restarts)."""
    services = state.get("services", {}) if isinstance(state, dict) else {}
    rows = []
    for service, containers in sorted(services.items()):
        for c in containers if isinstance(containers, list) else [containers]:
            cells = [service, *(str(c.get(k, "")) for k in ("name", "status", "health", "exit_code",
                                                             "oom_killed", "restarts", "error"))]
            rows.append("<tr>" + "".join(f"<td>{escape(x)}</td>" for x in cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("service", "container", "status", "health", "exit", "OOM",
                                             "restarts", "error"))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _step(step: Step) -> str:
    head = (f'<li class="s-{step.status}"><i>{_MARK.get(step.status, "✗")}</i>'
            f'{escape(step.text)} <small>{step.duration:.3f} s</small>')
    if step.error is None:
        return head + "</li>"
    trace = step.error.traceback[-TRACE_CHARS:] if step.error.traceback else ""
    return head + f"<pre>{escape(_error_line(step.error))}\n{escape(trace)}</pre></li>"


def _error_line(error: object) -> str:
    kind = getattr(error, "type", "")
    message = getattr(error, "message", "")
    hook = getattr(error, "hook", "")
    return f"{'HOOK-ERROR in ' + hook + ': ' if hook else ''}{kind + ': ' if kind else ''}{message}"


def _clock(at: float) -> str:
    return _dt.datetime.fromtimestamp(at, _dt.UTC).strftime("%H:%M:%S.%f")[:-3]


def timeline(note: Annotation) -> str:
    """A small chart of the scenario: fault bands over requests and errors per second, the failure marked."""
    points = [(r.started + s.second, s.completed, s.completed - s.ok) for r in note.load_runs
              if r.started is not None for s in r.seconds]
    bands = [(w.start, w.end, w.what) for w in note.windows if w.start is not None]
    if not points and not bands:
        return ""
    times = [t for t, _, _ in points] + [t for b in bands for t in (b[0], b[1]) if t is not None]
    times += [t for t in (note.start, note.end, note.at) if t is not None]
    return svg.fault_timeline(min(times), max(times) + 1, bands, points, note.at)


def status_chart(statuses: Iterable[str]) -> str:
    """Scenarios by status as bars."""
    counts = Counter(statuses)
    rows: Sequence[tuple[str, float, str]] = [(s, float(n), str(n)) for s, n in counts.most_common()]
    return svg.bars("Scenarios by status", rows, maximum=float(max(counts.values(), default=1)), fill="#579")
