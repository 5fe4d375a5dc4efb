"""The sweep's pure parts: fault space, dynamic reduction, outcomes, expectations, score, diff, reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import ConfigError, FaultError
from harness.faults.kinds import HOST, FaultSpec, params_of
from harness.faults.observe import install_script, parse_counts
from harness.runfolder import Observed, RunFolder
from harness.sweep import report
from harness.sweep.driver import SweepResult
from harness.sweep.expect import findings, load_expectations
from harness.sweep.observe import edges_by_scenario, exercises, reduce, with_background
from harness.sweep.outcome import (
    DETECTED,
    FAULT_FAILED,
    NO_RECOVERY,
    NOT_EXERCISED,
    NOT_RUN,
    TOLERATED,
    CellResult,
    ScenarioResult,
    score,
)
from harness.sweep.space import Topology, describe, fault_space, parse_kinds, parse_overrides

SHOP = Topology({"nginx": 1, "api": 1, "db": 1, "worker": 3}, servers=frozenset({"nginx", "api", "db"}),
                published=frozenset({"nginx", "api"}))


# -- space ------------------------------------------------------------------------------

def test_the_space_has_every_service_kind_per_service_and_every_edge_kind_per_edge() -> None:
    cells = fault_space(SHOP)
    labels = {c.label for c in cells}
    assert {"kill db", "pause worker", "disconnected nginx", "memory api"} <= labels
    assert "latency api->db" in labels and "partition worker->api" in labels
    assert "partition test-machine->nginx" in labels and "reset test-machine->api" in labels
    assert "partition api->worker" not in labels  # worker has no port: nobody connects to it
    assert "partition test-machine->db" not in labels  # db is not published
    assert "latency test-machine->nginx" not in labels  # the proxy cannot sit on the test machine's edge
    service_cells = 8 * 4
    edges = 2 + sum(1 for a in SHOP.replicas for b in SHOP.servers if a != b)
    assert len(cells) == service_cells + 4 * edges - 2 * 2  # latency and blackhole: not on the 2 test-machine edges


def test_replicas_count_as_one_target_unless_each_replica() -> None:
    one = {c.target for c in fault_space(SHOP, ["kill"])}
    each = {c.target for c in fault_space(SHOP, ["kill"], each_replica=True)}
    assert one == {"nginx", "api", "db", "worker"}
    assert each == one | {"worker#2", "worker#3"}


def test_kinds_targets_and_parameters_narrow_and_override_the_space() -> None:
    cells = fault_space(Topology(SHOP.replicas, SHOP.servers, SHOP.published, parse_overrides(["latency.ms=200"])),
                        parse_kinds("kill,latency"), ["db"])
    assert {c.label for c in cells} == {"kill db", "latency api->db", "latency nginx->db", "latency worker->db",
                                        "latency db->api", "latency db->nginx"}  # a glob matches either end
    assert all(c.params == {"ms": 200.0} for c in cells if c.kind == "latency")
    assert ["latency", "api->db", "ms=200"] in [line.split() for line in describe(cells)]
    with pytest.raises(ConfigError, match="unknown fault kind"):
        parse_kinds("kill,explode")
    with pytest.raises(ConfigError, match="no parameter"):
        parse_overrides(["latency.seconds=2"])
    with pytest.raises(FaultError):
        params_of("kill", {"x": 1.0})


def test_a_fault_spec_round_trips_through_json_and_is_hashable() -> None:
    spec = FaultSpec("latency", "api", "db", {"ms": 500.0})
    assert FaultSpec.from_dict(json.loads(json.dumps(spec.as_dict()))) == spec
    assert len({spec, FaultSpec("latency", "api", "db", {"ms": 500.0})}) == 1


# -- reduction --------------------------------------------------------------------------

TAIL = "ctdir ORIGINAL /* harness-observe */"
LISTING = f"""Chain HARNESS-OBSERVE (1 references)
    pkts      bytes target     prot opt in     out     source               destination
      12      840 RETURN     tcp  --  *      *       172.18.0.3           0.0.0.0/0            {TAIL}
       0        0 RETURN     tcp  --  *      *       172.18.0.4           0.0.0.0/0            {TAIL}
       7      500 RETURN     tcp  --  *      *       172.18.0.1           0.0.0.0/0            {TAIL}
