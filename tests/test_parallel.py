"""`harness run --workers/--shard/--retries` on the parallel fixture project (real behave, no containers).

The features of tests/fixtures/parallel need no environment: these tests run real behave
processes and check what a user sees: the same counts as one sequential run, progress lines,
shards that merge into the whole, and a scenario that failed once reported flaky.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.analysis.analyze import analyze
from harness.analysis.inputs import load
from harness.analysis.model import Counts, Run
from harness.parallel.merge import LOST, Part, add_lost, merge_folder, write_junit
from harness.parallel.pool import Pool, Worker
from harness.parallel.retry import RetryPolicy
from harness.parallel.shard import Planned, PlannedScenario
from harness.parallel.split import summary
from harness.runfolder import RunFolder
from tests.conftest import FIXTURES

NOT_FLAKY = ["--tags", "not @failing", "--tags", "not @flaky"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of tests/fixtures/parallel."""
    target = tmp_path / "parallel"
    shutil.copytree(FIXTURES / "parallel", target)
    return target


def harness(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=240)


def run_folder(project: Path, out: str) -> Path:
    line = next(line for line in out.splitlines() if line.startswith("harness run ") and "outputs in" in line)
    return Path(line.rsplit("outputs in ", 1)[1].strip())


def counts(run: Run) -> dict[str, dict[str, int]]:
    return {"features": Counts.of(f.status for f in run.features).as_dict(),
            "scenarios": Counts.of(s.status for s in run.scenarios()).as_dict(),
            "steps": Counts.of(s.status for s in run.steps()).as_dict()}


def test_three_workers_give_the_counts_of_one_sequential_run(project: Path) -> None:
    sequential = harness(project, "run", *NOT_FLAKY, "features")
    assert sequential.returncode == 0, sequential.stdout + sequential.stderr
    parallel = harness(project, "run", "--workers", "3", *NOT_FLAKY, "features")
    assert parallel.returncode == 0, parallel.stdout + parallel.stderr
    one, many = load([str(run_folder(project, sequential.stdout))]), load([str(run_folder(project, parallel.stdout))])
    assert counts(many) == counts(one)
    assert counts(many)["scenarios"]["passed"] == 8 and counts(many)["scenarios"]["skipped"] == 4
    assert "[w1] features/" in parallel.stdout and " ✓ " in parallel.stdout
    assert re.search(r"\[w\d\] features/delta\.feature ✓ .*\(@serial, alone\)", parallel.stdout), parallel.stdout
    folder = run_folder(project, parallel.stdout)
    assert {p.name for p in folder.iterdir()} >= {"record.ndjson", "behave.json", "rerun.txt", "junit", "workers.json"}
    summary = json.loads((folder / "workers.json").read_text())
    assert len(summary["by_worker"]) == 3 and all(w["peak_rss_mb"] > 0 for w in summary["by_worker"])
    assert not [p for p in (project / ".harness" / "runs").iterdir() if "-w" in p.name]  # env folders moved in
    steps = [json.loads(line) for line in (folder / "record.ndjson").read_text().splitlines()]
    steps = [r for r in steps if r.get("kind") == "step" and "started" in r]
    alone = [r for r in steps if r["location"].startswith("features/delta.feature")]
    others = [r for r in steps if not r["location"].startswith("features/delta.feature")]
    assert alone and others and min(r["started"] for r in alone) >= max(r["started"] + r["duration"] for r in others)


def test_a_failure_gives_exit_1_and_the_same_counts_in_parallel(project: Path) -> None:
    sequential = harness(project, "run", "--tags", "not @flaky", "features")
    parallel = harness(project, "run", "--workers", "2", "--tags", "not @flaky", "features")
    assert (sequential.returncode, parallel.returncode) == (1, 1), parallel.stdout + parallel.stderr
    one, many = load([str(run_folder(project, sequential.stdout))]), load([str(run_folder(project, parallel.stdout))])
    assert counts(many) == counts(one)
    rerun = (run_folder(project, parallel.stdout) / "rerun.txt").read_text()
    assert "features/failing.feature:3" in rerun


