"""Failures set against faults, load and service logs; performance bounds; go/no-go — on recorded runs, no Docker."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.analysis.analyze import Analysis, Folders, analyze
from harness.analysis.annotate import annotate, short
from harness.analysis.cli import evidence_of, write_report
from harness.analysis.evidence import (
    Evidence,
    FaultEvent,
    LoadRun,
    LoadSecond,
    parse_log,
    read_evidence,
    step_log_key,
)
from harness.analysis.gonogo import load_gate_rules
from harness.analysis.inputs import load
from harness.analysis.model import ErrorInfo, Feature, Run, Scenario, Step
from harness.analysis.performance import FLOOR_MS, TOLERANCE, performance
from harness.analysis.rules import load_rules
from harness.errors import ConfigError
from harness.runfolder import RunFolder

FIXTURE = Path(__file__).parent / "fixtures" / "runs" / "partition-regressed"
PROJECT_GATE = Path(__file__).parents[2] / "gonogo.yaml"
FAILED_KEY = ("features/chaos.partition-queen-hive.feature::jobs accepted during the partition wait in the "
              "queue and complete after the heal")
LOAD_KEY = ("features/chaos.partition-queen-hive.feature::steady load through a partition: every accepted "
            "job completes after the heal")


def _fixture_analysis(tmp_path: Path | None = None, rules: Path | None = None,
                      gate: Path | None = PROJECT_GATE) -> Analysis:
    run = load([str(FIXTURE)])
    return analyze(run, load_rules(rules), folders=Folders(read_evidence(FIXTURE)), gate=load_gate_rules(gate))


def test_fixture_evidence_is_read_from_the_run_folder() -> None:
    evidence = read_evidence(FIXTURE)
    assert [e.action for e in evidence.faults] == ["inject", "revert", "inject", "revert"]
    assert [r.name for r in evidence.load] == ["001-open"]
    assert evidence.load[0].seconds[-1].completed == 30
    assert len(evidence.logs) == 1 and evidence.logs[0].key == step_log_key(
        "features/chaos.partition-queen-hive.feature:11", "within 10 seconds:")
    assert all(line.at > 1.7e9 for line in evidence.logs[0].lines)


def test_a_failure_names_the_fault_active_then_and_for_how_long() -> None:
    note = _fixture_analysis().notes[FAILED_KEY]
    assert note.step == "Then within 10 seconds:"
    assert [f.what for f in note.faults] == ["partition queen | hive-1,hive-2"]
    since = note.faults[0].since
    assert since is not None and 10.0 < since < 10.8  # the 10 s wait began right after the injection
    assert note.sentence().startswith("failed 10.")
    assert "into partition queen | hive-1,hive-2" in note.sentence()


def test_the_log_excerpt_is_the_window_before_the_failure_loud_lines_first() -> None:
    note = _fixture_analysis().notes[FAILED_KEY]
    assert note.at is not None and note.logs
    assert all(note.at - 10.0 <= line.at <= note.at + 1.0 for line in note.logs)
    assert all(line.level == "warning" for line in note.logs)
    assert not any("/health/" in line.text for line in note.logs)
    assert note.nearest is not None and note.nearest.event == "queen_unreachable"
    assert "logged `queen_unreachable`" in note.sentence()


def test_a_passing_scenario_keeps_its_faults_and_load_but_no_failure() -> None:
    note = _fixture_analysis().notes[LOAD_KEY]
    assert note.step == "" and note.faults == ()
    assert [r.name for r in note.load_runs] == ["001-open"] and len(note.windows) == 1


def test_a_blocker_rule_can_match_on_an_active_fault(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("blockers:\n  - id: latency-only\n    title: t\n    any:\n      - fault: latency\n"
                     "  - id: under-partition\n    title: fails only under partition\n"
                     "    any:\n      - fault: partition\n        status: [failed]\n")
    verdicts = {v.scenario.key: v for v in _fixture_analysis(rules=rules).verdicts}
    assert verdicts[FAILED_KEY].rule is not None and verdicts[FAILED_KEY].rule.id == "under-partition"
    assert verdicts[FAILED_KEY].failure.faults == ("partition queen | hive-1,hive-2",)
    plain = {v.scenario.key: v for v in analyze(load([str(FIXTURE)]), load_rules(rules)).verdicts}
    assert plain[FAILED_KEY].rule is not None and plain[FAILED_KEY].rule.id != "under-partition"


def test_load_state_at_the_failure_is_requests_per_second_and_error_rate() -> None:
    started = 1_000.0
    steps = (Step("When", "the network between queen and hive-1 is partitioned", "f.feature:3", "passed",
                  0.1, actions=1, verifications=0, started=started),
             Step("Then", "the response status is 200", "f.feature:4", "failed", 0.5, started=started + 2.0))
    scenario = Scenario("s", "f.feature:2", "failed", ("p0",), steps, feature="f.feature", started=started)
    run = Run((Feature("F", "f.feature:1", "failed", (), (scenario,)),))
    load_run = LoadRun("001-open", "full-stack", {"mode": "open", "elapsed_s": 4.0},
                       (LoadSecond(0, 10, 10, 5, 9), LoadSecond(1, 10, 9, 5, 9), LoadSecond(2, 20, 15, 5, 9)),
                       started + 0.2)
    events = (FaultEvent("f.feature:2: s", 0.0, "inject", "partition queen | hive-1", "x", "full-stack"),
              FaultEvent("f.feature:2: s", 3.0, "revert", "partition queen | hive-1", "x", "full-stack"))
    note = annotate(run, Evidence(events, (load_run,)))[scenario.key]
    assert note.load[0].rps == 20 and note.load[0].error_rate == pytest.approx(0.25)
    assert note.faults[0].since == pytest.approx(2.5)
    assert "2.5 s into partition queen | hive-1, while 25% of background requests were failing" in note.sentence()


def test_a_fault_reverted_before_the_failure_is_not_active() -> None:
    steps = (Step("When", "hive-1 is paused", "f.feature:3", "passed", 0.1, actions=1, started=100.0),
             Step("Then", "it answers", "f.feature:4", "failed", 0.1, started=105.0))
    scenario = Scenario("s", "f.feature:2", "failed", (), steps, feature="f.feature", started=100.0)
    run = Run((Feature("F", "f.feature:1", "failed", (), (scenario,)),))
    events = (FaultEvent("f.feature:2: s", 0.0, "inject", "pause hive-1", "x", "e", wall=100.05),
              FaultEvent("f.feature:2: s", 2.0, "revert", "pause hive-1", "x", "e", wall=102.05))
    note = annotate(run, Evidence(events))[scenario.key]
    assert note.faults == () and note.sentence().startswith("failed with no fault active")


def test_short_container_names() -> None:
    assert short("partition h18000103adc1-regressed-queen-1 | h18000103adc1-regressed-hive-1-1,"
                 "h18000103adc1-regressed-hive-2-1", "regressed") == "partition queen | hive-1,hive-2"
    assert short("300 ms latency on queen->hive-1:9200", "chaos") == "300 ms latency on queen->hive-1:9200"


def test_parse_log_reads_compose_timestamps_and_redacts() -> None:
    text = ('queen-1   | 2026-11-30T18:00:08.617275693Z {"level": "error", "event": "boom", '
            '"authorization": "Bearer abc.def.ghi"}\nnot a log line\n')
    [line] = list(parse_log(text))
    assert line.service == "queen" and line.level == "error" and line.event == "boom"
    assert "abc.def.ghi" not in line.text
    assert line.at == pytest.approx(1796061608.617, abs=1e-3)


def _bounded_run(p99: float, started: float = 50.0) -> tuple[Run, Evidence]:
    steps = (Step("When", "requests arrive at 10 per second for 2 seconds", "l.feature:3", "passed", 2.0,
                  actions=1, started=started),
             Step("Then", "the p99 latency is below 250 ms", "l.feature:4",
                  "passed" if p99 < 250 else "failed", 0.0, started=started + 2.1),
             Step("And", "at least 99% succeed", "l.feature:5", "skipped", 0.0))
    scenario = Scenario("latency", "l.feature:2", steps[1].status, ("p0", "queen"), steps, feature="l.feature",
                        started=started)
    run = Run((Feature("L", "l.feature:1", scenario.status, (), (scenario,)),))
    load_run = LoadRun("001-open", "load", {"mode": "open", "elapsed_s": 2.0, "success_rate": 0.97,
                                            "latency_ms": {"p50": 20.0, "p95": p99 * 0.8, "p99": p99},
                                            "throughput_rps": 10.0}, (), started + 0.01)
    return run, Evidence(load=(load_run,))


def test_a_bound_belongs_to_the_run_that_finished_last_before_it_not_the_one_started_last() -> None:
    # Subscribers open (WebSocket run starts), then an HTTP burst runs and ends, then the subscribers'
    # wait ends: "the p99 latency is below 1000 ms" reads the WebSocket run (the step's last result).
    t = 100.0
    steps = (Step("When", "50 subscribers open WebSockets to \"/v1/events\" on \"queen\"", "w.feature:3", "passed",
                  0.1, actions=1, started=t),
             Step("And", "50 clients each send 2 inference requests concurrently", "w.feature:4", "passed", 1.9,
                  actions=1, started=t + 0.2),
             Step("When", "the subscribers wait up to 15 seconds for every accepted job to finish", "w.feature:5",
                  "passed", 0.1, actions=1, started=t + 2.1),
             Step("Then", "the p99 latency is below 1000 ms", "w.feature:6", "passed", 0.0, started=t + 2.3))
    scenario = Scenario("ws", "w.feature:2", "passed", (), steps, feature="w.feature", started=t)
    run = Run((Feature("W", "w.feature:1", "passed", (), (scenario,)),))
    http = LoadRun("005-closed", "full-stack", {"mode": "closed", "elapsed_s": 1.9, "latency_ms": {"p99": 1059.0}},
                   (), t + 0.2)
    ws = LoadRun("006-websocket", "full-stack", {"mode": "websocket", "elapsed_s": 2.2, "latency_ms": {"p99": 46.8}},
                 (), t + 0.01)
    evidence = Evidence(load=(ws, http))
    rows = performance(run, annotate(run, evidence), evidence.load)
    owned = {row.load.name: [(b.metric, b.actual, b.met) for b in row.bounds] for row in rows}
    assert owned == {"006-websocket": [("latency_ms.p99", 46.8, True)], "005-closed": []}


def test_performance_rows_hold_every_asserted_bound_met_or_not() -> None:
    run, evidence = _bounded_run(300.0)
    [row] = performance(run, annotate(run, evidence), evidence.load)
    assert [(b.metric, b.op, b.target, b.actual, b.met) for b in row.bounds] == [
        ("latency_ms.p99", "<", 250.0, 300.0, False), ("success_pct", ">=", 99.0, 97.0, False)]
    assert row.bounds[1].step_status == "skipped"  # never checked, still judged from the numbers
    assert not row.met


def test_a_latency_regression_is_flagged_beyond_the_tolerance() -> None:
    base_run, base_ev = _bounded_run(100.0, started=10.0)
    base = performance(base_run, annotate(base_run, base_ev), base_ev.load)
    for p99, regressed in ((100.0 * (1 + TOLERANCE) + FLOOR_MS + 1, True), (100.0 * (1 + TOLERANCE) - 1, False)):
        run, ev = _bounded_run(p99)
        [row] = performance(run, annotate(run, ev), ev.load, base)
        trend = next(t for t in row.trends if t.percentile == "p99")
        assert trend.reference == 100.0 and trend.regressed is regressed


def test_history_median_is_the_reference_without_a_baseline() -> None:
    history = []
    for p99 in (100.0, 400.0, 110.0):
        r, e = _bounded_run(p99, started=10.0)
        history.append(performance(r, annotate(r, e), e.load))
    run, ev = _bounded_run(120.0)
    [row] = performance(run, annotate(run, ev), ev.load, None, history)
    trend = next(t for t in row.trends if t.percentile == "p99")
    assert trend.reference == 110.0 and trend.history == (100.0, 400.0, 110.0) and not trend.regressed


def test_gonogo_defaults_and_reasons_on_the_fixture() -> None:
    g = _fixture_analysis().gonogo
    assert g is not None and g.verdict == "NO-GO"
    failed = {r.rule.id: r.detail for r in g.failed}
    assert set(failed) == {"p0-passes", "no-high-blocker"}
    assert "chaos.partition-queen-hive.feature:9" in failed["p0-passes"]
    assert {c.scope: c.verdict for c in g.components} == {"queen": "NO-GO", "hive": "NO-GO"}


def test_gonogo_bounds_and_project_rules(tmp_path: Path) -> None:
    run, ev = _bounded_run(300.0)
    gate = tmp_path / "gonogo.yaml"
    gate.write_text("components: [queen]\nrules:\n  - id: p0-passes\n    check: passes\n    tags: [p0]\n"
                    "    severity: warn\n  - id: no-high-blocker\n    check: no_blocker\n    severity: warn\n")
    result = analyze(run, folders=Folders(ev), gate=load_gate_rules(gate))
    assert result.gonogo is not None and result.gonogo.verdict == "NO-GO"
    assert [r.rule.id for r in result.gonogo.failed if r.rule.severity == "no-go"] == ["performance-bounds"]
    reasons = {r.rule.id: r.detail for r in result.gonogo.failed}
    assert reasons["performance-bounds"] == ("latency: latency_ms.p99 300 (bound < 250); "
                                             "latency: success_pct 97 (bound >= 99)")
    assert set(reasons) == {"p0-passes", "no-high-blocker", "performance-bounds"}
    assert [c.scope for c in result.gonogo.components] == ["queen"]
    fast, fast_ev = _bounded_run(100.0)
    ok = analyze(fast, folders=Folders(fast_ev), gate=load_gate_rules(gate))
    assert ok.gonogo is not None and [r.rule.id for r in ok.gonogo.failed] == ["performance-bounds"]
    assert ok.gonogo.failed[0].detail == "latency: success_pct 97 (bound >= 99)"
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: x\n    check: nonsense\n")
    with pytest.raises(ConfigError, match="check"):
        load_gate_rules(bad)


def test_handoff_first_line_is_the_verdict_and_failures_name_their_faults(tmp_path: Path) -> None:
    result = _fixture_analysis()
    paths = write_report(result, "TEAM-X", "TEAM-Y", tmp_path, tmp_path / "no-steps", str(FIXTURE))
    markdown = paths[0].read_text()
    assert markdown.splitlines()[0].startswith("**Verdict: NO-GO** — every @p0 scenario passes ✗")
    assert "## Failures in Context" in markdown and "into partition queen | hive-1,hive-2" in markdown
    assert "| regressed/001-open |" in markdown and "✅ success_pct >= 100 (actual 100.0)" in markdown
    data = json.loads(paths[2].read_text())
    assert data["verdict"] == "NO-GO" and data["gonogo"]["components"][0]["scope"] == "queen"
    assert data["context"][FAILED_KEY]["faults"][0]["what"] == "partition queen | hive-1,hive-2"
    assert data["performance"][0]["bounds"][0]["met"] is True


def test_junit_export_carries_output_and_the_log_excerpt(tmp_path: Path) -> None:
    result = _fixture_analysis()
    paths = write_report(result, "T", "", tmp_path, tmp_path / "none")
    root = ET.fromstring(paths[3].read_text())
    cases = {c.get("name"): c for c in root.iter("testcase")}
    failed = cases["jobs accepted during the partition wait in the queue and complete after the heal"]
    err = failed.findtext("system-err") or ""
    assert "into partition queen | hive-1,hive-2" in err and "queen_unreachable" in err
    assert "fault revert" in (failed.findtext("system-out") or "")
    passed = cases["steady load through a partition: every accepted job completes after the heal"]
    assert passed.find("system-err") is None and "p99" in (passed.findtext("system-out") or "")


def test_cucumber_export_keeps_embeddings(tmp_path: Path) -> None:
    embedding = {"mime_type": "text/plain", "data": "aGVsbG8="}
    feature = [{"uri": "features/a.feature", "id": "a", "keyword": "Feature", "name": "A", "line": 1,
                "elements": [{"id": "a;s", "keyword": "Scenario", "name": "s", "line": 2, "type": "scenario",
                              "steps": [{"keyword": "Given ", "name": "x", "line": 3, "output": ["out"],
                                         "embeddings": [embedding],
                                         "result": {"status": "passed", "duration": 1}}]}]}]
    source = tmp_path / "cucumber.json"
    source.write_text(json.dumps(feature))
    from harness.analysis.exports import cucumber

    [out] = cucumber(load([str(source)]))
    step = out["elements"][0]["steps"][0]
    assert step["embeddings"] == [embedding] and step["output"] == ["out"]


def test_a_split_run_is_read_once_timelines_and_load_where_gathered_and_failure_logs_in_the_worker(
        tmp_path: Path) -> None:
    """A split run gathers its workers' timelines and load results into <run>/<env>/: they are read there,
    once; failure logs stay in the worker's folder (w1/<env>/failures/) and are read there."""
    from harness.parallel.pool import Worker
    from harness.parallel.split import _collect_environments

    runs = tmp_path / "runs"
    run_dir = runs / "r"
    workers = [Worker(f"w{n}", f"r-w{n}", RunFolder(run_dir).numbered_worker(n).path, []) for n in (1, 2)]
    shutil.copytree(FIXTURE / "regressed", runs / "r-w1" / "regressed")  # what w1's behave left
    for worker in workers:
        attempt = RunFolder(worker.folder).attempt(1)
        attempt.path.mkdir(parents=True)
        shutil.copy(FIXTURE / "record.ndjson", attempt.record)
    _collect_environments(runs, run_dir, workers)
    evidence = evidence_of([str(run_dir)])
    assert len(evidence.faults) == 4 and [r.name for r in evidence.load] == ["w1-001-open"]
    assert [log.path.relative_to(run_dir).parts[:2] for log in evidence.logs] == [("w1", "regressed")]
    assert [e.path.relative_to(run_dir) for e in RunFolder(run_dir).envs()] == [Path("regressed"),
                                                                                Path("w1/regressed")]
    assert [w.path.name for w in RunFolder(run_dir).workers()] == ["w1", "w2"]