"""


def test_counters_are_read_per_peer_ip_and_installed_one_rule_per_peer() -> None:
    assert parse_counts(LISTING) == {"172.18.0.3": 12, "172.18.0.4": 0, "172.18.0.1": 7}
    script = install_script(["172.18.0.3", "172.18.0.1"])
    assert script.count("-j RETURN") == 2 and "--ctdir ORIGINAL" in script


def test_the_reduction_skips_pairs_a_scenario_never_touched_and_counts_the_saving() -> None:
    edges = edges_by_scenario([
        Observed("a.feature:3", ((HOST, "nginx", 5), ("nginx", "api", 9), ("api", "db", 4))),
        Observed("a.feature:9", ((HOST, "api", 3), ("api", "db", 0))),  # zero packets: not touched
    ])
    cells = [FaultSpec("kill", "db"), FaultSpec("kill", "api"), FaultSpec("latency", "nginx", "api"),
             FaultSpec("latency", "api", "nginx"), FaultSpec("partition", HOST, "api"), FaultSpec("kill", "worker#2")]
    reduction = reduce(cells, ["a.feature:3", "a.feature:9", "a.feature:20"], edges)
    got = {c.label: s for c, s in reduction.scenarios.items()}
    unobserved = "a.feature:20"  # never observed (no counters read): it exercises everything, to be safe
    assert got["kill db"] == ("a.feature:3", unobserved)
    assert got["kill api"] == ("a.feature:3", "a.feature:9", unobserved)
    assert got["latency nginx->api"] == ("a.feature:3", unobserved)
    assert got["latency api->nginx"] == (unobserved,)  # the direction matters
    assert got["partition test-machine->api"] == ("a.feature:9", unobserved)
    assert got["kill worker#2"] == (unobserved,)
    assert (reduction.unreduced_runs, reduction.runs, reduction.saved) == (18, 11, 7)
    assert exercises(FaultSpec("pause", "db#2"), frozenset({("api", "db")}))


def test_the_idle_stacks_edges_count_for_every_scenario_short_or_long() -> None:
    """A heartbeat (worker -> api) fell inside the long scenario's window and not the short one's: with the idle
    stack's edges added, both exercise a fault on the worker and on its heartbeat edge."""
    edges = edges_by_scenario([Observed("a.feature:3", ((HOST, "api", 5), ("worker", "api", 2))),
                               Observed("a.feature:9", ((HOST, "api", 3),))])
    cells = [FaultSpec("kill", "worker"), FaultSpec("partition", "worker", "api"), FaultSpec("kill", "db")]
    before = {c.label: s for c, s in reduce(cells, ["a.feature:3", "a.feature:9"], edges).scenarios.items()}
    assert before["kill worker"] == ("a.feature:3",)
    background = frozenset({("worker", "api")})
    after = {c.label: s for c, s in reduce(cells, ["a.feature:3", "a.feature:9"],
                                            with_background(edges, background)).scenarios.items()}
    assert after["kill worker"] == after["partition worker->api"] == ("a.feature:3", "a.feature:9")
    assert after["kill db"] == ()  # only what flowed idle is added


# -- outcomes, score, expectations -------------------------------------------------------

def _cell(label: str, *statuses: str, recovered: bool = True, ran: bool = True, inject_failed: bool = False) \
        -> CellResult:
    kind, _, target = label.partition(" ")
    a, _, b = target.partition("->")
    timeline = ({"action": "inject-failed"},) if inject_failed else ()
    scenarios = tuple(ScenarioResult(f"f.feature:{n}", f"s{n}", s, "When x" if s != "passed" else "",
                                     "boom" if s != "passed" else "") for n, s in enumerate(statuses))
    return CellResult(FaultSpec(kind, a, b), scenarios, recovered, 1.5 if recovered else None, 3.0, ran, timeline)


def test_outcomes_follow_the_order_not_run_not_exercised_fault_failed_no_recovery_detected_tolerated() -> None:
    assert _cell("kill db", "passed", ran=False).outcome == NOT_RUN
    assert _cell("kill db").outcome == NOT_EXERCISED
    assert _cell("kill db", "failed", inject_failed=True).outcome == FAULT_FAILED
    assert _cell("kill db", "failed", recovered=False).outcome == NO_RECOVERY
    assert _cell("kill db", "passed", "failed").outcome == DETECTED
    assert _cell("kill db", "passed", "failed").blocker == "When x: boom"
    assert _cell("kill db", "passed", "passed").outcome == TOLERATED


