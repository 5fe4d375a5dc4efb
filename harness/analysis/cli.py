"""`harness analyze` and `harness report`: argument parsing and wiring, nothing else."""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from harness.analysis.analyze import Analysis, Folders, analyze
from harness.analysis.evidence import Evidence, read_evidence
from harness.analysis.gonogo import GateRules, load_gate_rules
from harness.analysis.inputs import load, newest_run, resolve_run
from harness.analysis.model import Run
from harness.analysis.resilience import SweepSummary, split_inputs
from harness.analysis.rules import RuleSet, load_rules
from harness.errors import AnalysisError, HarnessError
from harness.runfolder import BEHAVE_JSON, RECORD, RUNS_DIR, default_runs_dir, names
from harness.runfolder.sweep import sweep_file

PROJECT_RULES = Path("blockers.yaml")
PROJECT_GONOGO = Path("gonogo.yaml")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="*", help=f"{RECORD}, behave JSON, JUnit XML, Cucumber JSON or "
                        f"run folders (shards merge); default: the newest run in {RUNS_DIR}")
    parser.add_argument("--rules", type=Path, help="project blocker rules (YAML) on top of the defaults")
    parser.add_argument("--baseline", help="run folder, run id or result file to compare with")
    parser.add_argument("--history", type=Path, help="folder of earlier runs (trend and flaky detection)")
    parser.add_argument("--junit", type=Path, help="export JUnit XML (hook errors as <error>)")
    parser.add_argument("--cucumber", type=Path, help="export Cucumber JSON")
    parser.add_argument("--gonogo", type=Path, help="go/no-go rules (YAML) on top of the defaults "
                        "(default: gonogo.yaml when present)")
    parser.add_argument("--sweep", type=Path, action="append", default=[], metavar="SWEEP",
                        help=f"a resilience sweep (its run folder or {names.SWEEP_JSON}) for the Resilience section "
                        "and its go/no-go rules; an input that is a sweep counts too (its baseline run is the results)")


def _inputs(given: Sequence[str]) -> tuple[list[str], str]:
    if given:
        return list(given), ""
    run = newest_run()
    return [str(run)], str(run)


def _rules(path: Path | None) -> RuleSet:
    if path is None and PROJECT_RULES.is_file():
        path = PROJECT_RULES
    return load_rules(path)


def _gate(path: Path | None) -> GateRules:
    if path is None and PROJECT_GONOGO.is_file():
        path = PROJECT_GONOGO
    return load_gate_rules(path)


def _history(folder: Path | None, current: Sequence[str]) -> list[tuple[Run, Evidence]]:
    if folder is None:
        return []
    # lazy: only with --history (reads past run folders)
    from harness.analysis.history import history_runs

    skip = {Path(c).resolve() for c in current}
    runs = []
    for entry in history_runs(folder):
        if entry.resolve() in skip:
            continue
        try:
            runs.append((load([str(entry)]), evidence_of([str(entry)])))
        except HarnessError as exc:
            print(f"harness: history: skipping {entry}: {str(exc).splitlines()[0]}", file=sys.stderr)
    return runs


def evidence_of(inputs: Sequence[str]) -> Evidence:
    """Timelines, load results and failure logs of the run folders among ``inputs`` (a record's folder too)."""
    found = [read_evidence(folder) for folder in _folders(inputs)]
    found = [e for e in found if e]
    if len(found) == 1:
        return found[0]
    return Evidence(tuple(x for e in found for x in e.faults), tuple(x for e in found for x in e.load),
                    tuple(x for e in found for x in e.logs), ",".join(e.folder for e in found),
                    tuple(x for e in found for x in e.artifacts))


def _folders(inputs: Sequence[str]) -> list[Path]:
    folders = []
    for spec in inputs:
        path = Path(spec)
        if path.is_file() and path.name in (RECORD, BEHAVE_JSON):
            path = path.parent
        if path.is_dir() and path not in folders:
            folders.append(path)
    return folders


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The model is acyclic: cyclic GC passes over 100k fresh objects only cost time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _run(args: argparse.Namespace, history_default: Path | None = None) -> tuple[Analysis, str]:
    with _no_gc():
        return _analyze(args, history_default)


def _analyze(args: argparse.Namespace, history_default: Path | None) -> tuple[Analysis, str]:
    given, folder = _inputs(args.inputs)
    inputs, sweeps = split_inputs(given, args.sweep)
    _check_sweeps(args.sweep, sweeps)
    run = load(inputs)
    base_path = [str(resolve_run(args.baseline))] if args.baseline else []
    baseline = load(base_path) if base_path else None
    history = _history(args.history or history_default, inputs)
    folders = Folders(evidence_of(inputs), evidence_of(base_path), tuple(e for _, e in history))
    result = analyze(run, _rules(args.rules), baseline, [r for r, _ in history], folders, _gate(args.gonogo),
                     sweeps)
    _exports(result, args)
    return result, folder


