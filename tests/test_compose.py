"""The compose boundary with a fake runner: argv, errors translated with hints."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.engine.compose import ComposeRunner
from harness.errors import ComposeError, ComposeTimeout, DockerUnavailable


class FakeRun:
    def __init__(self, code: int = 0, stdout: str = "", stderr: str = "", exc: Exception | None = None) -> None:
        self.calls: list[list[str]] = []
        self.result = (code, stdout, stderr)
        self.exc = exc

    def __call__(self, argv: list[str], **_kw: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(argv)
        if self.exc:
            raise self.exc
        code, out, err = self.result
        return subprocess.CompletedProcess(argv, code, out, err)


def test_argv_names_project_and_files() -> None:
    fake = FakeRun()
    ComposeRunner("p1", [Path("a.yaml")], run=fake).down(5)
    assert fake.calls[0] == ["docker", "compose", "-p", "p1", "-f", "a.yaml", "down", "-v", "--remove-orphans",
                             "-t", "5"]


def test_failure_carries_exit_code_stderr_and_a_hint() -> None:
    fake = FakeRun(code=1, stderr="Cannot connect to the Docker daemon at unix:///var/run/docker.sock")
    with pytest.raises(ComposeError) as err:
        ComposeRunner("p1", run=fake).up()
    assert err.value.exit_code_observed == 1 and "no Docker engine answers" in str(err.value)


def test_missing_image_hint_names_the_image_and_not_our_own_stack() -> None:
    fake = FakeRun(code=1, stderr="Error response from daemon: pull access denied for team/api, repository "
                                  "does not exist or may require 'docker login'")
    with pytest.raises(ComposeError) as err:
        ComposeRunner("p1", run=fake).up()
    assert "image team/api is not on this machine" in err.value.hint and "make setup" not in err.value.hint
    assert "build:" in err.value.hint


def test_project_directory_and_env_reach_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEP_ME", "1")
    seen: list[dict[str, Any]] = []

    def run(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        seen.append({"argv": argv, **kw})
        return subprocess.CompletedProcess(argv, 0, "", "")

    runner = ComposeRunner("p1", [Path("c.yaml")], project_directory=Path("/team"), env={"HARNESS_SECRET_X": "v"},
                           run=run)
    runner.config()
    runner.down(3)
    runner.logs()
    assert all(call["argv"][:6] == ["docker", "compose", "-p", "p1", "--project-directory", "/team"] for call in seen)
    assert all(call["env"]["HARNESS_SECRET_X"] == "v" and call["env"]["KEEP_ME"] == "1" for call in seen)
    ComposeRunner("p2", run=run).config()
    assert seen[-1]["env"] is None, "nothing to add: the environment is inherited"


def test_no_docker_cli() -> None:
    with pytest.raises(DockerUnavailable):
        ComposeRunner("p1", run=FakeRun(exc=FileNotFoundError("docker"))).config()


def test_timeout_is_a_compose_error_naming_the_setting_that_bounds_it() -> None:
    with pytest.raises(ComposeError) as err:
        ComposeRunner("p1", run=FakeRun(exc=subprocess.TimeoutExpired(["docker"], 3)),
                      setting="environments/web.yaml").config()
    assert isinstance(err.value, ComposeTimeout) and err.value.seconds == 3
    assert str(err.value).startswith("`docker compose config` of project p1 gave no answer within 3 s "
                                     "(the bound set by `timeouts.compose`)")
    assert "Hint: raise `timeouts.compose` in environments/web.yaml" in str(err.value)


class HungProcess:
    """A `compose up` that never returns."""

    def __init__(self) -> None:
        self.terminated = False

    def poll(self) -> int | None:
        return -15 if self.terminated else None

    def terminate(self) -> None:
        self.terminated = True

    def wait(self, timeout: float | None = None) -> int:
        return -15


def test_a_background_up_that_outlives_the_compose_timeout_is_stopped_and_named(tmp_path: Path) -> None:
    now = [100.0]
    hung = HungProcess()
    runner = ComposeRunner("p1", timeout=8, setting="environments/web.yaml", popen=lambda *a, **k: hung,
                           clock=lambda: now[0])
    started = runner.spawn_up(tmp_path / "up.log")
    now[0] += 7.9
    assert started.result() is None and not hung.terminated
    now[0] += 0.2
    with pytest.raises(ComposeTimeout, match=r"`docker compose up` of project p1 gave no answer within 8 s"):
        started.result()
    assert hung.terminated


def test_logs_never_raise() -> None:
    assert ComposeRunner("p1", run=FakeRun(code=1, stdout="partial")).logs("web", tail=5) == "partial"


RACE = ("failed to remove network p1_default: Error response from daemon: error while removing network: "
        "network p1_default id 00d5 has active endpoints")


class Results(FakeRun):
    """A runner answering with one (code, stderr) per call."""

    def __init__(self, *results: tuple[int, str]) -> None:
        super().__init__()
        self.results = list(results)

    def __call__(self, argv: list[str], **_kw: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(argv)
        code, err = self.results.pop(0)
        return subprocess.CompletedProcess(argv, code, "", err)


def test_down_tries_again_when_the_engine_still_counts_endpoints_on_the_network() -> None:
    fake, slept = Results((1, RACE), (1, RACE), (0, "")), []
    ComposeRunner("p1", run=fake, sleep=slept.append).down(5)
    assert len(fake.calls) == 3 and slept == [0.5, 1.0]


def test_down_gives_up_after_three_attempts_and_other_errors_at_once() -> None:
    fake = Results((1, RACE), (1, RACE), (1, RACE))
    with pytest.raises(ComposeError, match="active endpoints") as failed:
        ComposeRunner("p1", run=fake, sleep=lambda _s: None).down(5)
    assert "restarting the Docker engine" in str(failed.value.hint)
    assert len(fake.calls) == 3
    other = Results((1, "Error response from daemon: permission denied"))
    with pytest.raises(ComposeError, match="permission denied"):
        ComposeRunner("p1", run=other, sleep=lambda _s: None).down(5)
    assert len(other.calls) == 1
