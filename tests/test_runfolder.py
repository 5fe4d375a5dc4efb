"""The run folder's structured files: each written by its writer and read by its reader, equal; files
written by earlier code (kept as literal lines here and as the analysis fixture) still read."""

from __future__ import annotations

import json
from pathlib import Path

from harness.faults.stack import Timeline
from harness.runfolder import (
    EnvFolder,
    LoadRecord,
    LoadSecond,
    RunFolder,
    Startup,
    TimelineEntry,
    UpTurn,
    WorkersSummary,
    WorkerSummary,
)

FIXTURE_ENV = Path(__file__).parent / "analysis" / "fixtures" / "runs" / "partition-regressed" / "regressed"

# A line exactly as harness.run.session wrote it before the timeline had a codec, and one split.py gathered.
TODAY_TIMELINE = [
    '{"scenario": "f.feature:9: heal", "at": 0.0, "wall": 1796061612.297, "action": "inject", '
    '"what": "pause hive-1", "target": "h-hive-1", "error": ""}',
    '{"scenario": "f.feature:9: heal", "at": 2.5, "wall": 1796061614.797, "action": "revert-failed", '
    '"what": "pause hive-1", "target": "h-hive-1", "error": "gone", "worker": "w2"}',
]


def test_timeline_entries_round_trip(tmp_path: Path) -> None:
    env = EnvFolder(tmp_path / "tiny")
    entries = [TimelineEntry("f.feature:3: s", 0.0, "inject", "pause a", "h-a-1", wall=100.25),
               TimelineEntry("f.feature:3: s", 1.5, "revert-failed", "pause a", "h-a-1", "gone", 101.75, "w1"),
               TimelineEntry("f.feature:8: t", 0.1, "inject", "kill b", "h-b-1")]  # an older line: no wall
    env.append_timeline(entries[:2])
    env.append_timeline(entries[2:])
    assert env.read_timeline() == entries


def test_the_timeline_writer_writes_todays_lines_and_the_reader_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "timeline.ndjson"
    path.write_text("\n".join(TODAY_TIMELINE) + "\n" + '{"scenario": "cut sh')  # a killed writer's last line
    read = EnvFolder(tmp_path).read_timeline()
    assert read == [TimelineEntry("f.feature:9: heal", 0.0, "inject", "pause hive-1", "h-hive-1", "", 1796061612.297),
                    TimelineEntry("f.feature:9: heal", 2.5, "revert-failed", "pause hive-1", "h-hive-1", "gone",
                                  1796061614.797, "w2")]
    assert [json.dumps(e.to_json()) for e in read] == TODAY_TIMELINE


def test_a_timeline_of_an_older_run_without_wall_clock_still_reads() -> None:
    entries = EnvFolder(FIXTURE_ENV).read_timeline()
    assert [(e.action, e.wall) for e in entries] == [("inject", None), ("revert", None)] * 2
    assert entries[1].at == 10.7767 and entries[0].target.startswith("h18000103adc1-regressed-queen-1")


def test_a_fault_timeline_becomes_entries_at_seconds_since_its_start_and_on_the_wall_clock() -> None:
    now = iter([10.0, 10.5, 12.0, 13.0])
    timeline = Timeline(clock=lambda: next(now))
    timeline.record("inject", "pause a", "h-a-1")
    timeline.record("revert", "pause a", "h-a-1")
    entries = timeline.entries("f.feature:3: s", wall=lambda: 1000.0)  # monotonic 13.0 is wall 1000.0
    assert [(e.at, e.wall, e.action) for e in entries] == [(0.5, 997.5, "inject"), (2.0, 999.0, "revert")]


def test_load_results_round_trip(tmp_path: Path) -> None:
    env = EnvFolder(tmp_path / "tiny")
    record = LoadRecord({"mode": "open", "requests": 3, "elapsed_s": 2.0, "latency_ms": {"p50": 1.5}},
                        1796061612.297, (LoadSecond(0, 1, 1, 1.5, 2.0), LoadSecond(1, 2, 1, 3.5, 9.9)))
    path = env.write_load(7, record)
    assert path == env.load_result(7, "open")
    assert env.read_loads() == [(path, record)]