def test_two_shards_merged_equal_the_whole(project: Path) -> None:
    whole = harness(project, "run", *NOT_FLAKY, "features")
    shards = [harness(project, "run", "--shard", f"{i}/2", *NOT_FLAKY, "features") for i in (1, 2)]
    assert [s.returncode for s in shards] == [0, 0], shards[0].stdout + shards[1].stdout
    folders = [str(run_folder(project, s.stdout)) for s in shards]
    merged, one = load(folders), load([str(run_folder(project, whole.stdout))])
    assert counts(merged) == counts(one)
    firsts = [{f.path for f in load([folder]).features} for folder in folders]
    assert firsts[0] and firsts[1]
    analyzed = harness(project, "analyze", *folders)
    assert "8 scenarios passed, 0 failed, 4 skipped" in analyzed.stdout, analyzed.stdout


def test_a_scenario_that_fails_once_is_flaky_in_analysis_handoff_and_junit(project: Path) -> None:
    result = harness(project, "run", "--retries", "1", "--tags", "@flaky", "features")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 flaky" in result.stdout and "retrying 1 failed scenario" in result.stdout
    folder = run_folder(project, result.stdout)
    run = load([str(folder)])
    flaky = next(s for s in run.scenarios() if s.name == "fails once then passes")
    assert flaky.attempts == ("failed", "passed")
    analyzed = harness(project, "analyze", str(folder), "--junit", str(project / "export.xml"))
    assert "flaky: 1" in analyzed.stdout and "fails once then passes" in analyzed.stdout
    assert "flakyFailure" in (project / "export.xml").read_text()
    assert "flakyFailure" in next((folder / "junit").glob("*.xml")).read_text()
    report = harness(project, "report", str(folder), "--team", "T1", "--out", str(project / "handoff"))
    assert report.returncode == 0, report.stdout + report.stderr
    handoff = (project / "handoff" / "T1-handoff.md").read_text()
    assert "flaky" in handoff.lower() and "fails once then passes" in handoff
    assert "flakyFailure" in (project / "handoff" / "T1-junit.xml").read_text()


def test_without_retries_the_flaky_scenario_fails(project: Path) -> None:
    result = harness(project, "run", "--workers", "2", "--tags", "@flaky", "features")
    assert result.returncode == 1
    assert "1 failed" in result.stdout and "flaky" not in result.stdout.split("harness run: ")[-1]


# -- unit: the pool and the merge, with a fake behave --------------------------------------------------

class FakeBehave:
    """Stands in for a behave process: writes its record and rerun file, exits with a code."""

    def __init__(self, outcomes: dict[str, list[tuple[str, str]]]) -> None:
        self.outcomes = outcomes  # location -> [(status of attempt 1), ...]
        self.commands: list[list[str]] = []

    def __call__(self, cmd: list[str], **kwargs: object) -> FakeProcess:
        self.commands.append(cmd)
        folder = Path(cmd[0])
        attempt = int(folder.name.split("-")[1])
        lines = [{"kind": "run", "event": "start", "run_id": "x"}]
        failed = []
        for location in cmd[1:]:
            name, status = self.outcomes[location][attempt - 1]
            lines += [{"kind": "feature", "location": location.split(":")[0] + ":1", "name": location,
                       "status": status, "duration": 1.5},
                      {"kind": "scenario", "location": location, "name": name, "status": status, "duration": 1.5}]
            failed += [location] if status == "failed" else []
        lines.append({"kind": "run", "event": "end", "finished": "now"})
        (folder / "record.ndjson").write_text("".join(json.dumps(line) + "\n" for line in lines))
        (folder / "rerun.txt").write_text("".join(f"{loc}\n" for loc in failed))
        return FakeProcess(1 if failed else 0)


class FakeProcess:
    """A finished process."""

    def __init__(self, returncode: int) -> None:
        self.returncode = returncode
        self.pid = 2**22 + 12345  # never signalled in these tests

    def poll(self) -> int:
        return self.returncode