def test_runfolder_layout(tmp_path: Path) -> None:
    folder = RunFolder.new(tmp_path / "runs", "20260101-000000-abcdef")
    assert folder.path.is_dir() and folder.run_id == "20260101-000000-abcdef"
    assert folder.behave_outputs()[:2] == ["-f", "json"] and str(folder.record) in folder.behave_outputs()
    env = folder.env("full-stack")
    assert env.timeline == folder.path / "full-stack" / "timeline.ndjson"
    assert env.load_result(3, "open").name == "003-open.json"
    env.failures_dir.mkdir(parents=True)
    first = env.failure_log("features/a.feature-14-the response: is 200")
    assert first.name == "001-features-a-feature-14-the-response--is-200.log"
    first.write_text("")
    assert env.failure_log("x").name.startswith("002-")
    assert [e.name for e in folder.envs()] == ["full-stack"] and env.failure_logs() == [first]


def test_the_record_stamps_wall_clock_starts_on_scenarios_and_steps_that_ran(tmp_path: Path) -> None:
    import time as _time

    from tests.analysis.suites import MIXED, run_behave, write_suite

    write_suite(tmp_path, MIXED)
    before = _time.time()
    done = run_behave(tmp_path)
    lines = [json.loads(line) for line in (done.run_dir / "record.ndjson").read_text().splitlines()]
    ran = [x for x in lines if x["kind"] == "step" and x["status"] not in ("skipped", "untested", "undefined")]
    assert ran and all(before <= x["started"] <= _time.time() for x in ran)
    assert all("started" not in x for x in lines if x["kind"] == "step" and x["status"] == "skipped")
    scenarios = [x for x in lines if x["kind"] == "scenario" and x["status"] == "passed"]
    assert scenarios and all(before <= x["started"] <= _time.time() for x in scenarios)
    run = load([str(done.run_dir)])
    assert all(s.started > 0 for s in run.scenarios() if s.status == "passed")


