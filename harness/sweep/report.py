"""A sweep's results: ``sweep.json`` (every cell), ``sweep.md``, ``sweep.html`` (a self-contained heatmap
of targets x fault kinds), the resilience score, and the diff against an earlier sweep.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.faults.kinds import KINDS
from harness.runfolder import RunFolder
from harness.sweep.driver import SweepResult
from harness.sweep.expect import Finding
from harness.sweep.outcome import (
    DETECTED,
    FAULT_FAILED,
    INTERMITTENT,
    NO_RECOVERY,
    NOT_EXERCISED,
    NOT_RUN,
    TOLERATED,
    CellResult,
    score,
    service_of,
)

COLOURS = {TOLERATED: "#3c9d4e", DETECTED: "#e0a526", INTERMITTENT: "#2f8fbf", NO_RECOVERY: "#c8372d",
           NOT_EXERCISED: "#d9d9d9", FAULT_FAILED: "#8a63b8", NOT_RUN: "#ffffff"}
UNSETTLED = "(intermittent: not a settled change)"  # a --baseline change to or from an intermittent cell


def scores(cells: Sequence[CellResult]) -> dict[str, tuple[int, int]]:
    """(tolerated, exercised) overall (key ``""``) and per service."""
    found = {"": score(cells)}
    for service in sorted({service_of(c.fault) for c in cells}):
        found[service] = score([c for c in cells if service_of(c.fault) == service])
    return found


def _ratio(pair: tuple[int, int]) -> str:
    tolerated, exercised = pair
    return f"{tolerated}/{exercised}" + (f" ({tolerated / exercised:.0%})" if exercised else "")


def cell_dict(cell: CellResult, expected: str = "") -> dict[str, Any]:
    """One cell of sweep.json."""
    return {"fault": cell.fault.kind, "target": cell.fault.target, "peer": cell.fault.peer,
            "label": cell.fault.label, "parameters": dict(cell.fault.params), "outcome": cell.outcome,
            "expected": expected, "scenarios": [s.as_dict() for s in cell.scenarios],
            "failed": [s.location for s in cell.failed], "blocker": cell.blocker,
            "recovery_s": cell.recovery_s, "seconds": cell.seconds, "timeline": list(cell.timeline),
            "folder": cell.folder,
            "tries": [{"scenarios": [s.as_dict() for s in t], "failed": failed}
                      for t, failed in zip(cell.all_tries, cell.failed_by_try, strict=True)] if cell.tries else []}


def to_json(result: SweepResult, findings: Sequence[Finding], expectations: Mapping[str, str],
            changes: Sequence[str] = ()) -> dict[str, Any]:
    """Everything of a sweep, JSON-ready (``expectations``: cell label -> expected outcome)."""
    reduction = result.reduction
    return {
        "env": result.env, "run_id": result.run_id, "wall_s": result.wall_s, "baseline_s": result.baseline_s,
        "stopped": result.stopped, "smoke": result.smoke, "scenarios": result.scenarios,
        "left_out": [s.as_dict() for s in result.left_out],
        "reduction": {"runs": reduction.runs, "unreduced_runs": reduction.unreduced_runs, "saved": reduction.saved}
        if reduction is not None else None,
        "score": {k or "overall": list(v) for k, v in scores(result.cells).items()},
        "cells": [cell_dict(c, expectations.get(c.fault.label, "")) for c in result.cells],
        "findings": [{"cell": f.cell, "expected": f.expected, "actual": f.actual, "meaning": f.meaning}
                     for f in findings],
        "changes": list(changes),
    }


def read_outcomes(path: Path) -> dict[str, str]:
    """Cell label -> outcome of an earlier sweep (its sweep.json, or its run folder)."""
    file = RunFolder(path).sweep_files[0] if path.is_dir() else path
    try:
        data = json.loads(file.read_text())
        return {str(c["label"]): str(c["outcome"]) for c in data["cells"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"not a sweep's results: {exc}", file=str(file), key="--baseline",
                          hint="give an earlier sweep's run folder or its JSON summary") from exc


def diff(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """``"kill worker: tolerated → detected"`` for every cell in both whose outcome changed (not-run cells aside);
    a change to or from intermittent says it is no settled change (an intermittent cell may come out either way)."""
    return [f"{label}: {before[label]} → {outcome}" + (f" {UNSETTLED}" if INTERMITTENT in (before[label], outcome)
                                                        else "")
            for label, outcome in after.items()
            if label in before and before[label] != outcome and NOT_RUN not in (before[label], outcome)]


def markdown(data: Mapping[str, Any]) -> str:
    """sweep.md: score, reduction, findings, changes, the cells that were not tolerated, what was left out."""
    overall = data["score"]["overall"]
    lines = [f"# Resilience sweep of `{data['env']}` ({data['run_id']})", "",
             f"- resilience score: {_ratio((overall[0], overall[1]))} exercised cells tolerated",
             f"- cells: {len(data['cells'])}; wall time {data['wall_s']:g} s (baseline {data['baseline_s']:g} s)"]
    if data["reduction"]:
        r = data["reduction"]
        lines.append(f"- dynamic reduction: {r['runs']} scenario runs instead of {r['unreduced_runs']} "
                     f"(saved {r['saved']})")
    if data.get("merged_from"):
        lines.append(f"- merged from {len(data['merged_from'])} sweeps (machine time {data['machine_s']:g} s): "
                     + ", ".join(f"{m['run_id']}" + (f" (shard {m['shard']})" if m["shard"] else "")
                                 for m in data["merged_from"]))
    if data["stopped"]:
        lines.append(f"- stopped early ({data['stopped']}): "
                     f"{sum(1 for c in data['cells'] if c['outcome'] == NOT_RUN)} cells did not run")
    lines += ["", "| service | score |", "|---|---|"]
    lines += [f"| {k} | {_ratio((v[0], v[1]))} |" for k, v in data["score"].items() if k != "overall"]
    if data["findings"]:
        lines += ["", "## Findings (outcome differs from resilience.yaml)", ""]
        lines += [f"- **{f['cell']}**: expected {f['expected']}, got {f['actual']} ({f['meaning']})"
                  for f in data["findings"]]
    if data["changes"]:
        lines += ["", "## Changed since the baseline sweep", ""] + [f"- {c}" for c in data["changes"]]
    lines += ["", "## Cells", "", "| cell | outcome | failed | recovery s | blocker |", "|---|---|---|---|---|"]
    for c in data["cells"]:
        if c["outcome"] in (NOT_EXERCISED, NOT_RUN):
            continue
        recovery = "" if c["recovery_s"] is None else f"{c['recovery_s']:g}"
        lines.append(f"| {c['label']} | {c['outcome']} | {len(c['failed'])}/{len(c['scenarios'])} | {recovery} | "
                     f"{c['blocker'].replace('|', '/')[:120]} |")
    skipped = [c["label"] for c in data["cells"] if c["outcome"] == NOT_EXERCISED]
    unsettled = [c for c in data["cells"] if c["outcome"] == INTERMITTENT]
    if unsettled:
        lines += ["", "## Intermittent cells (their tries disagreed)", ""]
        lines += [f"- **{c['label']}**: " + "; ".join(
            f"try {n}: " + (", ".join(t["failed"]) + " failed" if t["failed"] else "all passed")
            for n, t in enumerate(c.get("tries") or [], 1)) for c in unsettled]
    lines += ["", f"Not exercised ({len(skipped)}): " + (", ".join(skipped) or "none")]
    not_run = [c["label"] for c in data["cells"] if c["outcome"] == NOT_RUN]
    if not_run:
        lines += ["", f"Not run ({len(not_run)}): " + ", ".join(not_run)]
    if data["left_out"]:
        lines += ["", "Left out (fail fault-free): "
                  + ", ".join(f"{s['location']} {s['name']}" for s in data["left_out"])]
    return "\n".join(lines) + "\n"


def _row_of(cell: Mapping[str, Any]) -> str:
    return f"{cell['target']} → {cell['peer']}" if cell["peer"] else str(cell["target"])


def _td(cell: Mapping[str, Any] | None) -> str:
    if cell is None:
        return '<td class="none"></td>'
    e = html.escape
    colour = COLOURS.get(cell["outcome"], "#fff")
    params = " ".join(f"{k}={v:g}" for k, v in cell["parameters"].items())
    recovery = "" if cell["recovery_s"] is None else f"recovery {cell['recovery_s']:g} s"
    failing = "".join(
        f"<li><code>{e(s['location'])}</code> {e(s['name'])}<br><b>{e(s['step'])}</b> {e(s['error'])}</li>"
        for s in [s for t in (cell.get("tries") or [{"scenarios": cell["scenarios"]}]) for s in t["scenarios"]]
        if s["status"] != "passed")
    passing = sum(1 for s in cell["scenarios"] if s["status"] == "passed")
    expected = f"<br>expected: {e(cell['expected'])}" if cell["expected"] else ""
    tries = "".join(f"<li>try {n}: " + (e(", ".join(t["failed"])) + " failed" if t["failed"] else "all passed")
                    + "</li>" for n, t in enumerate(cell.get("tries") or [], 1))
    body = (f"<p>{e(cell['label'])} {e(params)}<br>{len(cell['scenarios'])} scenario(s), {passing} passed. "
            f"{e(recovery)}{expected}<br>run folder: <code>{e(cell['folder'])}</code></p>"
            + (f'<ul class="tries">{tries}</ul>' if tries else "")
            + (f"<ol>{failing}</ol>" if failing else ""))
    mark = " finding" if cell["expected"] and cell["expected"] != cell["outcome"] else ""
    return (f'<td class="cell{mark}" style="background:{colour}" data-outcome="{e(cell["outcome"])}">'
            f"<details><summary>{e(cell['outcome'])}</summary>{body}</details></td>")


def heatmap(data: Mapping[str, Any]) -> str:
    """sweep.html: targets (services, then edges) x fault kinds, coloured by outcome; a cell opens its drill-down."""
    e = html.escape
    kinds = [k for k in KINDS if any(c["fault"] == k for c in data["cells"])]
    rows: dict[str, dict[str, Mapping[str, Any]]] = {}
    for cell in sorted(data["cells"], key=lambda c: (bool(c["peer"]), _row_of(c))):
        rows.setdefault(_row_of(cell), {})[cell["fault"]] = cell
    head = "".join(f"<th>{e(k)}</th>" for k in kinds)
    body = "".join(f"<tr><th class='target'>{e(row)}</th>{''.join(_td(cells.get(k)) for k in kinds)}</tr>"
                   for row, cells in rows.items())
    legend = "".join(f'<span class="key" style="background:{c}">{e(o)}</span>' for o, c in COLOURS.items())
    overall = data["score"]["overall"]
    services = " · ".join(f"{e(k)} {_ratio((v[0], v[1]))}" for k, v in data["score"].items() if k != "overall")
    findings = "".join(f"<li><b>{e(f['cell'])}</b>: expected {e(f['expected'])}, got {e(f['actual'])} "
                       f"({e(f['meaning'])})</li>" for f in data["findings"])
    changes = "".join(f"<li>{e(c)}</li>" for c in data["changes"])
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Resilience sweep {e(data['env'])}</title>
<style>body{{font:14px sans-serif;margin:1.5em}} table{{border-collapse:collapse}}
th,td{{border:1px solid #999;padding:4px 6px;vertical-align:top}} th.target{{text-align:left;white-space:nowrap}}
td.cell{{min-width:7em}} td.none{{background:repeating-linear-gradient(45deg,#fff,#fff 4px,#eee 4px,#eee 8px)}}
td.finding{{outline:3px solid #000}} summary{{cursor:pointer;font-weight:bold}} details p,details ol{{font-size:12px;
background:#fff;padding:4px;max-width:40em}} .key{{display:inline-block;padding:2px 8px;margin-right:4px;
border:1px solid #999}}</style></head><body>
<h1>Resilience sweep of <code>{e(data['env'])}</code></h1>
<p id="score">resilience score: {_ratio((overall[0], overall[1]))} exercised cells tolerated · {services}</p>
<p>{len(data['cells'])} cells · wall time {data['wall_s']:g} s{self_reduction(data)}</p>
<p class="legend">{legend}</p>
<table id="heatmap"><thead><tr><th>target</th>{head}</tr></thead><tbody>{body}</tbody></table>
{f'<h2>Findings</h2><ul id="findings">{findings}</ul>' if findings else ''}
{f'<h2>Changed since the baseline sweep</h2><ul id="changes">{changes}</ul>' if changes else ''}
</body></html>
"""


def self_reduction(data: Mapping[str, Any]) -> str:
    """`` · reduction: N runs instead of M`` (empty without a reduction)."""
    r = data.get("reduction")
    return f" · reduction: {r['runs']} scenario runs instead of {r['unreduced_runs']}" if r else ""


def write(folder: RunFolder, data: Mapping[str, Any]) -> tuple[Path, Path, Path]:
    """sweep.json, sweep.md and sweep.html into the sweep's run folder."""
    json_file, md_file, html_file = folder.sweep_files
    json_file.write_text(json.dumps(data, indent=1) + "\n")
    md_file.write_text(markdown(data))
    html_file.write_text(heatmap(data))
    return json_file, md_file, html_file
