"""Work stealing between split workers (harness.parallel.claims).

The claim mechanics are checked on a folder; the behaviour on real behave processes of the
parallel fixture project (no containers): a worker that lags behind has its remaining items
taken over, every scenario still runs exactly once, and the counts equal a sequential run's.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

from harness.analysis.inputs import load
from harness.parallel.claims import Claims, owners, with_steals, worker_lists
from harness.parallel.merge import Part, merge_folder
from harness.parallel.shard import Item, run_order
from tests.test_parallel import NOT_FLAKY, counts, harness, project, run_folder  # noqa: F401 - fixture

__all__ = ["project"]


def test_the_first_worker_to_claim_an_item_runs_it_and_the_others_see_it_as_elsewhere(tmp_path: Path) -> None:
    folder = Claims.create(tmp_path / "claims", ["features/a.feature", "features/b.feature:7"])
    one = Claims.from_environ({"HARNESS_CLAIMS": str(folder), "HARNESS_RUN_ID": "r-w1"})
    two = Claims.from_environ({"HARNESS_CLAIMS": str(folder), "HARNESS_RUN_ID": "r-w2"})
    assert one is not None and two is not None
    assert one.claim("features/a.feature") and not two.claim("features/a.feature")
    assert one.claim("features/a.feature")  # claimed earlier by itself: still its own
    assert two.elsewhere("features/a.feature") and not one.elsewhere("features/a.feature")
    assert not one.elsewhere("features/b.feature:7") and two.claim("features/b.feature:7")
    assert owners(folder) == {"features/a.feature": "r-w1", "features/b.feature:7": "r-w2"}
    assert Claims.from_environ({}) is None


def test_claims_of_behave_features_scenarios_and_outline_rows(tmp_path: Path) -> None:
    from behave.parser import parse_feature

    text = ("Feature: f\n  Scenario: one\n    Given x\n  Scenario Outline: row <n>\n    Given x\n"
            "    Examples:\n      | n |\n      | 1 |\n      | 2 |\n")
    feature = parse_feature(text, filename="features/f.feature")
    outline = feature.scenarios[1]
    folder = Claims.create(tmp_path / "claims", ["features/f.feature:2", "features/f.feature:4"])
    one = Claims(folder, "r-w1", frozenset(["features/f.feature:2", "features/f.feature:4"]))
    two = Claims(folder, "r-w2", one.items)
    assert not one.feature_is_foreign(feature)  # nothing claimed yet: it may run scenarios here
    rows = list(outline.scenarios)
    assert not one.scenario_is_foreign(rows[0]) and not one.scenario_is_foreign(rows[1])  # the outline's item
    assert two.scenario_is_foreign(rows[1]) and not two.scenario_is_foreign(feature.scenarios[0])
    assert one.others_run(feature) is False and two.others_run(feature) is False
    whole = Claims(folder, "r-w3", frozenset(["features/f.feature"]))
    assert not whole.feature_is_foreign(feature)
    assert Claims(folder, "r-w4", whole.items).feature_is_foreign(feature)


def test_each_share_is_followed_by_the_others_tails_same_environment_first() -> None:
    a1, a2 = Item("a1", "a1", weight=9, env="full"), Item("a2", "a2", weight=1, env="full")
    b1, b2 = Item("b1", "b1", weight=8, env="full"), Item("b2", "b2", weight=2, env="storm")
    c1 = Item("c1", "c1", weight=20, env="oom")
    lists = with_steals([[a1, a2], [b1, b2], [c1]], setups={"storm": 5.0, "oom": 5.0})
    assert [i.location for i in lists[0]] == ["a1", "a2", "b1", "c1"]  # b2 (2 s) is not worth bringing storm up
    assert [i.location for i in lists[1]] == ["b1", "b2", "a2", "a1", "c1"]
    assert [i.location for i in lists[2]] == ["c1", "a1", "b1"]  # short ones of an environment it lacks: no


def test_a_share_runs_longest_first() -> None:
    items = [Item("x", "x", weight=1, env="e"), Item("y", "y", weight=5, env="f"), Item("z", "z", weight=3, env="e"),
             Item("w", "w", weight=3, env="f")]
    assert [i.location for i in run_order(items)] == ["y", "w", "z", "x"]


def test_merge_drops_the_features_another_worker_ran(tmp_path: Path) -> None:
    def part(name: str, features: list[tuple[str, str]], foreign: frozenset[str] = frozenset()) -> Part:
        folder = tmp_path / name
        folder.mkdir()
        data = [{"keyword": "Feature", "name": path, "location": f"{path}:1", "status": status,
                 "elements": [{"keyword": "Scenario", "name": "s", "location": f"{path}:2", "status": status,
                               "type": "scenario", "steps": []}]} for path, status in features]
        (folder / "behave.json").write_text(json.dumps(data))
        return Part(name, folder, foreign=foreign)

    parts = [part("w1", [("a.feature", "passed"), ("b.feature", "skipped")], frozenset({"b.feature"})),
             part("w2", [("b.feature", "failed")], frozenset({"a.feature"}))]
    (tmp_path / "run").mkdir()
    merge_folder(tmp_path / "run", parts, "r", [])
    merged = json.loads((tmp_path / "run" / "behave.json").read_text())
    assert [(f["location"], f["status"]) for f in merged] == [("a.feature:1", "passed"), ("b.feature:1", "failed")]


def test_a_lagging_workers_items_are_taken_over_and_every_scenario_runs_once(project: Path) -> None:  # noqa: F811
    sequential = harness(project, "run", *NOT_FLAKY, "features")
    assert sequential.returncode == 0, sequential.stdout + sequential.stderr
    (project / ".harness" / "runs" / "latest").unlink()  # no durations: the plan is the scenario counts
    os.environ["FIXTURE_SLOW_WORKER"] = "w2"
    try:
        began = time.monotonic()
        parallel = harness(project, "run", "--workers", "2", *NOT_FLAKY, "features")
        wall = time.monotonic() - began
    finally:
        del os.environ["FIXTURE_SLOW_WORKER"]
    assert parallel.returncode == 0, parallel.stdout + parallel.stderr
    assert "[w1] features/gamma.feature" in parallel.stdout
    assert "flaky.feature - 0.0 s (taken over)" not in parallel.stdout  # skipped everywhere: its owner says so
    folder = run_folder(project, parallel.stdout)
    one, many = load([str(run_folder(project, sequential.stdout))]), load([str(folder)])
    assert counts(many) == counts(one)
    ran = [json.loads(line) for line in (folder / "record.ndjson").read_text().splitlines()]
    located = [r["location"] for r in ran if r.get("kind") == "scenario" and r.get("status") != "skipped"]
    assert len(located) == len(set(located)) == 8
    by_worker = {w["label"]: w for w in json.loads((folder / "workers.json").read_text())["by_worker"]}
    assert "features/gamma.feature:6" in by_worker["w2"]["items"]  # w2's share, but w2 lagged behind:
    assert "features/gamma.feature:6" in by_worker["w1"]["ran"]
    assert "features/gamma.feature:6" not in by_worker["w2"]["ran"]
    assert "serial" not in by_worker  # no process of their own: the first worker out of work took the @serial item
    assert "features/delta.feature" in by_worker["w1"]["ran"] and "features/delta.feature" not in by_worker["w2"]["ran"]
    assert "[w1] takes the @serial items" in parallel.stdout
    assert "[w1] features/delta.feature ✓" in parallel.stdout and "(@serial, alone)" in parallel.stdout
    assert wall < 30, parallel.stdout


def test_the_serial_items_come_right_after_each_share_when_they_need_an_environment_of_their_own(
        tmp_path: Path) -> None:
    a, b, c = (Item(x, x, weight=3.0, env="stack") for x in "abc")
    s = Item("s", "s", serial=True, env="load")
    early = worker_lists([[a], [b, c]], [s], serial_first=True)
    assert [[i.location for i in items] for items in early] == [["a", "s", "c", "b"], ["b", "c", "s", "a"]]
    usual = worker_lists([[a], [b, c]], [s])
    assert [[i.location for i in items] for items in usual] == [["a", "c", "b", "s"], ["b", "c", "a", "s"]]
    folder = Claims.create(tmp_path / "claims", ["a", "b", "c"], ["s"])
    one, two = (Claims(folder, f"r-w{n}", frozenset({"a", "b", "c", "s"}), frozenset({"s"})) for n in (1, 2))
    feature = {x: SimpleNamespace(filename=x, scenarios=[]) for x in "abcs"}
    assert one.take("a") and not one.not_needed_here(feature["c"])  # unclaimed: w1 may take it
    assert one.take("s") and one.not_needed_here(feature["c"])  # w1 holds the @serial items: the others run the
    assert not one.not_needed_here(feature["s"]) and not one.elsewhere("c")  # rest, but if left, c still runs here
    assert not two.not_needed_here(feature["c"]) and two.not_needed_here(feature["s"])
