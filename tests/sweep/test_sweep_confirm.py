"""Confirmation tries and the intermittent outcome (no Docker): when a cell is tried again, how its tries
combine, how an intermittent cell is judged, scored, reported, merged and diffed, and the fault's onset."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from harness.analysis.resilience import markdown as handoff_markdown
from harness.errors import ConfigError
from harness.faults.kinds import FaultSpec
from harness.run import sweep_hook
from harness.run.sweep_hook import ONSET_KEY, SweepHook, parse_onset
from harness.runfolder import RunFolder
from harness.runfolder.sweep import read_sweep
from harness.sweep import merge, report
from harness.sweep.confirm import retry_order, wants_another_try, with_try
from harness.sweep.driver import Sweep, SweepOptions, SweepResult
from harness.sweep.expect import findings
from harness.sweep.outcome import (
    DETECTED,
    INTERMITTENT,
    NO_RECOVERY,
    TOLERATED,
    CellResult,
    ScenarioResult,
    score,
)

KILL = FaultSpec("kill", "worker")


def _try(*statuses: str, recovered: bool = True, recovery: float = 1.0, seconds: float = 5.0) -> CellResult:
    scenarios = tuple(ScenarioResult(f"f.feature:{n}", f"s{n}", s, "Then x" if s != "passed" else "",
                                     "boom" if s != "passed" else "") for n, s in enumerate(statuses))
    return CellResult(KILL, scenarios, recovered, recovery if recovered else None, seconds, True,
                      ({"action": "inject"},), phases={"behave_s": seconds})


def test_tries_that_disagree_make_a_cell_intermittent_which_is_exercised_but_not_tolerated() -> None:
    detected_then_tolerated = with_try(_try("passed", "failed"), _try("passed", "passed"))
    assert detected_then_tolerated.outcome == INTERMITTENT
    assert detected_then_tolerated.failed_by_try == [["f.feature:1"], []]
    assert [s.location for s in detected_then_tolerated.failed] == ["f.feature:1"]
    tolerated_then_detected = with_try(_try("passed", "passed"), _try("failed"))
    assert tolerated_then_detected.outcome == INTERMITTENT
    assert tolerated_then_detected.blocker == "Then x: boom"  # the first try that failed
    assert with_try(_try("failed"), _try("passed", "failed")).outcome == DETECTED  # other scenario, still detected
    assert with_try(_try("passed"), _try("passed")).outcome == TOLERATED
    assert with_try(_try("failed"), _try("passed", recovered=False)).outcome == NO_RECOVERY
    assert score([detected_then_tolerated, _try("passed"), _try("failed")]) == (1, 3)


def test_a_try_adds_its_seconds_and_timeline_and_keeps_the_slower_recovery() -> None:
    both = with_try(_try("failed", recovery=1.5, seconds=4.0), _try("failed", recovery=3.0, seconds=6.0))
    assert both.seconds == 10.0 and both.recovery_s == 3.0 and both.recovered
    assert len(both.timeline) == 2 and both.phases == {"behave_s": 10.0} and len(both.all_tries) == 2
    lost = with_try(_try("failed"), _try("failed", recovered=False))
    assert not lost.recovered and lost.recovery_s is None


def test_a_detected_cell_or_a_finding_is_tried_again_a_tolerated_or_settled_one_is_not() -> None:
    assert wants_another_try(_try("failed"), "", 1)
    assert wants_another_try(_try("failed"), DETECTED, 1)  # as expected, but a detection is confirmed
    assert not wants_another_try(_try("failed"), DETECTED, 0)  # no tries left
    assert not wants_another_try(_try("passed"), "", 1)
    assert not wants_another_try(_try("passed"), TOLERATED, 1)
    assert wants_another_try(_try("passed"), DETECTED, 1)  # a finding: blind scenario or a race?
    assert not wants_another_try(with_try(_try("failed"), _try("passed")), "", 3)  # intermittent: settled
    assert not wants_another_try(_try("failed", recovered=False), "", 3)


def test_a_retry_starts_with_the_scenarios_that_failed_before() -> None:
    cell = with_try(_try("passed", "passed", "failed"), _try("failed", "passed", "passed"))
    assert retry_order(["f.feature:0", "f.feature:1", "f.feature:2"], cell) == \
        ["f.feature:2", "f.feature:0", "f.feature:1"]
    assert retry_order(["a:1", "b:2"], _try("passed")) == ["a:1", "b:2"]


class FakeWorker:
    """A worker whose cells come out as listed, one per call; it records each call's scenarios."""

    def __init__(self, outcomes: Sequence[CellResult]) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[list[str]] = []
        self.smoke: list[Path] = []
        self.env: Any = object()

    def cell(self, folder: RunFolder, fault: FaultSpec, scenarios: Sequence[str], limits: Any, smoke: str,
             smoke_folder: Callable[[int], RunFolder], *, first_failure: bool = False) -> CellResult:
        self.calls.append(list(scenarios))
        self.smoke.append(smoke_folder(1).path)
        return self.outcomes.pop(0)


