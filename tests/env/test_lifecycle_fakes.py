"""Environment's lifecycle against a fake engine, compose, watchdog and image store: no Docker needed.

Each test mirrors a Docker-backed one (named in its docstring) in tests/system/test_lifecycle.py or
tests/system/test_remote_engine.py; those still run the real path.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.engine.endpoint import DEFAULT_ENDPOINT, Engine
from harness.env.client import Clients
from harness.env.config import Settings, load_environment, resolve_parameters
from harness.env.lifecycle import DETACHED, Environment
from harness.env.place import Place, new_run_id
from harness.env.prepare import ImageBuilder
from harness.env.progress import Progress
from harness.env.render import secret_environment
from harness.errors import BuildError, ReadinessTimeout, ServiceExited, ServiceUnhealthy, TemplateError
from tests.conftest import FIXTURES
from tests.env.fake_engine import BASE, Answering, Box, FakeBackend, FakeEngine, FakeWatchdog

LOCAL = Engine(DEFAULT_ENDPOINT)
FAST = {"ready": 1.0, "probe_interval": 0.02, "down": 1}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """tests/fixtures/project (environments four, crash, never, sick, broken-template, slow)."""
    return Path(shutil.copytree(FIXTURES / "project", tmp_path / "project"))


@pytest.fixture
def build_project(tmp_path: Path) -> Path:
    """tests/fixtures/buildproject: a team's compose project with `build:` services and a plain compose file."""
    return Path(shutil.copytree(FIXTURES / "buildproject", tmp_path / "buildproject"))


@pytest.fixture
def server() -> Iterator[Answering]:
    with Answering() as answering:
        yield answering


@pytest.fixture(autouse=True)
def no_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_TURNS", raising=False)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(root: Path, name: str, engine: FakeEngine, *, keep: bool = False, backend: FakeBackend | None = None,
                where: Engine = LOCAL, owner: int | None = None, run_id: str = "", **timeouts: float) -> Environment:
    """Environment ``name`` of the project at ``root``, every collaborator a fake on ``engine``."""
    settings = Settings(root=root, keep=keep)
    spec = load_environment(name, settings.env_dir)
    spec = dataclasses.replace(spec, timeouts=dataclasses.replace(spec.timeouts, **{**FAST, **timeouts}))
    params = resolve_parameters(spec, {}, environ={})
    run_id = run_id or new_run_id()
    place = Place.of(spec, settings, run_id)
    compose = engine.runner(place.project, [place.compose_file], place.source_dir,
                            {**secret_environment(spec, params), **where.environ()})
    return Environment(spec, params, settings, run_id=run_id, owner=owner, docker=engine.docker, compose=compose,
                       engine=where, watchdog=FakeWatchdog(), builder=ImageBuilder(backend or FakeBackend()),
                       progress=Progress(spec.name, stream=io.StringIO(), live=False))


def watchdog(env: Environment) -> FakeWatchdog:
    assert isinstance(env.watchdog, FakeWatchdog)
    return env.watchdog


def nothing_left(env: Environment, engine: FakeEngine) -> bool:
    """No container of the project, the last compose command a `down`, the watchdog stopped."""
    return engine.containers_of(env.project) == [] and engine.commands(env.project)[-1] == "down" \
        and not watchdog(env).running


def four(server: Answering) -> list[Box]:
    return [Box("web", ports={8000: server.port}), Box("api", ports={8080: server.port}),
            Box("store", ports={6379: server.port}), Box("checker", health="healthy")]


def test_four_services_come_up_answer_and_go_away(project: Path, server: Answering) -> None:
    """test_four_services_round_trip: services, URLs, probes, startup.json, and nothing left after."""
    engine = FakeEngine()
    engine.creates, engine.up_polls = four(server), 3
    env = environment(project, "four", engine)
    with env:
        assert set(env.services) == {"web", "api", "store", "checker"}
        assert env.url("web") == f"http://127.0.0.1:{server.port}" and env.problems() == []
        assert set(env.ready_at) == {"web", "api", "store", "checker"}
        assert env.networks() == [f"{env.project}_default"]
        startup = json.loads((env.run_dir / "startup.json").read_text())
        assert startup["environment"] == "four" and startup["services"] == 4 and 0 <= startup["seconds"] < 10
    assert engine.commands() == ["config", "up", "down"]
    assert nothing_left(env, engine)


