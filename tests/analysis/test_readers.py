"""Readers: behave 1.2.6 JSON (hand-written to its shape), other tools' JUnit, Cucumber JSON."""

from __future__ import annotations

import json
from pathlib import Path

from harness.analysis.inputs import load
from harness.analysis.metrics import compute, nonzero

BEHAVE_126 = [
    {"keyword": "Feature", "name": "Old", "tags": ["p0"], "location": "features/old.feature:2",
     "status": "failed", "elements": [
         {"type": "background", "keyword": "Background", "name": "", "location": "features/old.feature:3",
          "steps": [{"keyword": "Given", "step_type": "given", "name": "a base",
                     "location": "features/old.feature:4"}]},
         {"type": "scenario", "keyword": "Scenario", "name": "ok", "tags": [],
          "location": "features/old.feature:6", "status": "passed", "steps": [
              {"keyword": "Given", "step_type": "given", "name": "a base", "location": "features/old.feature:4",
               "match": {"location": "steps/s.py:3", "arguments": []},
               "result": {"status": "passed", "duration": 0.001}},
              {"keyword": "Then", "step_type": "then", "name": "ok", "location": "features/old.feature:7",
               "match": {"location": "steps/s.py:5", "arguments": []},
               "result": {"status": "passed", "duration": 0.001}}]},
         {"type": "scenario", "keyword": "Scenario Outline", "name": "row -- @1.1 ", "tags": ["p1"],
          "location": "features/old.feature:12", "status": "failed", "steps": [
              {"keyword": "Given", "step_type": "given", "name": "a base", "location": "features/old.feature:4",
               "result": {"status": "passed", "duration": 0.001}},
              {"keyword": "When", "step_type": "when", "name": "it connects",
               "location": "features/old.feature:10",
               "result": {"status": "failed", "duration": 0.2, "error_message": [
                   "Traceback (most recent call last):", "  File \"steps/s.py\", line 9, in _",
                   "ConnectionRefusedError: [Errno 111] Connection refused"]}},
              {"keyword": "Then", "step_type": "then", "name": "ok", "location": "features/old.feature:11",
               "result": {"status": "skipped", "duration": 0.0}}]}]}]


def test_behave_126_json(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps(BEHAVE_126))
    run = load([str(path)])
    metrics = compute(run)
    assert nonzero(metrics.overall.scenarios) == {"passed": 1, "failed": 1}
    assert nonzero(metrics.overall.steps) == {"passed": 3, "failed": 1, "skipped": 1}
    failing = run.features[0].scenarios[1]
    assert failing.error is not None and failing.error.type == "ConnectionRefusedError"
    assert failing.tags == ("p0", "p1")


def test_behave_13_scenario_without_status_is_computed(tmp_path: Path) -> None:
    data = json.loads(json.dumps(BEHAVE_126))
    data[0]["elements"][2]["status"] = None  # 1.3 loses the status of an outline's last row
    path = tmp_path / "new.json"
    path.write_text(json.dumps(data))
    assert load([str(path)]).features[0].scenarios[1].status == "failed"


PYTEST_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="4" time="1.2">
<testcase classname="tests.test_api" name="test_ok" time="0.1"/>
<testcase classname="tests.test_api" name="test_bad" time="0.2">
  <failure message="AssertionError: assert 404 == 200">def test_bad(): ...</failure></testcase>
<testcase classname="tests.test_api" name="test_boom" time="0.2">
  <error message="ConnectionError: refused" type="ConnectionError">trace</error></testcase>
<testcase classname="tests.test_api" name="test_later" time="0"><skipped message="not yet"/></testcase>
</testsuite></testsuites>"""


def test_other_tools_junit(tmp_path: Path) -> None:
    path = tmp_path / "pytest.xml"
    path.write_text(PYTEST_JUNIT)
    run = load([str(path)])
    metrics = compute(run)
    assert nonzero(metrics.overall.scenarios) == {"passed": 1, "failed": 1, "error": 1, "skipped": 1}
    later = run.features[0].scenarios[3]
    assert later.skip_reason == "not yet"


CUCUMBER = [{"uri": "features/c.feature", "id": "c", "keyword": "Feature", "name": "C", "line": 1,
             "tags": [{"name": "@component.queen", "line": 1}], "elements": [
                 {"type": "background", "keyword": "Background", "name": "", "line": 2, "steps": [
                     {"keyword": "Given ", "name": "a base", "line": 3,
                      "result": {"status": "passed", "duration": 1000000}}]},
                 {"type": "scenario", "keyword": "Scenario", "name": "s1", "line": 5, "id": "c;s1",
                  "tags": [{"name": "@p0", "line": 4}], "steps": [
                      {"keyword": "When ", "name": "x", "line": 6,
                       "result": {"status": "failed", "duration": 2000000000,
                                  "error_message": "AssertionError: expected 1"}},
                      {"keyword": "Then ", "name": "y", "line": 7, "result": {"status": "skipped"}}]},
                 {"type": "background", "keyword": "Background", "name": "", "line": 2, "steps": [
                     {"keyword": "Given ", "name": "a base", "line": 3,
                      "result": {"status": "passed", "duration": 1000000}}]},
                 {"type": "scenario", "keyword": "Scenario", "name": "s2", "line": 9, "id": "c;s2",
                  "steps": [{"keyword": "When ", "name": "z", "line": 10, "result": {"status": "undefined"}}]},
             ]}]


def test_cucumber_json(tmp_path: Path) -> None:
    path = tmp_path / "cucumber.json"
    path.write_text(json.dumps(CUCUMBER))
    run = load([str(path)])
    assert run.info.formats == ("cucumber",)
    scenarios = run.features[0].scenarios
    assert [s.status for s in scenarios] == ["failed", "error"]
    assert len(scenarios[0].steps) == 3 and scenarios[0].steps[1].duration == 2.0
    assert scenarios[0].tags == ("component.queen", "p0")