def test_group_tables_count_selected_scenarios_only() -> None:
    from harness.analysis.report_md import render

    def scenario(name: str, status: str) -> Scenario:
        step = Step("Then", "x", "g.feature:3", status if status != "skipped" else "skipped", 0.1,
                    verifications=1, actions=0)
        return Scenario(name, f"g.feature:{len(name)}", status, ("p0",), (step,), feature="g.feature")

    items = (scenario("a", "passed"), scenario("bb", "failed"), scenario("ccc", "skipped"), scenario("dddd", "skipped"))
    run = Run((Feature("G", "g.feature:1", "failed", ("p0",), items),))
    text = render(analyze(run), "T")
    assert "| p0 | 2 | 1 | 50.0% | 2 |" in text  # not "4 scenarios, 1 passed, 50.0%"
    assert "**scenarios:** 2 selected (2 not selected)" in text
    assert "1 of 2 selected do not pass" in text


def test_a_delivery_bound_belongs_to_the_run_that_measured_delivery() -> None:
    steps = (Step("When", "50 subscribers listen", "w.feature:3", "passed", 5.0, actions=1, started=100.0),
             Step("Then", "at least 99% of the messages were delivered", "w.feature:4", "passed", 0.0,
                  started=106.0),
             Step("And", "the p99 latency is below 1000 ms", "w.feature:5", "passed", 0.0, started=106.0))
    scenario = Scenario("ws", "w.feature:2", "passed", (), steps, feature="w.feature", started=100.0)
    run = Run((Feature("W", "w.feature:1", "passed", (), (scenario,)),))
    ws = LoadRun("002-websocket", "e", {"mode": "websocket", "elapsed_s": 5, "delivery_ratio": 0.995,
                                        "latency_ms": {"p99": 80.0}}, (), 100.5)
    http = LoadRun("003-closed", "e", {"mode": "closed", "elapsed_s": 5, "latency_ms": {"p99": 900.0}}, (), 100.8)
    rows = {r.load.name: r for r in performance(run, annotate(run, Evidence(load=(ws, http))), (ws, http))}
    assert [(b.metric, b.actual) for b in rows["002-websocket"].bounds] == [("delivery_pct", 99.5)]
    assert [(b.metric, b.actual) for b in rows["003-closed"].bounds] == [("latency_ms.p99", 900.0)]