def test_a_service_that_exits_is_named_with_its_logs_and_artifacts_saved(project: Path, server: Answering) -> None:
    """test_service_that_exits_is_named_with_its_logs_and_artifacts_saved: fails fast, redacted, cleaned up."""
    engine = FakeEngine()
    engine.creates = [Box("web", ports={8000: server.port}), Box("broken", state="exited", exit_code=3)]
    engine.up_polls = None
    engine.log_text = "broken-1  | fatal: DATABASE_URL is not set (token hunter2-secret)\n"
    env = environment(project, "crash", engine, ready=30)
    started = time.monotonic()
    with pytest.raises(ServiceExited) as err:
        env.start()
    assert time.monotonic() - started < 5, "fails fast instead of waiting for the readiness timeout"
    exc = err.value
    assert exc.service == "broken" and exc.container_exit_code == 3 and exc.project == env.project
    assert "DATABASE_URL is not set" in exc.log_tail and "Hint:" in str(exc)
    assert "hunter2-secret" not in str(exc), "secret parameters are redacted"
    compose_log = (env.run_dir / "logs" / "compose.log").read_text()
    assert "DATABASE_URL" in compose_log and "hunter2-secret" not in compose_log
    assert [p.name for p in (env.run_dir / "inspect").glob("*broken*.json")]
    assert engine.processes[0].terminated, "the background `up` is stopped"
    assert nothing_left(env, engine)


def test_a_service_never_ready_times_out_within_the_configured_timeout(project: Path) -> None:
    """test_service_never_ready_times_out_within_the_configured_timeout."""
    engine = FakeEngine()
    engine.creates = [Box("mute", ports={8000: closed_port()})]
    engine.log_text = "mute-1  | waiting for a dependency that never comes\n"
    env = environment(project, "never", engine, ready=0.6)
    started = time.monotonic()
    with pytest.raises(ReadinessTimeout) as err:
        env.start()
    assert 0.6 <= time.monotonic() - started < 5
    assert err.value.service == "mute" and "never comes" in err.value.log_tail
    assert "timeouts.ready" in str(err.value) and str(env.spec.file) in str(err.value)
    assert nothing_left(env, engine)


def test_an_unhealthy_service_carries_its_health_output(project: Path) -> None:
    """test_unhealthy_service_carries_its_health_output."""
    engine = FakeEngine()
    engine.creates = [Box("sick", health="unhealthy", health_output="disk check failed: /data is read-only")]
    env = environment(project, "sick", engine)
    with pytest.raises(ServiceUnhealthy) as err:
        env.start()
    assert "disk check failed" in err.value.health and err.value.state == "running"
    assert nothing_left(env, engine)


def test_a_broken_template_starts_nothing(project: Path) -> None:
    """test_broken_template_starts_nothing: the error names the variable and line; no `config`, no `up`."""
    engine = FakeEngine()
    env = environment(project, "broken-template", engine)
    with pytest.raises(TemplateError) as err:
        env.start()
    assert err.value.name == "greeting" and err.value.line == 5
    assert "up" not in engine.commands() and "config" not in engine.commands()
    assert watchdog(env).started == [] and nothing_left(env, engine)


def test_ctrl_c_while_coming_up_stops_up_and_leaves_nothing(project: Path, server: Answering) -> None:
    """test_sigint_during_up_leaves_nothing: a KeyboardInterrupt mid bring-up stops `up` and takes all down."""
    engine = FakeEngine()
    engine.creates = [Box("slow", ports={8000: closed_port()}), Box("other", ports={8000: server.port})]
    engine.up_polls, engine.interrupt_after = None, 3
    env = environment(project, "slow", engine, keep=True, ready=30)  # even --keep does not keep on Ctrl-C
    with pytest.raises(KeyboardInterrupt):
        env.start()
    assert engine.processes[0].terminated
    assert (env.run_dir / "logs" / "compose.log").exists(), "artifacts are saved before teardown"
    assert nothing_left(env, engine) and env.up is False