def _tries(tmp_path: Path, outcomes: Sequence[CellResult], confirm: int, expected: str = "",
           first_failure: bool = True) -> tuple[CellResult, FakeWorker]:
    sweep = Sweep(SweepOptions(confirm=confirm, first_failure=first_failure), None,  # type: ignore[arg-type]
                  RunFolder(tmp_path), out=lambda line: None, expect=lambda cell: expected)
    worker = FakeWorker(outcomes)
    result = SweepResult("shop", "r1", ["f.feature:0", "f.feature:1"], [], [], None, "f.feature:0")
    cell = sweep._tries(worker, 3, KILL, ["f.feature:0", "f.feature:1"], result)  # type: ignore[arg-type]
    return cell, worker


def test_the_sweep_tries_a_detected_cell_again_until_the_tries_disagree(tmp_path: Path) -> None:
    cell, worker = _tries(tmp_path, [_try("passed", "failed"), _try("passed", "passed"), _try("failed")], confirm=3)
    assert cell.outcome == INTERMITTENT and len(worker.calls) == 2  # the disagreement settles it
    assert worker.calls[1] == ["f.feature:1", "f.feature:0"]  # the scenario that failed goes first
    cell, worker = _tries(tmp_path, [_try("failed"), _try("failed"), _try("failed")], confirm=2)
    assert cell.outcome == DETECTED and len(worker.calls) == 3
    cell, worker = _tries(tmp_path, [_try("failed")], confirm=0)
    assert cell.outcome == DETECTED and len(worker.calls) == 1 and not cell.tries
    cell, worker = _tries(tmp_path, [_try("passed", "passed")], confirm=2)
    assert cell.outcome == TOLERATED and len(worker.calls) == 1
    cell, worker = _tries(tmp_path, [_try("passed", "passed"), _try("passed", "failed")], confirm=1,
                          expected=DETECTED, first_failure=False)
    assert cell.outcome == INTERMITTENT and worker.calls[1] == ["f.feature:0", "f.feature:1"]
    assert len(set(worker.smoke)) == 2  # each try's smoke runs have folders of their own


def test_an_intermittent_cell_is_a_finding_against_any_expectation() -> None:
    flip = with_try(_try("failed"), _try("passed"))
    found = {f.expected: f.meaning for f in findings({"worker": {"kill": TOLERATED}}, [flip])}
    assert found == {TOLERATED: "resilience bug, intermittent: sometimes breaks"}
    found = {f.expected: f.meaning for f in findings({"worker": {"kill": DETECTED}}, [flip])}
    assert found == {DETECTED: "detected only sometimes: the scenarios race the fault"}
    assert findings({}, [flip]) == []


