"""Docker-backed lifecycle tests: bring-up, failures that explain themselves, no leaks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from harness.env.config import Settings, load_environment, resolve_parameters
from harness.env.lifecycle import Environment, new_run_id
from harness.errors import ReadinessTimeout, ServiceExited, ServiceUnhealthy, TemplateError
from tests.conftest import default_sigint, harness_containers, harness_networks
from tests.system.helpers import wait_for

pytestmark = pytest.mark.docker


def environment(root: Path, name: str, **kw: object) -> Environment:
    settings = Settings(root=root)
    spec = load_environment(name, settings.env_dir)
    return Environment(spec, resolve_parameters(spec, {}, environ={}), settings, run_id=new_run_id(), **kw)  # type: ignore[arg-type]


def assert_nothing_left(run_id: str) -> None:
    assert harness_containers(run_id) == [] and harness_networks(run_id) == []
    volumes = subprocess.run(["docker", "volume", "ls", "-q", "--filter", f"label=harness.run={run_id}"],
                             capture_output=True, text=True, check=True).stdout.split()
    assert volumes == []


def test_four_services_round_trip(fixture_project: Path) -> None:
    env = environment(fixture_project, "four")
    with env:
        assert set(env.services) == {"web", "api", "store", "checker"}
        with urllib.request.urlopen(env.url("web") + "/hostname", timeout=5) as response:
            assert response.status == 200
        assert env.problems() == []
        assert len(harness_containers(env.run_id)) == 4
        startup = json.loads((env.run_dir / "startup.json").read_text())  # plans later parallel runs
        assert startup["environment"] == "four" and startup["services"] == 4 and 0 < startup["seconds"] < 120
    assert_nothing_left(env.run_id)


def test_service_that_exits_is_named_with_its_logs_and_artifacts_saved(fixture_project: Path) -> None:
    env = environment(fixture_project, "crash")
    started = time.monotonic()
    with pytest.raises(ServiceExited) as err:
        env.start()
    assert time.monotonic() - started < 15, "fails fast instead of waiting for the readiness timeout"
    exc = err.value
    assert exc.service == "broken" and exc.container_exit_code == 3
    assert "DATABASE_URL is not set" in exc.log_tail and "Hint:" in str(exc)
    assert "hunter2-secret" not in str(exc), "secret parameters are redacted"
    assert "DATABASE_URL" in (env.run_dir / "logs" / "compose.log").read_text()
    assert list((env.run_dir / "inspect").glob("*broken*.json"))
    assert_nothing_left(env.run_id)


def test_service_never_ready_times_out_within_the_configured_timeout(fixture_project: Path) -> None:
    env = environment(fixture_project, "never")
    started = time.monotonic()
    with pytest.raises(ReadinessTimeout) as err:
        env.start()
    assert 3 <= time.monotonic() - started < 12
    assert err.value.service == "mute" and "never comes" in err.value.log_tail
    assert_nothing_left(env.run_id)


def test_unhealthy_service_carries_its_health_output(fixture_project: Path) -> None:
    env = environment(fixture_project, "sick")
    with pytest.raises(ServiceUnhealthy) as err:
        env.start()
    assert "disk check failed" in err.value.health
    assert_nothing_left(env.run_id)


def test_broken_template_starts_nothing(fixture_project: Path) -> None:
    env = environment(fixture_project, "broken-template")
    with pytest.raises(TemplateError) as err:
        env.start()
    assert err.value.name == "greeting" and err.value.line == 5
    assert_nothing_left(env.run_id)


def harness_cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "harness.cli", *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=default_sigint)


def env_containers(env: str) -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=harness.env={env}"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def test_sigint_during_up_leaves_nothing(fixture_project: Path) -> None:
    proc = harness_cli("up", "slow", cwd=fixture_project)
    assert wait_for(lambda: len(env_containers("slow")) == 2)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert env_containers("slow") == []


def behave_run(project: Path, feature: str, run_id: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "behave", "-D", f"run_id={run_id}", f"features/{feature}"],
                            cwd=project, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=default_sigint)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_a_scenario_leaves_nothing(fixture_project: Path, sig: int) -> None:
    run_id = new_run_id()
    proc = behave_run(fixture_project, "sleepy.feature", run_id)
    assert wait_for(lambda: (fixture_project / "scenario-started").exists())
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0, out
    assert_nothing_left(run_id)


def test_sigkill_of_the_runner_is_cleaned_by_the_watchdog(fixture_project: Path) -> None:
    run_id = new_run_id()
    proc = behave_run(fixture_project, "sleepy.feature", run_id)
    assert wait_for(lambda: (fixture_project / "scenario-started").exists())
    proc.kill()
    proc.communicate(timeout=30)
    assert wait_for(lambda: not harness_containers(run_id) and not harness_networks(run_id), timeout=40)


def test_sigkill_of_runner_and_watchdog_is_cleaned_by_gc(fixture_project: Path) -> None:
    run_id = new_run_id()
    proc = behave_run(fixture_project, "sleepy.feature", run_id)
    assert wait_for(lambda: (fixture_project / "scenario-started").exists())
    watchdogs = subprocess.run(["pgrep", "-f", f"harness.env.watchdog --owner {proc.pid} "],
                               capture_output=True, text=True).stdout.split()
    assert watchdogs, "a watchdog runs beside the runner"
    for pid in watchdogs:
        os.kill(int(pid), signal.SIGKILL)
    proc.kill()
    proc.communicate(timeout=30)
    assert harness_containers(run_id), "with both killed, the project is still there"
    gc = subprocess.run([sys.executable, "-m", "harness.cli", "gc"], cwd=fixture_project,
                        capture_output=True, text=True, timeout=120)
    assert gc.returncode == 0, gc.stdout + gc.stderr
    assert_nothing_left(run_id)


def test_two_runs_of_the_same_environment_at_once(fixture_project: Path) -> None:
    ids = [new_run_id(), new_run_id()]
    procs = [behave_run(fixture_project, "ok.feature", run_id) for run_id in ids]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    for run_id in ids:
        assert_nothing_left(run_id)


def test_unhealthy_shared_instance_is_replaced_and_fresh_is_private(fixture_project: Path) -> None:
    run_id = new_run_id()
    proc = behave_run(fixture_project, "reuse.feature", run_id)
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out
    notes = json.loads((fixture_project / "notes.json").read_text())
    replacement, fresh = notes["seen"]
    assert len({notes["first"], replacement, fresh}) == 3, notes
    assert_nothing_left(run_id)


def test_harness_run_exits_2_naming_the_service_when_an_environment_does_not_come_up(fixture_project: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "harness.cli", "run", "features/broken_env.feature"],
                          cwd=fixture_project, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "ServiceExited: service 'broken'" in done.stderr
    assert env_containers("crash") == []


def test_a_failed_step_saves_the_services_logs_and_exits_1(fixture_project: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "harness.cli", "run", "features/failing.feature"],
                          cwd=fixture_project, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    saved = list((fixture_project / ".harness" / "runs").glob("2*/four/failures/*.log"))
    assert len(saved) == 1 and "GET /" in saved[0].read_text() and "s3cr3t-value" not in saved[0].read_text()
    record = next((fixture_project / ".harness" / "runs").glob("2*/record.ndjson")).read_text()
    assert "web status: expected 418, got 200" in record