def test_down_runs_again_when_a_create_was_still_in_flight(project: Path, server: Answering) -> None:
    """test_sigint_during_up_leaves_nothing: a container created while `down` ran is removed by a second `down`."""
    engine = FakeEngine()
    engine.creates = four(server)
    env = environment(project, "four", engine)
    env.start()
    engine.leftover_downs = 1
    env.down()
    assert engine.commands()[-2:] == ["down", "down"] and nothing_left(env, engine)


def test_an_interrupted_scenario_takes_the_environment_down(project: Path, server: Answering) -> None:
    """test_signal_during_a_scenario_leaves_nothing: SIGINT/SIGTERM arrive as KeyboardInterrupt in the block."""
    engine = FakeEngine()
    engine.creates = four(server)
    with pytest.raises(KeyboardInterrupt), environment(project, "four", engine) as env:
        raise KeyboardInterrupt("SIGTERM")
    assert nothing_left(env, engine)


def test_the_watchdog_runs_beside_its_owner_on_the_same_engine_until_down(project: Path, server: Answering) -> None:
    """test_sigkill_of_the_runner_is_cleaned_by_the_watchdog: who starts it, with what, and when it stops."""
    engine = FakeEngine()
    engine.creates = four(server)
    pinned = Engine("unix:///run/other.sock", source="DOCKER_HOST")
    env = environment(project, "four", engine, where=pinned)
    with env:
        assert watchdog(env).started == [{"owner": os.getpid(), "project": env.project,
                                          "log": env.run_dir / "watchdog.log",
                                          "environ": {"DOCKER_HOST": "unix:///run/other.sock"}}]
        assert watchdog(env).running
    assert watchdog(env).stops == 1 and not watchdog(env).running
    detached = environment(project, "four", engine, owner=DETACHED)  # `harness up`: never reaped
    with detached:
        assert watchdog(detached).started == []


def test_two_environments_of_one_spec_at_once_are_separate_projects(project: Path, server: Answering) -> None:
    """test_two_runs_of_the_same_environment_at_once: own project, own run folder; one's down leaves the other."""
    engine = FakeEngine()
    engine.creates = four(server)
    one, two = environment(project, "four", engine), environment(project, "four", engine)
    assert one.project != two.project and one.run_dir != two.run_dir
    with one, two:
        assert len(engine.containers_of(one.project)) == len(engine.containers_of(two.project)) == 4
        two.down()
        assert engine.containers_of(one.project) and not engine.containers_of(two.project)
        assert one.problems() == []
    assert nothing_left(one, engine) and nothing_left(two, engine)


def test_a_failed_steps_logs_are_saved_redacted(project: Path, server: Answering) -> None:
    """test_a_failed_step_saves_the_services_logs_and_exits_1: the failure log holds the logs, not the secret."""
    engine = FakeEngine()
    engine.creates = four(server)
    engine.log_text = "web-1  | GET / 200\napi-1  | TOKEN=s3cr3t-value\n"
    with environment(project, "four", engine) as env:
        saved = env.artifacts.save_failure_logs("web status: expected 418, got 200")
    assert saved.parent == env.run_dir / "failures"
    assert "GET /" in saved.read_text() and "s3cr3t-value" not in saved.read_text()


