"""The sweep's decisions about time and work (no Docker): the baseline's verdict on each scenario, time limits
under a fault, the shard split, the order, the budget, the scenario timer, and the fields sweep.json gains."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from harness.errors import ConfigError, ScenarioOverTime
from harness.faults.kinds import FaultSpec
from harness.run.cell_runner import first_line, scenario_answer
from harness.run.overtime import Overtime
from harness.run.sweep_hook import LIMITS_KEY, MARK, SweepHook, parse_limits
from harness.sweep import report
from harness.sweep.cli import with_sweep_fields
from harness.sweep.driver import SweepResult
from harness.sweep.outcome import CellResult, ScenarioResult
from harness.sweep.schedule import (
    Budget,
    judge_baseline,
    likeliest_failure_first,
    limits,
    order,
    parse_shard,
    parse_timeout,
    shard,
    space_id,
)
from harness.sweep.worker import CellProcess


def _run(**statuses: str) -> list[ScenarioResult]:
    return [ScenarioResult(f"f.feature:{k[1:]}", k, s, error="" if s == "passed" else "boom", duration=float(k[1:]))
            for k, s in statuses.items()]


def test_a_scenario_is_kept_only_when_it_passes_in_every_fault_free_run() -> None:
    selection = ["f.feature:1", "f.feature:2", "f.feature:3", "f.feature:4"]
    first = _run(s1="passed", s2="failed", s3="passed", s4="passed")
    second = _run(s1="passed", s2="failed", s3="failed")  # s4 missing: behave died before it
    judged = judge_baseline(selection, [first, second])
    assert judged.kept == ("f.feature:1",)
    assert [r.location for r in judged.failing] == ["f.feature:2"]
    assert [r.location for r in judged.flaky] == ["f.feature:3", "f.feature:4"]  # passed once, not the other time
    assert [r.location for r in judged.left_out] == ["f.feature:2", "f.feature:3", "f.feature:4"]
    assert judged.flaky[0].error == "boom" and judged.flaky[1].error.startswith("no result")
    assert judged.durations["f.feature:1"] == 1.0
    once = judge_baseline(selection[:2], [first])
    assert once.kept == ("f.feature:1",) and once.flaky == ()


def test_limits_are_twice_the_slowest_fault_free_run_plus_slack_unless_given() -> None:
    assert limits({"a:1": 3.0, "b:2": 0.4}) == {"a:1": 16.0, "b:2": 10.8}
    assert limits({"a:1": 3.0}, 25) == {"*": 25.0}
    assert limits({"a:1": 3.0}, 0) == {}
    assert parse_timeout("auto") is None and parse_timeout("12.5") == 12.5 and parse_timeout("0") == 0
    with pytest.raises(ConfigError, match="not seconds"):
        parse_timeout("soon")
    with pytest.raises(ConfigError, match="negative"):
        parse_timeout("-1")


def test_shards_split_the_whole_space_without_overlap_and_share_its_id() -> None:
    cells = [FaultSpec("kill", f"s{n}") for n in range(10)]
    parts = [shard(cells, (i, 3)) for i in (1, 2, 3)]
    assert sorted((c.label for p in parts for c in p), key=lambda x: int(x[6:])) == [c.label for c in cells]
    assert [len(p) for p in parts] == [4, 3, 3]
    assert shard(cells, None) == cells and parse_shard("") is None and parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "2", "a/b"):
        with pytest.raises(ConfigError, match="not a shard"):
            parse_shard(bad)
    assert space_id("full-stack", ["f.feature"], cells) == space_id("full-stack", ["f.feature"], list(cells))
    assert space_id("full-stack", ["f.feature"], cells) != space_id("full-stack", ["g.feature"], cells)


def test_the_cells_exercising_most_scenarios_run_first_ties_in_space_order() -> None:
    a, b, c = FaultSpec("kill", "a"), FaultSpec("kill", "b"), FaultSpec("kill", "c")
    assert order([a, b, c], {a: ("x",), b: ("x", "y"), c: ("z",)}) == [b, a, c]


def test_with_first_failure_the_scenarios_that_failed_most_so_far_run_first() -> None:
    assert likeliest_failure_first(["a", "b", "c", "d"], {"c": 3, "d": 1, "b": 1}) == ["c", "b", "d", "a"]


def test_the_budget_starts_a_cell_only_when_a_typical_cell_still_fits() -> None:
    budget = Budget(100.0, workers=2)
    assert budget.allows(0.0, []) and budget.allows(70.0, [20.0, 30.0])
    assert not budget.allows(80.0, [20.0, 30.0])
    assert Budget(None).allows(1e9, [1e9])
    assert budget.left(4, [10.0, 30.0]) == 40.0  # 4 cells x 20 s over 2 workers


def test_a_scenario_over_its_limit_fails_in_the_running_step_until_disarmed() -> None:
    timer = Overtime(0.05, scenario="f.feature:3: s", fault="kill db", repeat=0.05)
    assert timer.arm()
    with pytest.raises(ScenarioOverTime, match="timed out under kill db") as caught:
        time.sleep(2)  # wait: the timer's signal ends this sleep
    assert timer.fired and caught.value.limit == 0.05
    timer.disarm()
    time.sleep(0.15)  # wait: nothing fires once disarmed
    assert not Overtime(0, scenario="x", fault="y").arm()


def test_the_hook_reads_each_scenarios_limit_from_userdata() -> None:
    hook = SweepHook.from_userdata({"sweep_fault": json.dumps(FaultSpec("kill", "db").as_dict()),
                                    LIMITS_KEY: json.dumps({"f.feature:3": 12.5})})
    assert hook is not None and hook.limits == {"f.feature:3": 12.5}
    assert parse_limits("") == {}
    with pytest.raises(ConfigError, match=LIMITS_KEY):
        parse_limits("[1, 2]")


def test_sweep_json_carries_what_a_merge_of_shards_needs() -> None:
    cell = CellResult(FaultSpec("kill", "db"), (ScenarioResult("f.feature:1", "s", "failed", "When x", "boom"),),
                      True, 1.0, 9.0, True, (), "cells/001-kill-db", {"behave_s": 7.0}, 2)
    result = SweepResult("shop", "r1", ["f.feature:1"], [], [cell], None, "f.feature:1", space_id="abc",
                         space_cells=40, shard=(2, 4), workers=2, limits={"f.feature:1": 12.0})
    data = with_sweep_fields(report.to_json(result, [], {}), result)
    saved = json.loads(json.dumps(data))
    assert saved["sweep"]["space_id"] == "abc" and saved["sweep"]["shard"] == [2, 4]
    assert saved["sweep"]["space_cells"] == 40 and saved["sweep"]["keys"] == ["kill db"]
    assert saved["cells"][0]["key"] == "kill db" and saved["cells"][0]["worker"] == 2
    assert saved["cells"][0]["phases"] == {"behave_s": 7.0}


def test_a_workers_behave_process_answers_each_job_on_a_marked_line(tmp_path: Path) -> None:
    echo = ("import json, sys\n"
            "for line in sys.stdin:\n"
            "    job = json.loads(line)\n"
            "    print('a step printed this', flush=True)\n"
            "    print(MARK + json.dumps({'results': [{'location': s} for s in job['scenarios']]}), flush=True)\n")
    process = CellProcess([sys.executable, "-c", f"MARK = {MARK!r}\n" + echo], str(tmp_path), dict(os.environ),
                          tmp_path / "worker-1.log")
    assert process.ask({"scenarios": ["a.feature:3"]}) == [{"location": "a.feature:3"}]
    assert process.ask({"scenarios": ["b.feature:9", "c.feature:1"]}) == [{"location": "b.feature:9"},
                                                                            {"location": "c.feature:1"}]
    process.close(timeout=10)
    assert not process.alive() and "a step printed this" in (tmp_path / "worker-1.log").read_text()
    gone = CellProcess([sys.executable, "-c", "pass"], str(tmp_path), dict(os.environ), tmp_path / "gone.log")
    gone.proc.wait()
    assert gone.ask({"scenarios": ["a.feature:3"]}) is None  # ended without answering
    gone.close(timeout=10)


class _Status:
    def __init__(self, name: str) -> None:
        self.name = name


class _Step:
    def __init__(self, status: str, error: str = "") -> None:
        self.status, self.error_message, self.keyword, self.name = _Status(status), error, "When", "I ask"


class _Scenario:
    def __init__(self, status: str, steps: list[_Step], error: str | None = None) -> None:
        self.status, self.all_steps, self.error_message = _Status(status), steps, error
        self.location, self.name, self.duration, self.hook_failed = "f.feature:3", "s", 1.25, error is not None


def test_a_scenario_is_answered_with_its_failing_step_and_the_first_line_of_its_error() -> None:
    steps = [_Step("passed"), _Step("failed", "\nASSERT FAILED: status 502\nmore"), _Step("skipped")]
    failed = _Scenario("failed", steps)
    assert scenario_answer(failed, {"f.feature:3": 7.0}) == {
        "location": "f.feature:3", "name": "s", "status": "failed", "step": "When I ask",
        "error": "status 502", "duration": 1.25, "started": 7.0}
    hooked = scenario_answer(_Scenario("hook_error", [_Step("untested")], "HOOK-ERROR in before_scenario: x"), {})
    assert hooked["step"] == "" and hooked["error"].startswith("HOOK-ERROR") and hooked["started"] == 0.0
    over = scenario_answer(_Scenario("error", [_Step("error", "ERROR: ScenarioOverTime: timed out under kill db")]), {})
    assert over["error"] == "timed out under kill db"
    trace = ("Traceback (most recent call last):\n  File \"x.py\", line 3, in f\n    raise X\n"
             "httpx.ConnectError: [Errno 111] refused\n\nThe above exception was the direct cause of the following "
             "exception:\n\nTraceback (most recent call last):\n  File \"y.py\", line 9, in g\n"
             "harness.errors.RequestFailed: POST http://127.0.0.1:1/v1 refused\nHint: is it up?\n")
    assert first_line(trace) == "RequestFailed: POST http://127.0.0.1:1/v1 refused"
    assert first_line("\nASSERT FAILED: x\ny") == "ASSERT FAILED: x" and first_line("") == ""
