"""The handoff report as one self-contained HTML file (inline CSS and SVG, no scripts, no network).

Order: title and verdict, the go/no-go reasons, summary charts, the drill-down (filters by status,
tag and blocker), then the Markdown report's sections.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

from harness.analysis import svg
from harness.analysis.analyze import Analysis
from harness.analysis.narrative import categories, pct
from harness.analysis.report_drill import CSS, drill_down, status_chart
from harness.analysis.report_md import verdict_line

_CSS = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;"
        "text-align:left}th{background:#f4f4f4}code,pre{background:#f6f6f6}pre{padding:.6em;overflow:auto}"
        "h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em}"
        ".ok{color:#1a7f37}.bad{color:#c62828}.warn{color:#b26a00}")


def render(analysis: Analysis, markdown: str, title: str) -> str:
    """Title and verdict first, charts, the drill-down, then the Markdown report converted to HTML."""
    charts = [status_chart(s.status for s in analysis.run.scenarios()), _feature_chart(analysis),
              _blocker_chart(analysis)]
    if analysis.performance:
        charts.append(_latency_chart(analysis))
        charts += _latency_trends(analysis)
    if len(analysis.trend) >= 2:
        charts.append(svg.trend("Pass rate over runs (solid: scenarios, dashed: steps)",
                                [(p.run, p.scenario_rate, p.step_rate) for p in analysis.trend]))
    first, _, rest = markdown.partition("\n")
    body = markdown_to_html(rest if first.startswith("**Verdict") else markdown)
    go = analysis.gonogo is not None and analysis.gonogo.verdict == "GO" or (
        analysis.gonogo is None and not analysis.failed)
    verdict = _inline(verdict_line(analysis).replace("**", ""))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{_CSS}{CSS}</style></head><body>"
            f"<h1>{escape(title)}</h1><p class=\"verdict {'go' if go else 'nogo'}\" id=\"verdict\">{verdict}</p>"
            f"<section class=\"charts\">{''.join(f'<figure>{c}</figure>' for c in charts)}</section>"
            f"{drill_down(analysis)}<section id=\"report\">{body}</section></body></html>\n")


def _feature_chart(a: Analysis) -> str:
    label, rows = categories(a)
    data = [(r.name, r.scenario_rate, f"{pct(r.scenario_rate)} of {r.scenarios.total}") for r in rows[:40]]
    return svg.bars(f"Scenario pass rate by {label.lower()}", data)


def _latency_chart(a: Analysis) -> str:
    rows = []
    for row in a.performance[:30]:
        p95 = row.value("latency_ms.p95") or 0.0
        ref = next((t.reference for t in row.trends if t.percentile == "p95" and t.reference is not None), None)
        caption = f"{p95:.0f} ms" + (f" (ref {ref:.0f})" if ref is not None else "") + ("" if row.met else " ✗ bound")
        rows.append((f"{row.load.name} {row.scenario}", p95, caption))
    top = max((r[1] for r in rows), default=1.0) or 1.0
    return svg.bars("Load runs: p95 latency (ms)", rows, maximum=top, fill="#57a")


def _latency_trends(a: Analysis, most: int = 6) -> list[str]:
    charts: list[str] = []
    for row in a.performance:
        trend = next((t for t in row.trends if t.percentile == "p95" and t.history), None)
        if trend is not None and len(charts) < most:
            charts.append(svg.series(f"p95 over runs: {row.load.name} {row.scenario}",
                                     [*trend.history, trend.now], flagged=trend.regressed))
    return charts


def _blocker_chart(a: Analysis) -> str:
    data = [(i.rule.id, float(i.scenarios), f"{i.scenarios} ({pct(i.share)})") for i in a.impacts]
    top = max((d[1] for d in data), default=1.0)
    return svg.bars("Blocker impact (scenarios)", data, maximum=top or 1.0, fill="#c63")


def markdown_to_html(text: str) -> str:
    """The small Markdown subset our reports use: headings, lists, tables, code, bold, rules."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), len(lines))
            out.append("<pre><code>" + escape("\n".join(lines[i + 1:end])) + "</code></pre>")
            i = end + 1
            continue
        if line.startswith("|"):
            end = next((j for j in range(i, len(lines)) if not lines[j].startswith("|")), len(lines))
            out.append(_table(lines[i:end]))
            i = end
            continue
        out.append(_block(line))
        i += 1
    return "\n".join(out)


def _block(line: str) -> str:
    heading = re.match(r"^(#{1,6}) (.*)$", line)
    if heading:
        n = len(heading.group(1))
        return f"<h{n}>{_inline(heading.group(2))}</h{n}>"
    if line.strip() == "---":
        return "<hr>"
    item = re.match(r"^(\s*)(?:[-*]|\d+\.) (.*)$", line)
    if item:
        return f'<div style="margin-left:{len(item.group(1)) + 1}em">• {_inline(item.group(2))}</div>'
    return f"<p>{_inline(line)}</p>" if line.strip() else ""


def _table(rows: Sequence[str]) -> str:
    cells = [[c.strip() for c in re.split(r"(?<!\\)\|", r.strip().strip("|"))] for r in rows
             if not re.match(r"^\|[-| ]+\|$", r.strip())]
    if not cells:
        return ""
    head = "".join(f"<th>{_inline(c)}</th>" for c in cells[0])
    body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in cells[1:])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# Status marks as styled text: headless browsers and servers often lack an emoji font.
_MARKS = {"✅": '<b class="ok">✓</b>', "❌": '<b class="bad">✗</b>', "⚠️": '<b class="warn">!</b>',
          "⚠": '<b class="warn">!</b>'}


def _inline(text: str) -> str:
    text = escape(text.replace("\\|", "|"))
    for mark, html in _MARKS.items():
        text = text.replace(mark, html)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