def test_json_log_lines_are_shown_short() -> None:
    [line] = list(parse_log('hive-1-1 | 2026-11-30T18:00:09.5Z {"time": "t", "level": "warning", "service": "hive", '
                            '"event": "queen_unreachable", "url": "http://queen:8080/x"}'))
    assert line.service == "hive-1" and line.short == "warning queen_unreachable url=http://queen:8080/x"
    [plain] = list(parse_log("db-1 | 2026-11-30T18:00:09Z ERROR: relation missing"))
    assert plain.short == "ERROR: relation missing" and plain.level == "error"


def test_a_scenario_masked_by_a_start_up_failure_shows_the_environment_start_up_log(tmp_path: Path) -> None:
    env = RunFolder(tmp_path).env("full-stack-2")
    env.logs_dir.mkdir(parents=True)
    (env.logs_dir / "compose.log").write_text(
        'queen-1 | 2026-11-30T18:00:01Z {"level": "info", "event": "starting"}\n'
        'queen-1 | 2026-11-30T18:00:02Z {"level": "error", "event": "config_invalid", "key": "QUEEN_PORT"}\n')
    error = ErrorInfo("StartupError", "queen exited with code 1", hook="before_feature")
    masked = Scenario("s", "f.feature:2", "untested", ("env.full-stack",), (), feature="f.feature", masked_by=error)
    other = Scenario("t", "f.feature:9", "untested", ("env.minimal",), (), feature="f.feature", masked_by=error)
    run = Run((Feature("F", "f.feature:1", "hook_error", (), (masked, other), hook_error=error),))
    notes = annotate(run, read_evidence(tmp_path))
    note = notes[masked.key]
    assert note.step == "before_feature (environment start-up)"
    assert [x.short for x in note.logs] == ["error config_invalid key=QUEEN_PORT"]
    assert other.key not in notes or notes[other.key].logs == ()


