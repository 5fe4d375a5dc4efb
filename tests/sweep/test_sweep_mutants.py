"""scripts/sweep_mutants.py: the counting of found switches, on pairs of sweep.json files written here."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from harness.faults.kinds import FaultSpec
from harness.runfolder import RunFolder
from harness.sweep import report
from harness.sweep.driver import SweepResult
from harness.sweep.outcome import CellResult, ScenarioResult

SCRIPT = Path(__file__).parents[2] / "scripts" / "sweep_mutants.py"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sweep_mutants", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["sweep_mutants"] = module
    spec.loader.exec_module(module)
    return module


def _cell(label: str, outcome: str) -> CellResult:
    kind, _, target = label.partition(" ")
    fault = FaultSpec(kind, target)
    if outcome == "not run":
        return CellResult(fault, ran=False)
    if outcome == "not exercised":
        return CellResult(fault)
    status = "passed" if outcome == "tolerated" else "failed"
    timeline = ({"action": "inject-failed"},) if outcome == "fault failed" else ()
    return CellResult(fault, (ScenarioResult("f.feature:3", "s", status),), outcome != "no recovery",
                      timeline=timeline)


def _sweep_json(tmp_path: Path, name: str, cells: dict[str, str], left_out: int = 0) -> dict[str, Any]:
    folder = RunFolder(tmp_path / name)
    folder.path.mkdir()
    result = SweepResult("full-stack", name, ["f.feature:3"],
                         [ScenarioResult(f"g.feature:{n}", "g", "failed") for n in range(left_out)],
                         [_cell(label, outcome) for label, outcome in cells.items()], None, "f.feature:3", wall_s=60.0)
    report.write(folder, report.to_json(result, [], {}))
    data: dict[str, Any] = json.loads(folder.sweep_files[0].read_text())
    return data


BEFORE = {"kill worker-1-1": "tolerated", "pause hive-1": "detected", "kill queen": "detected",
          "restart hive-2": "tolerated", "partition hive-1->queen": "not exercised", "kill hive-2": "not run"}


@pytest.mark.parametrize(("after", "found"), [
    ({"kill worker-1-1": "detected"}, ["kill worker-1-1: tolerated → detected"]),
    ({"restart hive-2": "no recovery"}, ["restart hive-2: tolerated → no recovery"]),
    ({"pause hive-1": "no recovery"}, ["pause hive-1: detected → no recovery"]),
    ({"kill queen": "detected"}, []),  # unchanged
    ({"kill queen": "tolerated"}, []),  # changed, but to tolerated: a switch never makes a stack stronger
    ({"partition hive-1->queen": "detected"}, []),  # not exercised before: the baselines observed differently
    ({"kill hive-2": "detected"}, []),  # did not run before: nothing to compare
    ({"kill worker-1-1": "fault failed"}, []),  # the fault broke, not the product
])
def test_a_switch_is_found_by_a_cell_changed_to_detected_or_no_recovery(
        script: ModuleType, tmp_path: Path, after: dict[str, str], found: list[str]) -> None:
    before = script.read_sweep(_sweep_json(tmp_path, "before", BEFORE))
    switched = script.read_sweep(_sweep_json(tmp_path, "after", {**BEFORE, **after}, left_out=2))
    assert [str(c) for c in script.changes(before.outcomes, switched.outcomes)] == found
    assert switched.left_out == ("g.feature:0", "g.feature:1") and switched.wall_s == 60.0


def test_the_table_ends_in_one_row_per_switch_and_marks_what_was_not_found(script: ModuleType) -> None:
    swept = script.Sweep({"kill worker-1-1": "detected"}, ("g.feature:0",), 95.0)
    rows = [("HIVE_NO_RETRY", "no retry", swept, [script.Change("kill worker-1-1", "tolerated", "detected")], []),
            ("HIVE_KEEP_PARTITIONED", "kept", swept, [], ["pause hive-1"]),
            ("QUEEN_FORGET_RUNNING", "forgets", None, [], [])]
    lines = script.table(rows)
    assert lines[2] == "| HIVE_NO_RETRY | no retry | 1 | kill worker-1-1: tolerated → detected | - | 1 | 95 |"
    assert "(none: NOT FOUND) | pause hive-1 |" in lines[3] and "(no results)" in lines[4]


def test_detected_cells_failing_more_scenarios_are_shown_not_counted(script: ModuleType) -> None:
    before = script.Sweep({"pause hive-1": "detected", "kill queen": "detected"}, failed={"pause hive-1": 1,
                                                                                         "kill queen": 9})
    after = script.Sweep({"pause hive-1": "detected", "kill queen": "detected"}, failed={"pause hive-1": 3,
                                                                                        "kill queen": 9})
    assert script.worse(before, after) == ["pause hive-1"] and script.changes(before.outcomes, after.outcomes) == []


def test_the_catching_chaos_features_stay_out_of_the_selection(script: ModuleType) -> None:
    features = script.catching_features(["HIVE_NO_RETRY", "WORKER_DROP_AFTER_RESTART"])
    assert features == ["features/chaos.worker-churn.feature", "features/chaos.worker-early-death.feature"]
    selection = script.selection_without(["--env", "full-stack", "features/inference.complete_flow.feature"], features)
    assert selection[-1] == r"--exclude=chaos\.worker\-churn\.feature|chaos\.worker\-early\-death\.feature"
    with pytest.raises(SystemExit, match="written to catch a switch"):
        script.selection_without(["features/chaos.worker-churn.feature:12"], features)
    assert set(script.DEFAULT_SWITCHES) <= {m.switch for m in script.MUTANTS} and len(script.DEFAULT_SWITCHES) >= 4