def test_a_load_result_written_by_earlier_code_reads_and_writes_back_the_same() -> None:
    original = FIXTURE_ENV / "load" / "001-open.json"
    [(path, record)] = EnvFolder(FIXTURE_ENV).read_loads()
    assert path == original and record.mode == "open" and record.started_at == 1796061618.929
    assert record.seconds[-1] == LoadSecond(6, 30, 30, 3430.9, 6257.9) and record.elapsed == 6.632
    assert record.to_json() == json.loads(original.read_text())


def test_a_load_result_in_other_columns_or_cut_short_reads_as_it_can(tmp_path: Path) -> None:
    env = EnvFolder(tmp_path)
    env.load_dir.mkdir()
    env.load_result(1, "closed").write_text(json.dumps(
        {"mode": "closed", "timeline": {"columns": ["p99_ms", "second", "ok"], "rows": [[9.5, 3, 2]]}}))
    env.load_result(2, "open").write_text('{"mode": "op')
    [(_, record)] = env.read_loads()
    assert record.started_at is None and record.seconds == (LoadSecond(3, 0, 2, 0.0, 9.5),)


def test_startup_round_trips_and_reads_what_earlier_code_wrote(tmp_path: Path) -> None:
    env = EnvFolder(tmp_path / "tiny")
    startup = Startup("tiny", 12.5, 2, 1796061612.297, UpTurn(4.25, 1796061600.0, 1796061603.5))
    env.write_startup(startup)
    assert env.read_startup() == startup
    assert json.loads(env.startup.read_text())["compose_up_turn"] == {"waited_s": 4.25, "from": 1796061600.0,
                                                                      "to": 1796061603.5}
    env.startup.write_text('{"environment": "tiny", "seconds": 3.2, "services": 1, "ready_at": 5.0}\n')
    assert env.read_startup() == Startup("tiny", 3.2, 1, 5.0)
    env.startup.write_text('{"environment": "tiny"}')
    assert env.read_startup() is None


def test_workers_summary_round_trips_and_reads_what_earlier_code_wrote(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    summary = WorkersSummary(2, "", 1, 61.5, (
        WorkerSummary("w1", "r-w1", ("a.feature",), ("a.feature", "c.feature"), (1, 0), (30.5, 4.0), 2, 88.2),
        WorkerSummary("w2", "r-w2", ("b.feature",), ("b.feature",), (0,), (40.0,), 1, 80.0)), alone_s=12.25)
    run.write_workers(summary)
    assert run.read_workers() == summary
    w1 = {"label": "w1", "run_id": "r-w1", "items": ["a.feature"], "ran": ["a.feature", "c.feature"],
          "exit_codes": [1, 0], "wall_s": [30.5, 4.0], "attempts": 2, "peak_rss_mb": 88.2}
    w2 = {"label": "w2", "run_id": "r-w2", "items": ["b.feature"], "ran": ["b.feature"],
          "exit_codes": [0], "wall_s": [40.0], "attempts": 1, "peak_rss_mb": 80.0}
    earlier = {"workers": 2, "shard": "", "retries": 1, "wall_s": 61.5, "alone_s": 12.25, "by_worker": [w1, w2]}
    assert run.workers_json.read_text() == json.dumps(earlier, indent=1) + "\n"


def test_rerun_round_trips_in_behaves_format(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    run.write_rerun(["f.feature:3", "g.feature:9"])
    assert run.rerun.read_text().startswith("# -- RERUN: 2 failing scenarios")
    assert run.read_rerun() == ["f.feature:3", "g.feature:9"]
    run.write_rerun([])
    assert run.read_rerun() == [] and run.rerun.read_text() == ""


def test_a_split_runs_folders_are_workers_and_attempts_not_environments(tmp_path: Path) -> None:
    run = RunFolder.new(tmp_path, "r")
    first = run.numbered_worker(1).attempt(1)
    first.path.mkdir(parents=True)
    first.record.write_text("")
    killed = run.numbered_worker(1).attempt(2)  # a retry killed before behave wrote a result
    killed.path.mkdir()
    killed.behave_log.write_text("")
    run.numbered_worker(1).env("tiny").path.mkdir()
    run.env("tiny").path.mkdir()
    run.claims_dir.mkdir()
    run.junit_dir.mkdir()
    assert [w.path.name for w in run.workers()] == ["w1"]
    assert [e.path.relative_to(run.path).as_posix() for e in run.envs()] == ["tiny", "w1/tiny"]
    assert [e.name for e in run.envs(nested=False)] == ["tiny"]
    assert first.path.relative_to(run.path).as_posix() == "w1/attempt-1"