def test_the_score_is_tolerated_over_exercised_overall_and_per_service() -> None:
    cells = [_cell("kill db", "failed"), _cell("pause db", "passed"), _cell("latency nginx->api", "passed"),
             _cell("kill api"), _cell("kill nginx", "passed", ran=False)]
    assert score(cells) == (2, 3)
    assert report.scores(cells) == {"": (2, 3), "db": (1, 2), "api": (1, 1), "nginx": (0, 0)}


def test_expectations_make_findings_of_differing_cells(tmp_path: Path) -> None:
    file = tmp_path / "resilience.yaml"
    file.write_text("db: {kill: tolerated}\napi: {latency: detected}\n'*': {pause: tolerated}\n")
    expectations = load_expectations(file)
    cells = [_cell("kill db", "failed"), _cell("latency nginx->api", "passed"), _cell("pause cache", "passed"),
             _cell("kill api", "failed")]
    found = {f.cell: f.meaning for f in findings(expectations, cells)}
    assert found == {"kill db": "resilience bug", "latency nginx->api": "blind scenario or dead dependency"}
    file.write_text("db: {kill: fine}\n")
    with pytest.raises(ConfigError, match="unknown outcome") as caught:
        load_expectations(file)
    assert caught.value.key == "db.kill"


# -- reports and diff --------------------------------------------------------------------

def _result(*cells: CellResult) -> SweepResult:
    return SweepResult("shop", "r1", ["f.feature:0"], [], list(cells), None, "f.feature:0", wall_s=12.0)


def test_the_diff_names_cells_that_changed_outcome(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    before = report.to_json(_result(_cell("kill worker", "passed"), _cell("pause db", "failed")), [], {})
    report.write(folder, before)
    after = {"kill worker": DETECTED, "pause db": DETECTED, "kill api": TOLERATED}
    assert report.diff(report.read_outcomes(tmp_path), after) == ["kill worker: tolerated → detected"]
    with pytest.raises(ConfigError, match="not a sweep"):
        report.read_outcomes(tmp_path / "nothing.json")


def test_reports_hold_every_cell_the_score_and_a_self_contained_heatmap(tmp_path: Path) -> None:
    data = report.to_json(_result(_cell("kill db", "failed"), _cell("pause db", "passed"),
                                  _cell("latency nginx->api", "passed"), _cell("kill api")), [],
                          {"kill db": TOLERATED})
    json_file, md_file, html_file = report.write(RunFolder(tmp_path), data)
    saved = json.loads(json_file.read_text())
    assert [c["outcome"] for c in saved["cells"]] == [DETECTED, TOLERATED, TOLERATED, NOT_EXERCISED]
    assert saved["score"]["overall"] == [2, 3] and saved["cells"][0]["blocker"] == "When x: boom"
    assert "2/3 (67%)" in md_file.read_text() and "| kill db | detected | 1/1 |" in md_file.read_text()
    page = html_file.read_text()
    assert "<script src" not in page and "<link" not in page  # self-contained
    assert page.count('class="cell') == 4 and 'class="cell finding"' in page and "nginx → api" in page


def test_edge_keys_come_before_either_side_and_take_only_edge_kinds(tmp_path: Path) -> None:
    file = tmp_path / "resilience.yaml"
    file.write_text("queen: {partition: tolerated, kill: detected}\n'test-machine->queen': {partition: detected}\n"
                    "'hive-*': {partition: detected}\n")
    expectations = load_expectations(file)
    cells = [_cell("partition test-machine->queen", "passed"), _cell("partition hive-1->queen", "passed"),
             _cell("partition queen->hive-2", "passed")]
    found = {f.cell: f.expected for f in findings(expectations, cells)}
    assert found == {"partition test-machine->queen": "detected", "partition queen->hive-2": "detected"}
    file.write_text("'a->b': {kill: detected}\n")
    with pytest.raises(ConfigError, match="fault of one service") as caught:
        load_expectations(file)
    assert caught.value.key == "a->b.kill"


def test_the_reference_resilience_yaml_names_services_and_edges_of_full_stack() -> None:
    root = Path(__file__).parents[2]
    expectations = load_expectations(root / "resilience.yaml")
    services = {"queen", "hive-1", "hive-2", "worker-1-1", "worker-1-2", "worker-2-1", "worker-2-2", HOST}
    import fnmatch

    for key in expectations:
        sides = key.split("->")
        assert all(any(fnmatch.fnmatchcase(s, side) for s in services) for side in sides), key
    assert findings(expectations, [_cell("kill queen", "failed")]) == []
    assert [f.meaning for f in findings(expectations, [_cell("kill queen", "passed")])] == \
        ["blind scenario or dead dependency"]
