"""Docker: `harness run --workers N` gives each worker its own environment, and leaves nothing behind
after a pass, Ctrl-C, SIGTERM or a killed worker."""

from __future__ import annotations

import json
import shutil
import signal
import time
from pathlib import Path

import pytest

from harness.analysis.inputs import load
from tests.conftest import FIXTURES
from tests.system.helpers import nothing_left, start, wait_started

pytestmark = pytest.mark.docker


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of tests/fixtures/parallel."""
    target = tmp_path / "parallel"
    shutil.copytree(FIXTURES / "parallel", target)
    return target


def test_two_workers_each_use_their_own_environment_and_leave_nothing(project: Path) -> None:
    proc, run_id = start(project, "--workers", "2", "envfeatures/web_a.feature", "envfeatures/web_b.feature",
                         "envfeatures/web_paused.feature")
    out, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, out
    projects = {p.read_text() for p in (project / ".harness" / "started").iterdir()}
    assert len(projects) == 2  # one environment per worker, never shared
    assert "[w1] envfeatures/" in out and "[w2] envfeatures/" in out
    run = load([str(project / ".harness" / "runs" / run_id)])
    assert [s.status for s in run.scenarios()] == ["passed"] * 3
    assert nothing_left(run_id) == []
    folder = project / ".harness" / "runs" / run_id
    env_folders = list(folder.glob("w*/tiny"))
    assert len(env_folders) == 2 and all((f / "compose.yaml").is_file() for f in env_folders)
    timeline = [json.loads(line) for line in (folder / "tiny" / "timeline.ndjson").read_text().splitlines()]
    assert [e["action"] for e in timeline] == ["inject", "revert"] and timeline[0]["worker"] in ("w1", "w2")
    first, second = sorted((json.loads((f / "startup.json").read_text())["compose_up_turn"] for f in env_folders),
                           key=lambda turn: turn["from"])  # both started at once, but took turns at compose up:
    assert first["to"] <= second["from"] and second["waited_s"] > 0, (first, second)


def test_the_first_worker_out_of_work_runs_the_serial_feature_alone_in_its_own_environment(project: Path) -> None:
    """w2 lags 4 s behind w1: w1 takes the @serial feature, keeps its environment for it (no third
    bring-up, no third process) and starts its scenario only after every other scenario has ended."""
    proc, run_id = start(project, "--workers", "2", "envfeatures/web_a.feature", "envfeatures/web_b.feature",
                         "envfeatures/web_serial.feature", FIXTURE_SLOW_WORKER="w2")
    out, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, out
    assert "[w1] takes the @serial items" in out and "[w1] the others are done" in out, out
    folder = project / ".harness" / "runs" / run_id
    scenarios = [json.loads(line) for line in (folder / "record.ndjson").read_text().splitlines()
                 if json.loads(line).get("kind") == "scenario"]
    alone = next(s for s in scenarios if s["location"].startswith("envfeatures/web_serial.feature"))
    others_end = max(s["started"] + s["duration"] for s in scenarios if s is not alone)
    assert alone["status"] == "passed" and alone["started"] >= others_end
    summary = json.loads((folder / "workers.json").read_text())
    assert [w["label"] for w in summary["by_worker"]] == ["w1", "w2"]
    assert "envfeatures/web_serial.feature" in summary["by_worker"][0]["ran"]
    assert 0 < summary["alone_s"] < summary["wall_s"]
    assert sorted(p.parent.parent.name for p in folder.glob("*/tiny*/startup.json")) == ["w1", "w2"]
    assert nothing_left(run_id) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_every_worker_and_leaves_nothing(project: Path, sig: signal.Signals) -> None:
    proc, run_id = start(project, "--workers", "2", "--tags", "@long", "envfeatures/web_long.feature",
                         "envfeatures/web_a.feature")
    assert proc.stdout is not None
    wait_started(project, 1)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert nothing_left(run_id) == []
    for marker in (project / ".harness" / "started").iterdir():
        assert not Path(f"/proc/{marker.name}").exists()  # the worker's behave is gone too


def test_sigterm_while_a_worker_waits_at_the_serial_gate_stops_everyone_and_leaves_nothing(project: Path) -> None:
    """One worker runs a 60 s scenario; the other, out of work, holds the @serial feature with its environment
    up and waits at the gate. SIGTERM then: exit 130, no project of the run left, no behave left."""
    proc, run_id = start(project, "--workers", "2", "envfeatures/web_long.feature", "envfeatures/web_a.feature",
                         "envfeatures/web_serial.feature")
    assert proc.stdout is not None
    seen = ""
    while "takes the @serial items" not in seen:
        line = proc.stdout.readline()
        assert line, f"the run ended before a worker took the @serial items:\n{seen}"
        seen += line
    time.sleep(1.0)  # the holder is at the gate now (its environment was up before its last feature)
    assert not (project / ".harness" / "runs" / run_id / "serial.gate").exists()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, seen + out
    assert nothing_left(run_id) == []
    for marker in (project / ".harness" / "started").iterdir():
        assert not Path(f"/proc/{marker.name}").exists()


# a killed worker: tests/system/test_ground.py (its lost scenarios in every merged result, nothing left)


def test_sigterm_to_a_sequential_run_stops_its_behave_and_leaves_nothing(project: Path) -> None:
    proc, run_id = start(project, "envfeatures/web_long.feature")
    marker = wait_started(project, 1)[0]
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert not Path(f"/proc/{marker.name}").exists()  # behave did not outlive `harness run`
    assert nothing_left(run_id) == []