def test_pool_retries_the_failed_scenarios_in_the_same_worker_and_prints_progress(tmp_path: Path) -> None:
    import io

    fake = FakeBehave({"a.feature:3": [("a", "failed"), ("a", "passed")], "b.feature:3": [("b", "passed")]})
    workers = [Worker("w1", "r-w1", tmp_path / "w1", ["a.feature:3"]),
               Worker("w2", "r-w2", tmp_path / "w2", ["b.feature:3"])]
    out = io.StringIO()
    pool = Pool(workers, None, lambda w: [str(w.current.folder), *w.locations], tmp_path, {}, RetryPolicy(2),
                out=out, popen=fake)  # type: ignore[arg-type]
    pool.run()
    assert [w.codes for w in workers] == [[1, 0], [0]]
    assert workers[0].attempt == 2 and workers[0].current.only == frozenset({"a.feature:3"})
    text = out.getvalue()
    assert "[w2] b.feature ✓ 1.5 s" in text and "[w1] a.feature ✗ 1.5 s" in text
    assert "[w1] a.feature ✓ 1.5 s (attempt 2)" in text
    (tmp_path / "run").mkdir()
    merge_folder(tmp_path / "run", pool.parts, "r", [])
    run = load([str(tmp_path / "run")])
    assert {s.name: s.attempts for s in run.scenarios()} == {"a": ("failed", "passed"), "b": ()}


def test_retries_stop_after_k_attempts(tmp_path: Path) -> None:
    import io

    fake = FakeBehave({"a.feature:3": [("a", "failed")] * 3})
    worker = Worker("w1", "r-w1", tmp_path / "w1", ["a.feature:3"])
    Pool([worker], None, lambda w: [str(w.current.folder), *w.locations], tmp_path, {}, RetryPolicy(2),
         out=io.StringIO(), popen=fake).run()  # type: ignore[arg-type]
    assert worker.codes == [1, 1, 1]


def test_merge_drops_skipped_copies_of_scenarios_that_ran_elsewhere(tmp_path: Path) -> None:
    def record(folder: Path, *scenarios: tuple[str, str]) -> Part:
        folder.mkdir(parents=True)
        lines = [{"kind": "run", "event": "start"}, {"kind": "feature", "location": "f.feature:1", "status": "x"}]
        lines += [{"kind": "scenario", "location": loc, "name": loc, "status": st} for loc, st in scenarios]
        lines.append({"kind": "run", "event": "end", "finished": "now"})
        (folder / "record.ndjson").write_text("".join(json.dumps(line) + "\n" for line in lines))
        return Part(folder.name, folder)

    parts = [record(tmp_path / "w1", ("f.feature:3", "passed"), ("f.feature:5", "skipped"), ("f.feature:7", "skipped")),
             record(tmp_path / "w2", ("f.feature:3", "skipped"), ("f.feature:5", "failed"), ("f.feature:7", "skipped"))]
    (tmp_path / "run").mkdir()
    merge_folder(tmp_path / "run", parts, "r", ["f.feature:5"], root=tmp_path)
    run = load([str(tmp_path / "run")])
    assert {s.location: (s.status, s.attempts) for s in run.scenarios()} == {
        "f.feature:3": ("passed", ()), "f.feature:5": ("failed", ()), "f.feature:7": ("skipped", ())}
    assert (tmp_path / "run" / "rerun.txt").read_text().splitlines()[2:] == ["../f.feature:5"]
    assert RunFolder(tmp_path / "run").read_rerun(tmp_path) == ["f.feature:5"]