def test_a_team_project_builds_once_and_runs_the_built_tag(build_project: Path, server: Answering) -> None:
    """test_a_team_project_builds_once_and_reads_files_mounted_from_beside_the_template."""
    engine, backend = FakeEngine(), FakeBackend()
    engine.creates = [Box("app", ports={8000: server.port})]
    first = environment(build_project, "app", engine, backend=backend)
    with first:
        assert [(r.name, r.built) for r in first.built] == [("buildproject-app", True)]
        decorated = first.compose_file.read_text()
        assert "build:" not in decorated and f"image: {first.built[0].tag}" in decorated
        assert "--project-directory " + str(build_project / "compose") in decorated
        assert "./conf/site.conf:/srv/site.conf" in decorated, "bind mounts stay relative..."
        assert first.compose.project_directory == (build_project / "compose").resolve(), "...to the template's folder"
        assert first.url("app") == f"http://127.0.0.1:{server.port}"
    second = environment(build_project, "app", engine, backend=backend)
    with second:
        assert [(r.tag, r.built) for r in second.built] == [(first.built[0].tag, False)], "second run: no build"
    assert backend.builds == [first.built[0].tag]
    third = environment(build_project, "app-compose", engine, backend=backend)  # `compose: x.j2`
    with third:
        assert third.services["app"].port == 8000 and not third.built[0].built
    assert nothing_left(first, engine) and nothing_left(second, engine) and nothing_left(third, engine)


def test_a_broken_dockerfile_starts_nothing_and_names_the_service(build_project: Path) -> None:
    """test_a_broken_dockerfile_names_service_dockerfile_and_the_failing_output."""
    engine, backend = FakeEngine(), FakeBackend(broken={"broken"})
    env = environment(build_project, "broken-build", engine, backend=backend)
    with pytest.raises(BuildError) as err:
        env.start()
    assert err.value.service == "broken" and "missing semicolon" in err.value.log_tail and "Hint:" in str(err.value)
    assert "up" not in engine.commands() and watchdog(env).started == []
    assert backend.builds == [] and nothing_left(env, engine)


def test_a_plain_compose_file_with_a_fixed_port_and_name_runs_twice_at_once(build_project: Path) -> None:
    """test_a_plain_compose_file_with_a_fixed_port_runs_twice_at_once: ports published anew, name unpinned."""
    engine, backend = FakeEngine(), FakeBackend()
    one, two = (environment(build_project, "team", engine, backend=backend) for _ in range(2))
    engine.creates = [Box("web", health="healthy", ports={8000: 41001})]
    with one:
        engine.creates = [Box("web", health="healthy", ports={8000: 41002})]
        with two:
            assert one.services["web"].port == 8000
            assert {one.url("web"), two.url("web")} == {"http://127.0.0.1:41001", "http://127.0.0.1:41002"}
    decorated = one.compose_file.read_text()
    assert "container_name" not in decorated and "127.0.0.1::8000" in decorated and "8000:8000" not in decorated
    assert sorted(r.built for r in (*one.built, *two.built)) == [False, True], "built once"


def test_no_file_of_the_run_folder_holds_a_secret_value(build_project: Path, server: Answering) -> None:
    """test_no_file_of_the_run_folder_holds_a_secret_value: logs, failure logs, inspect files, compose files."""
    secret = "pw-Zq8vT3xK"
    engine = FakeEngine()
    engine.creates = [Box("app", ports={8000: server.port}, env=[f"DB_URL=postgres://app:{secret}@db/app"])]
    engine.log_text = f"app-1  | started with db=postgres://app:{secret}@db/app\n"
    with environment(build_project, "app", engine) as env:
        assert secret in env.logs("app"), "the service itself has it"
        env.artifacts.save_failure_logs("a step failed")
        env.artifacts.save_startup_failure()  # logs/compose.log and inspect/*.json, as after a failed start
    assert all(call["env"]["HARNESS_SECRET_DB_PASSWORD"] == secret for call in engine.calls)
    files = [p for p in env.run_dir.parent.rglob("*") if p.is_file()]
    assert {"compose.yaml", "compose.rendered.yaml", "compose.log"} <= {p.name for p in files}
    assert any(p.suffix == ".json" and p.parent.name == "inspect" for p in files)
    assert [str(p) for p in files if secret.encode() in p.read_bytes()] == []
    assert "${HARNESS_SECRET_DB_PASSWORD}" in (env.run_dir / "compose.rendered.yaml").read_text()


