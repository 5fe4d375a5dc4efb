"""Shards merge into one run; retries and same-commit flips are flaky; baseline diffs."""

from __future__ import annotations

import json
from pathlib import Path

from harness.analysis.analyze import analyze
from harness.analysis.history import flaky
from harness.analysis.inputs import load
from harness.analysis.model import Feature, Run, RunInfo, Scenario, Step


def _feature(path: str, *scenarios: tuple[str, int, str]) -> dict[str, object]:
    elements = [{"type": "scenario", "keyword": "Scenario", "name": name, "tags": [],
                 "location": f"{path}:{line}", "status": status, "steps": [
                     {"keyword": "Then", "step_type": "then", "name": "ok", "location": f"{path}:{line + 1}",
                      "result": {"status": status, "duration": 0.01,
                                 **({"error_message": "ASSERT FAILED: nope"} if status == "failed" else {})}}]}
                for name, line, status in scenarios]
    return {"keyword": "Feature", "name": path, "tags": [], "location": f"{path}:1", "status": "passed",
            "elements": elements}


def _write(path: Path, *features: dict[str, object]) -> str:
    path.write_text(json.dumps(list(features)))
    return str(path)


def test_shards_merge_into_one_run(tmp_path: Path) -> None:
    one = _write(tmp_path / "shard1.json", _feature("a.feature", ("a1", 3, "passed")),
                 _feature("b.feature", ("b1", 3, "failed")))
    two = _write(tmp_path / "shard2.json", _feature("a.feature", ("a2", 6, "passed")),
                 _feature("c.feature", ("c1", 3, "passed")))
    run = load([one, two])
    assert [f.path for f in run.features] == ["a.feature", "b.feature", "c.feature"]
    assert [s.name for s in run.features[0].scenarios] == ["a1", "a2"]
    assert sum(1 for _ in run.scenarios()) == 4


def test_a_repeated_scenario_is_a_retry_and_a_flip_is_flaky(tmp_path: Path) -> None:
    first = _write(tmp_path / "run.json", _feature("a.feature", ("a1", 3, "failed"), ("a2", 6, "passed")))
    retry = _write(tmp_path / "rerun.json", _feature("a.feature", ("a1", 3, "passed")))
    run = load([first, retry])
    a1 = run.features[0].scenarios[0]
    assert a1.status == "passed" and a1.attempts == ("failed", "passed")
    assert [f.key for f in flaky([run])] == ["a.feature::a1"]


def _run(commit: str, **statuses: str) -> Run:
    scenarios = tuple(Scenario(name, f"a.feature:{i}", status, (), (Step("Then", "ok", "", status),),
                               feature="a.feature") for i, (name, status) in enumerate(statuses.items()))
    return Run((Feature("A", "a.feature:1", "failed", (), scenarios),), RunInfo(commit=commit, run_id=commit))


def test_flaky_on_the_same_commit_only() -> None:
    assert [f.key for f in flaky([_run("c1", s="passed"), _run("c1", s="failed")])] == ["a.feature::s"]
    assert flaky([_run("c1", s="passed"), _run("c2", s="failed")]) == []


def test_baseline_diff() -> None:
    before = _run("c1", fixed="failed", still="failed", new="passed", changes="failed")
    after = _run("c2", fixed="passed", still="failed", new="failed", changes="error")
    result = analyze(after, baseline=before)
    assert result.diff is not None
    assert [c.key for c in result.diff.new_failures] == ["a.feature::new"]
    assert [c.key for c in result.diff.fixed] == ["a.feature::fixed"]
    assert [c.key for c in result.diff.still_failing] == ["a.feature::still"]
    changed = result.diff.blocker_changed
    assert [(c.blocker_before, c.blocker_after) for c in changed] == [("product-defect", "harness-defect")]


def test_trend_over_history() -> None:
    history = [_run("c1", a="failed", b="failed"), _run("c2", a="passed", b="failed")]
    result = analyze(_run("c3", a="passed", b="passed"), history=history)
    assert [p.scenario_rate for p in result.trend] == [0.0, 0.5, 1.0]