def test_sweep_json_markdown_heatmap_handoff_and_merge_carry_each_try(tmp_path: Path) -> None:
    flip = with_try(_try("passed", "failed"), _try("passed", "passed"))
    result = SweepResult("shop", "r1", ["f.feature:0"], [], [flip], None, "f.feature:0", wall_s=12.0)
    expectations = {"worker": {"kill": TOLERATED}}
    data = report.to_json(result, findings(expectations, [flip]), {"kill worker": TOLERATED})
    (tmp_path / "a").mkdir()
    json_file, md_file, html_file = report.write(RunFolder(tmp_path / "a"), data)
    saved = json.loads(json_file.read_text())["cells"][0]
    assert saved["outcome"] == INTERMITTENT and [t["failed"] for t in saved["tries"]] == [["f.feature:1"], []]
    text = md_file.read_text()
    assert "## Intermittent cells" in text and "**kill worker**: try 1: f.feature:1 failed; try 2: all passed" in text
    assert "sometimes breaks" in text and report.COLOURS[INTERMITTENT] in html_file.read_text()
    assert 'data-outcome="intermittent"' in html_file.read_text() and "try 2: all passed" in html_file.read_text()
    summary = read_sweep(tmp_path / "a")
    assert summary is not None and [c.label for c in summary.intermittent] == ["kill worker"]
    section = handoff_markdown([summary])
    assert "**Intermittent cells**" in section
    assert "kill worker: try 1: f.feature:1 failed; try 2: all passed" in section
    merged = merge.merge([tmp_path / "a"], expectations, "m1")  # the cell reads back as intermittent
    assert merged["cells"][0]["outcome"] == INTERMITTENT and merged["score"]["overall"] == [0, 1]
    assert [f["actual"] for f in merged["findings"]] == [INTERMITTENT]


def test_a_change_to_or_from_intermittent_is_marked_unsettled_in_the_diff() -> None:
    before = {"kill a": TOLERATED, "kill b": DETECTED, "kill c": INTERMITTENT}
    after = {"kill a": INTERMITTENT, "kill b": TOLERATED, "kill c": INTERMITTENT}
    assert report.diff(before, after) == [f"kill a: tolerated → intermittent {report.UNSETTLED}",
                                          "kill b: detected → tolerated"]


def test_the_fault_is_held_for_its_onset_before_the_scenario_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    monkeypatch.setattr(sweep_hook, "build", lambda env, fault: fault)
    monkeypatch.setattr(sweep_hook.binding, "inject", lambda faults, fault, env: events.append("inject"))
    hook = SweepHook.from_userdata({"sweep_fault": json.dumps(KILL.as_dict()), ONSET_KEY: "1.5"})
    assert hook is not None and hook.onset == 1.5
    hook.sleep = lambda seconds: events.append(f"sleep {seconds:g}")
    hook.begin(object(), None, "f.feature:3: s")  # type: ignore[arg-type]
    assert events == ["inject", "sleep 1.5"]
    events.clear()
    SweepHook(KILL, sleep=lambda s: events.append("sleep")).begin(object(), None, "f.feature:3")  # type: ignore[arg-type]
    assert events == ["inject"]  # no onset: the scenario starts at once
    for kind in ("restart", "cpu", "latency"):  # over once it went in, or acting at once: nothing to let set in
        events.clear()
        SweepHook(FaultSpec(kind, "worker"), onset=2.0, sleep=lambda s: events.append("sleep")).begin(
            object(), None, "f.feature:3")  # type: ignore[arg-type]
        assert events == ["inject"], kind
    events.clear()
    SweepHook(FaultSpec("partition", "worker", "hive"), onset=2.0, sleep=lambda s: events.append("sleep")).begin(
        object(), None, "f.feature:3")  # type: ignore[arg-type]
    assert events == ["inject", "sleep"]
    assert parse_onset("") == 0.0
    with pytest.raises(ConfigError, match=ONSET_KEY):
        parse_onset("-1")
