"""The handoff's Resilience section: the sweeps (`harness sweep`) among a report's inputs.

A report input that is a sweep's run folder (or its sweep.json) gives its sweep to this section and its
fault-free baseline run (``<sweep>/baseline/``) to the test results; ``--sweep SWEEP`` adds a sweep
beside ordinary runs. The go/no-go checks ``recovers`` (every cell recovers) and ``expectations_hold``
(every cell meets resilience.yaml) judge the sweeps (harness.analysis.gonogo).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.errors import AnalysisError
from harness.runfolder import RunFolder
from harness.runfolder.sweep import NO_RECOVERY, SweepCell, SweepSummary, is_sweep, read_sweep
from harness.runfolder.sweep import sweep_file as _file

__all__ = ["SweepSummary", "as_dict", "baseline_of", "for_component", "markdown", "no_recovery", "split_inputs",
           "unmet"]


def split_inputs(inputs: Sequence[str], extra: Iterable[Path] = ()) -> tuple[list[str], list[SweepSummary]]:
    """The inputs with every sweep replaced by its baseline run, and the sweeps (``extra`` added)."""
    rest: list[str] = []
    sweeps: list[SweepSummary] = []
    seen: set[Path] = set()
    for spec in [*inputs, *(str(p) for p in extra)]:
        path = Path(spec)
        if not is_sweep(path):
            if spec in inputs:
                rest.append(spec)
            continue
        found = read_sweep(path)
        if found is not None and found.path.resolve() not in seen:
            seen.add(found.path.resolve())
            sweeps.append(found)
        if spec in inputs:
            rest.append(str(baseline_of(path, found)))
    return rest, sweeps


def baseline_of(path: Path, sweep: SweepSummary | None) -> Path:
    """The sweep's fault-free baseline run (a merged sweep: its first part's); an AnalysisError when none is left."""
    folders = [_file(path).parent, *(f.parent for f in (sweep.merged_from if sweep else ()))]
    for folder in folders:
        baseline = RunFolder(folder).sweep_baseline().path
        if baseline.is_dir():
            return baseline
    raise AnalysisError(f"{path}: a sweep without its baseline run (looked in "
                        f"{', '.join(str(RunFolder(f).sweep_baseline().path) for f in folders)})",
                        hint="give a run's results as inputs and the sweep with --sweep SWEEP")


def for_component(sweeps: Sequence[SweepSummary], tag: str) -> tuple[SweepSummary, ...]:
    """The sweeps' cells scored under a component's services (``hive`` covers hive-1, hive-2...)."""
    return tuple(replace(s, cells=tuple(c for c in s.cells if _belongs(c.service, tag))) for s in sweeps)


def _belongs(service: str, tag: str) -> bool:
    return service == tag or service.startswith(tag + "-")


def no_recovery(sweeps: Sequence[SweepSummary]) -> list[str]:
    """``kill queen (sweep r1)`` for every cell after which the environment did not recover."""
    return [f"{c.label} ({s.run_id})" for s in sweeps for c in s.cells if c.outcome == NO_RECOVERY]


def unmet(sweeps: Sequence[SweepSummary]) -> list[str]:
    """Every finding: a cell whose outcome differs from its expectation in resilience.yaml."""
    cells = {c.label for s in sweeps for c in s.cells}
    return [f"{f.cell}: expected {f.expected}, got {f.actual} ({s.run_id})" for s in sweeps for f in s.findings
            if f.cell in cells]


def _ratio(pair: tuple[int, int]) -> str:
    tolerated, exercised = pair
    return f"{tolerated}/{exercised}" + (f" ({100 * tolerated / exercised:.0f}%)" if exercised else "")


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(sweeps: Sequence[SweepSummary]) -> str:
    """The Resilience section: score overall and per service, findings, cells without recovery."""
    if not sweeps:
        return ""
    lines = ["## Resilience", "",
             "The team's own scenarios under every fault of the stack (`harness sweep`); the score is the "
             "exercised cells that were tolerated."]
    for s in sweeps:
        lines += ["", f"### Sweep of `{s.env}` ({s.run_id})", "",
                  f"- **Resilience score:** {_ratio(s.score.get('overall', (0, 0)))}; {len(s.cells)} cells, "
                  f"wall time {s.wall_s:g} s; results: `{s.path}`"]
        if s.stopped:
            lines.append(f"- **Stopped early** ({s.stopped}): {len(s.not_run)} cells did not run")
        lines += ["", "| Service | Score |", "|---|---|"]
        lines += [f"| {name} | {_ratio(pair)} |" for name, pair in s.score.items() if name != "overall"]
        lines += _findings(s) + _intermittent(s.intermittent) + _stuck(s.no_recovery)
    return "\n".join(lines)


def _findings(s: SweepSummary) -> list[str]:
    if not s.findings:
        said = sum(1 for c in s.cells if c.expected)
        return ["", f"Findings: none ({said} cells carry an expectation from resilience.yaml)."]
    return ["", "| Finding | Expected | Got | Meaning |", "|---|---|---|---|"] + [
        f"| {_escape(f.cell)} | {f.expected} | {f.actual} | {_escape(f.meaning)} |" for f in s.findings]


def _intermittent(cells: Sequence[SweepCell]) -> list[str]:
    if not cells:
        return []
    return ["", "**Intermittent cells** (tried again with `--confirm`, the tries disagreed; not tolerated in the "
                "score):", ""] + [f"- {_escape(c.label)}: " + "; ".join(
                    f"try {n}: " + (", ".join(_escape(f) for f in t) + " failed" if t else "all passed")
                    for n, t in enumerate(c.tries, 1)) for c in cells]


def _stuck(cells: Sequence[SweepCell]) -> list[str]:
    if not cells:
        return ["", "Every cell that ran recovered."]
    return ["", "**Cells with no recovery** (probes or the smoke scenario did not pass again within the ready "
                "timeout after the undo; the environment was replaced):", ""] + [f"- {_escape(c.label)}: {_under(c)}"
                                                                                 for c in cells]


def _under(cell: SweepCell) -> str:
    if not cell.failed:
        return "every scenario passed under the fault; the stack broke after it was undone"
    return f"{len(cell.failed)} scenario(s) failed under the fault; {_escape(cell.blocker[:160]) or '-'}"


def as_dict(sweeps: Sequence[SweepSummary]) -> list[dict[str, Any]]:
    """JSON-ready: one entry per sweep."""
    return [{"env": s.env, "run_id": s.run_id, "file": str(s.path), "wall_s": s.wall_s, "stopped": s.stopped,
             "score": {k: list(v) for k, v in s.score.items()},
             "findings": [{"cell": f.cell, "expected": f.expected, "actual": f.actual, "meaning": f.meaning}
                          for f in s.findings],
             "no_recovery": [c.label for c in s.no_recovery],
             "intermittent": [c.label for c in s.intermittent]} for s in sweeps]