def test_scenarios_lost_with_a_killed_worker_are_errors_in_every_merged_result(tmp_path: Path) -> None:
    """Issue 28: a dead worker's unfinished feature is in the record, behave JSON, JUnit and counts, named."""
    folder = tmp_path / "w1"
    folder.mkdir()
    lines = [{"kind": "run", "event": "start"},
             {"kind": "feature", "name": "A", "location": "a.feature:1", "status": "passed", "tags": []},
             {"kind": "scenario", "name": "a1", "location": "a.feature:3", "status": "passed", "tags": []},
             {"kind": "run", "event": "end", "finished": "now"}]
    (folder / "record.ndjson").write_text("".join(json.dumps(line) + "\n" for line in lines))
    (folder / "behave.json").write_text(json.dumps([{"keyword": "Feature", "name": "A", "location": "a.feature:1",
                                                     "status": "passed", "elements": [
                                                         {"type": "scenario", "name": "a1", "status": "passed",
                                                          "location": "a.feature:3", "steps": []}]}]))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    merge_folder(run_dir, [Part("w1", folder)], "r", [], root=tmp_path)
    lost = Planned("B", "b.feature:2", ("p0",), (PlannedScenario("b1", "b.feature:5", ("p0", "slowish")),))
    add_lost(run_dir, [lost], "the worker running it died (w2: exit -9)")
    for source in (run_dir / "record.ndjson", run_dir / "behave.json"):
        run = load([str(source)])
        found = {s.name: s for s in run.scenarios()}
        assert set(found) == {"a1", "b1"}, source
        assert found["b1"].status == "error" and found["b1"].tags == ("p0", "slowish"), source
        assert found["b1"].error is not None and found["b1"].error.type == LOST, source
        assert "w2: exit -9" in found["b1"].error.message, source
    run = load([str(run_dir)])
    assert summary(run) == "2 scenarios: 1 passed, 1 lost"
    junit = write_junit(run_dir, run).read_text()
    assert 'name="b1"' in junit and "WorkerLostError" in junit
    assert [v.rule.id if v.rule else None for v in analyze(run).verdicts if v.scenario.name == "b1"] == ["lost-worker"]


def test_environment_folders_move_into_the_run_and_timelines_gather_per_environment(tmp_path: Path) -> None:
    from harness.parallel.split import _collect_environments

    runs = tmp_path / "runs"
    run_dir = runs / "r"
    workers = [Worker(f"w{n}", f"r-w{n}", run_dir / f"w{n}", []) for n in (1, 2)]
    for n, worker in enumerate(workers, 1):
        env = runs / worker.run_id / "tiny"
        (env / "load").mkdir(parents=True)
        (env / "timeline.ndjson").write_text(json.dumps({"action": "inject", "what": f"pause {n}"}) + "\n")
        (env / "load" / "001-open.json").write_text("{}\n")
    _collect_environments(runs, run_dir, workers)
    assert sorted(p.name for p in runs.iterdir()) == ["r"]  # no runs/r-w1 left beside the run
    assert (run_dir / "w1" / "tiny" / "timeline.ndjson").is_file()
    events = [json.loads(line) for line in (run_dir / "tiny" / "timeline.ndjson").read_text().splitlines()]
    assert [(e["worker"], e["what"]) for e in events] == [("w1", "pause 1"), ("w2", "pause 2")]
    assert sorted(p.name for p in (run_dir / "tiny" / "load").iterdir()) == ["w1-001-open.json", "w2-001-open.json"]



def test_a_leftover_the_engine_will_not_remove_is_logged_and_the_run_goes_on(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The merge and the report come after this: a refusal must never lose the run's results."""
    import logging

    from harness.engine import endpoint as engine
    from harness.env import janitor
    from harness.errors import ComposeError
    from harness.parallel import split

    def project(name: str, run_id: str) -> janitor.Project:
        return janitor.Project(name, run_id, "storm", 4242, "here", "2026-12-01", 1, 0)

    found = [project("hr-w1-storm", "r-w1"), project("hr-w2-full", "r-w2"), project("hother-full", "other-w1")]
    removed: list[str] = []

    def remove(name: str) -> None:
        if name == "hr-w1-storm":
            raise ComposeError(["docker", "compose", "down"], 1, "network hr-w1-storm_default has active endpoints")
        removed.append(name)

    monkeypatch.setattr(engine, "current_engine", lambda: type("E", (), {"reads": lambda self: None})())
    monkeypatch.setattr(janitor, "projects", lambda reads: found)
    monkeypatch.setattr(janitor, "remove", remove)
    with caplog.at_level(logging.ERROR):
        assert split.remove_leftovers("r") == ["hr-w2-full"]
    assert removed == ["hr-w2-full"]
    assert any("hr-w1-storm" in r.getMessage() and "next run's janitor" in r.getMessage() for r in caplog.records)
