"""The handoff's Resilience section and its go/no-go rules, on sweeps written here (no Docker)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.analysis.analyze import analyze
from harness.analysis.cli import analyze_main, report_main
from harness.analysis.gonogo import load_gate_rules
from harness.analysis.inputs import load
from harness.analysis.resilience import split_inputs
from harness.errors import AnalysisError
from harness.faults.kinds import FaultSpec
from harness.runfolder import RunFolder
from harness.runfolder.sweep import read_sweep
from harness.sweep import report
from harness.sweep.driver import SweepResult
from harness.sweep.expect import findings
from harness.sweep.outcome import CellResult, ScenarioResult

FIXTURE = Path(__file__).parent / "fixtures" / "runs" / "partition-regressed"
PROJECT_GATE = Path(__file__).parents[2] / "gonogo.yaml"


def _cell(label: str, *statuses: str, recovered: bool = True) -> CellResult:
    kind, _, target = label.partition(" ")
    a, _, b = target.partition("->")
    scenarios = tuple(ScenarioResult(f"f.feature:{n}", f"s{n}", s, "Then x" if s != "passed" else "",
                                     "boom" if s != "passed" else "") for n, s in enumerate(statuses))
    return CellResult(FaultSpec(kind, a, b), scenarios, recovered, 2.0 if recovered else None, 9.0)


def _sweep(folder: Path, cells: list[CellResult], expectations: dict[str, dict[str, str]] | None = None) -> Path:
    """A sweep's run folder: sweep.json as `harness sweep` writes it, and the fixture run as its baseline."""
    shutil.copytree(FIXTURE, RunFolder(folder).sweep_baseline().path)
    result = SweepResult("full-stack", folder.name, ["f.feature:0"], [], cells, None, "f.feature:0", wall_s=300.0)
    from harness.sweep.expect import expected

    wants = expectations or {}
    data = report.to_json(result, findings(wants, cells), {c.fault.label: expected(wants, c) for c in cells})
    report.write(RunFolder(folder), data)
    return folder


def _stuck(tmp_path: Path) -> Path:
    return _sweep(tmp_path / "sweep-1", [_cell("kill queen", "failed"), _cell("pause hive-1", "passed", "failed",
                                                                                recovered=False),
                                         _cell("kill worker-1-1", "passed"), _cell("latency hive-1->queen", "passed")],
                  {"worker-*": {"kill": "tolerated"}, "queen": {"kill": "tolerated"}})


def test_a_sweep_with_a_cell_that_never_recovered_makes_the_handoff_no_go(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    assert report_main(["--team", "T", "--out", str(out), "--steps-dir", str(tmp_path / "none"),
                        "--gonogo", str(PROJECT_GATE), str(_stuck(tmp_path))]) == 0
    markdown = (out / "T-handoff.md").read_text()
    first = markdown.splitlines()[0]
    assert first.startswith("**Verdict: NO-GO**")
    assert "every cell of the resilience sweep recovers ✗" in first
    assert "every expectation of resilience.yaml holds ✗" in first
    section = markdown.split("## Resilience", 1)[1].split("\n---", 1)[0]
    assert "**Resilience score:** 2/4 (50%)" in section
    assert "| queen | 1/2 (50%) |" in section and "| hive-1 | 0/1 (0%) |" in section  # an edge: its server side
    assert "| kill queen | tolerated | detected | resilience bug |" in section
    assert "- pause hive-1: 1 scenario(s) failed under the fault; Then x: boom" in section
    data = json.loads((out / "T-handoff.json").read_text())
    [sweep] = data["resilience"]
    assert sweep["no_recovery"] == ["pause hive-1"] and sweep["score"]["overall"] == [2, 4]
    reasons = {r["id"]: r for r in data["gonogo"]["reasons"]}
    assert not reasons["sweep-recovers"]["held"] and reasons["sweep-recovers"]["detail"] == "pause hive-1 (sweep-1)"
    assert reasons["sweep-expectations"]["detail"] == "kill queen: expected tolerated, got detected (sweep-1)"
    components = {c["scope"]: {r["id"]: r["held"] for r in c["reasons"]} for c in data["gonogo"]["components"]}
    assert components["hive"]["sweep-recovers"] is False and components["queen"]["sweep-recovers"] is True
    assert "<h2" in (out / "T-handoff.html").read_text() and "Resilience" in (out / "T-handoff.html").read_text()


def test_a_sweep_where_every_cell_recovered_and_met_its_expectation_passes_both_rules(tmp_path: Path) -> None:
    folder = _sweep(tmp_path / "sweep-ok", [_cell("kill queen", "failed"), _cell("kill worker-1-1", "passed")],
                    {"queen": {"kill": "detected"}, "worker-*": {"kill": "tolerated"}})
    inputs, sweeps = split_inputs([str(folder)])
    assert inputs == [str(RunFolder(folder).sweep_baseline().path)] and [s.run_id for s in sweeps] == ["sweep-ok"]
    result = analyze(load(inputs), gate=load_gate_rules(PROJECT_GATE), sweeps=sweeps)
    assert result.gonogo is not None
    held = {r.rule.id: r.held for r in result.gonogo.reasons}
    assert held["sweep-recovers"] and held["sweep-expectations"]
    assert not held["p0-passes"]  # the baseline run's own failures still count


def test_without_a_sweep_the_sweep_rules_are_not_judged(tmp_path: Path) -> None:
    result = analyze(load([str(FIXTURE)]), gate=load_gate_rules(PROJECT_GATE))
    assert result.gonogo is not None
    assert {r.rule.id for r in result.gonogo.reasons}.isdisjoint({"sweep-recovers", "sweep-expectations"})


def test_a_sweep_given_with_the_option_joins_an_ordinary_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) \
        -> None:
    stuck = _stuck(tmp_path)
    assert analyze_main([str(FIXTURE), "--sweep", str(stuck / "sweep.json")]) == 1
    assert "resilience sweep sweep-1 of full-stack: 2/4 exercised cells tolerated, 1 finding(s), 1 without " \
           "recovery" in capsys.readouterr().out
    with pytest.raises(AnalysisError, match="--sweep .*: not a sweep"):
        analyze_main([str(FIXTURE), "--sweep", str(tmp_path / "nothing")])


def test_a_merged_sweep_reports_on_the_baseline_of_its_first_part(tmp_path: Path) -> None:
    from harness.sweep import merge

    stuck = _stuck(tmp_path)
    merged = RunFolder(tmp_path / "merged")
    merged.path.mkdir()
    report.write(merged, merge.merge([stuck], {}, "merged"))
    summary = read_sweep(merged.path)
    assert summary is not None and summary.merged_from == (stuck / "sweep.json",)
    inputs, _ = split_inputs([str(merged.path)])
    assert inputs == [str(stuck / "baseline")]
    shutil.rmtree(stuck / "baseline")
    with pytest.raises(AnalysisError, match="a sweep without its baseline run"):
        split_inputs([str(merged.path)])


def test_a_cell_that_broke_only_after_the_undo_says_so(tmp_path: Path) -> None:
    from harness.analysis.resilience import markdown

    folder = _sweep(tmp_path / "after", [_cell("restart worker-1-1", "passed", recovered=False)])
    summary = read_sweep(folder)
    assert summary is not None
    assert ("- restart worker-1-1: every scenario passed under the fault; the stack broke after it was undone"
            in markdown([summary]))