class RecordingBuilder(ImageBuilder):
    """The image builder, recording which images it was asked to copy to the engine."""

    def __init__(self) -> None:
        super().__init__(FakeBackend())
        self.copied: list[tuple[list[str], str]] = []

    def copy(self, images: list[str], clients: Clients, report: Any) -> None:
        self.copied.append((images, clients.engine.endpoint))


def test_on_a_remote_engine_images_are_copied_and_urls_name_the_engine(project: Path) -> None:
    """tests/system/test_remote_engine.py: test_minimal_environment_comes_up_breaks_and_goes_away_on_a_remote_engine."""
    engine = FakeEngine()
    engine.creates = [Box("sick", health="healthy", ports={9000: 45000})]
    remote = Engine("tcp://10.0.0.9:2375", source="DOCKER_HOST")
    env = environment(project, "sick", engine, where=remote)
    env.builder = builder = RecordingBuilder()
    with env:
        assert builder.copied == [([BASE], "tcp://10.0.0.9:2375")]
        assert env.services["sick"].replicas[0].host == "10.0.0.9"
        assert watchdog(env).started[0]["environ"] == {"DOCKER_HOST": "tcp://10.0.0.9:2375"}
    assert all(call["env"]["DOCKER_HOST"] == "tcp://10.0.0.9:2375" for call in engine.calls)
    assert nothing_left(env, engine)


def test_compose_pulls_only_when_an_image_is_not_on_the_engine(project: Path, server: Answering) -> None:
    """`up --pull never` when every image is there (no registry round trip), else `--pull missing`."""
    engine = FakeEngine()
    engine.creates = four(server)
    with environment(project, "four", engine):
        pass
    engine.images.clear()
    with environment(project, "four", engine):
        pass
    ups = [c["args"] for c in engine.calls if c["args"][0] == "up"]
    assert [args[-1] for args in ups] == ["never", "missing"]


def test_keep_leaves_a_failed_environment_up_and_says_how_to_remove_it(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--keep after a failed start: artifacts saved, no `down`, the watchdog stopped, the command to run printed."""
    engine = FakeEngine()
    engine.creates = [Box("sick", health="unhealthy", health_output="disk check failed")]
    env = environment(project, "sick", engine, keep=True)
    with pytest.raises(ServiceUnhealthy):
        env.start()
    assert "down" not in engine.commands() and engine.containers_of(env.project)
    assert watchdog(env).stops == 1 and not watchdog(env).running
    assert f"harness down {env.run_id}" in capsys.readouterr().err
    assert (env.run_dir / "logs" / "compose.log").exists()


def test_attach_takes_over_a_running_project_and_never_takes_it_down(project: Path, server: Answering) -> None:
    """reuse: a kept project is observed, not started; its handle's down does nothing."""
    engine = FakeEngine()
    engine.creates = four(server)
    kept = environment(project, "four", engine, owner=DETACHED)
    kept.start()
    engine.calls.clear()
    again = environment(project, "four", engine, owner=DETACHED, run_id=kept.run_id)  # as reuse.attach makes it
    again.attach()
    assert again.url("web") == f"http://127.0.0.1:{server.port}" and again.problems() == []
    again.down()
    assert engine.calls == [] and len(engine.containers_of(kept.project)) == 4


def test_leaving_the_block_with_an_error_under_keep_leaves_it_up(project: Path, server: Answering) -> None:
    """`with env:` and --keep: a failing block leaves the project for a look; a passing one takes it down."""
    engine = FakeEngine()
    engine.creates = four(server)
    with pytest.raises(AssertionError), environment(project, "four", engine, keep=True) as env:
        raise AssertionError("a step failed")
    assert engine.containers_of(env.project) and "down" not in engine.commands(env.project)
    with environment(project, "four", engine, keep=True) as passing:
        pass
    assert nothing_left(passing, engine)