def _check_sweeps(given: Sequence[Path], read: Sequence[SweepSummary]) -> None:
    """Every ``--sweep`` must be a sweep: a wrong path is an error, not a report without its section."""
    found = {s.path.resolve() for s in read}
    for path in given:
        if sweep_file(path).resolve() not in found:
            raise AnalysisError(f"--sweep {path}: not a sweep's run folder or {names.SWEEP_JSON}",
                                hint=f"give the run folder `harness sweep` printed (it holds {names.SWEEP_JSON})")


def _exports(result: Analysis, args: argparse.Namespace) -> None:
    # lazy: only when an export is asked for (keeps `harness analyze` start-up small)
    from harness.analysis import exports

    if args.junit:
        args.junit.parent.mkdir(parents=True, exist_ok=True)
        args.junit.write_text(exports.junit(result.run, result.notes))
    if args.cucumber:
        args.cucumber.parent.mkdir(parents=True, exist_ok=True)
        args.cucumber.write_text(json.dumps(exports.cucumber(result.run), indent=1))


def analyze_main(argv: list[str]) -> int:
    """harness analyze FILE... [--rules FILE] [--baseline RUN] [--json OUT]: print a summary."""
    parser = argparse.ArgumentParser(prog="harness analyze", description=analyze_main.__doc__)
    _common(parser)
    parser.add_argument("--json", type=Path, help="write the analysis model as JSON")
    args = parser.parse_args(argv)
    result, _ = _run(args)
    # lazy: only when the summary is printed
    from harness.analysis.terminal import render

    with _no_gc():  # writing builds a dict per scenario: a GC pass would walk the whole model (0.27 s per 140k)
        print(render(result))
        if args.json:
            # lazy: only with --json
            from harness.analysis.report_json import write

            write(result, args.json, full=False)
    return result.exit_code


def report_main(argv: list[str]) -> int:
    """harness report --team NAME [--next-team NAME] [--out DIR] [inputs...]: write the handoff."""
    parser = argparse.ArgumentParser(prog="harness report", description=report_main.__doc__)
    _common(parser)
    parser.add_argument("--team", required=True, help="team name, e.g. TEAM-107")
    parser.add_argument("--next-team", default="", help="team the handoff goes to")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default reports/)")
    parser.add_argument("--steps-dir", type=Path, default=Path("steps"), help="step modules for hollow checks")
    parser.add_argument("--strict", action="store_true", help="exit 1 when any scenario did not pass")
    args = parser.parse_args(argv)
    runs = default_runs_dir()
    result, folder = _run(args, runs if not args.inputs and runs.is_dir() else None)
    with _no_gc():
        written = write_report(result, args.team, args.next_team, args.out, args.steps_dir, folder)
    # lazy: only for the verdict line of a report
    from harness.analysis.report_md import verdict_line

    print(verdict_line(result).replace("**", ""))
    print("\n".join(f"wrote {path}" for path in written))
    return 1 if args.strict and result.failed else 0


def write_report(result: Analysis, team: str, next_team: str, out: Path, steps_dir: Path,
                 run_folder: str = "") -> list[Path]:
    """Write Markdown, HTML, JSON and the JUnit/Cucumber exports into ``out``."""
    # lazy: the report writers load only for `harness report`
    from harness.analysis import exports, report_html, report_json, report_md

    static: list[str] = []
    if steps_dir.is_dir():
        # lazy: the step catalog parses every step module; only for reports that list hollow steps
        from harness.catalog import static_hollow

        static = [f"{h.location} {h.name}" for h in static_hollow(steps_dir)]
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{team}-handoff"
    markdown = report_md.render(result, team, next_team, static, run_folder)
    paths = [stem.with_suffix(".md"), stem.with_suffix(".html"), stem.with_suffix(".json"),
             out / f"{team}-junit.xml", out / f"{team}-cucumber.json"]
    paths[0].write_text(markdown)
    paths[1].write_text(report_html.render(result, markdown, f"{team} handoff"))
    report_json.write(result, paths[2])
    paths[3].write_text(exports.junit(result.run, result.notes))
    paths[4].write_text(json.dumps(exports.cucumber(result.run), indent=1))
    return paths


__all__ = ["AnalysisError", "analyze_main", "report_main", "write_report"]