def test_a_bound_derived_from_the_scenarios_baseline() -> None:
    steps = (Step("When", "a single request is timed 5 times as the baseline", "b.feature:3", "passed", 0.5,
                  actions=1, started=10.0),
             Step("When", "40 clients each send 1 requests concurrently", "b.feature:4", "passed", 2.0, actions=1,
                  started=11.0),
             Step("Then", "the p99 latency is within the baseline queued on 16 slots plus 500 ms", "b.feature:5",
                  "failed", 0.0, started=13.5))
    scenario = Scenario("b", "b.feature:2", "failed", (), steps, feature="b.feature", started=10.0)
    run = Run((Feature("B", "b.feature:1", "failed", (), (scenario,)),))
    base = LoadRun("001-closed", "e", {"mode": "closed", "users": 1, "requests": 5, "elapsed_s": 0.4,
                                       "latency_ms": {"p50": 100.0, "p99": 120.0}}, (), 10.05)
    main = LoadRun("002-closed", "e", {"mode": "closed", "users": 40, "requests": 40, "elapsed_s": 2.0,
                                       "latency_ms": {"p50": 400.0, "p99": 900.0}}, (), 11.1)
    rows = {r.load.name: r for r in performance(run, annotate(run, Evidence(load=(base, main))), (base, main))}
    assert rows["001-closed"].bounds == ()
    [bound] = rows["002-closed"].bounds
    assert (bound.metric, bound.target, bound.actual, bound.met) == ("latency_ms.p99", 800.0, 900.0, False)
