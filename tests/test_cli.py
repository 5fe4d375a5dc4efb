"""The CLI: exit codes and messages for bad input, a daemon that is down, unknown commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness import commands
from harness.cli import main
from harness.env.lifecycle import docker_client
from harness.errors import DockerUnavailable

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, **(env or {})}, timeout=60)


def test_unknown_command_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "analyze" in capsys.readouterr().out


def test_unknown_environment_is_exit_2_naming_the_file_and_known_ones() -> None:
    done = cli("up", "no-such-env")
    assert done.returncode == 2
    assert "no-such-env.yaml" in done.stderr and "full-stack" in done.stderr


def test_undeclared_parameter_is_exit_2_naming_the_key() -> None:
    done = cli("up", "minimal", "-D", "hivez=3")
    assert done.returncode == 2 and "undeclared parameter 'hivez'" in done.stderr


def test_docker_daemon_down_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(DockerUnavailable, match="no Docker engine answers"):
        docker_client()


def test_docker_daemon_down_makes_up_exit_2_with_a_hint() -> None:
    done = cli("up", "example", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert done.returncode == 2
    assert "DockerUnavailable" in done.stderr and "Hint:" in done.stderr


def test_envs_lists_every_environment_with_its_description() -> None:
    done = cli("envs")
    assert done.returncode == 0
    names = {line.split()[0] for line in done.stdout.splitlines() if line.strip()}
    assert {"minimal", "full-stack", "multi-hive", "regressed", "chaos"} <= names


# -- harness up --compose FILE -----------------------------------------------------------------

class FakeEnvironment:
    """Records what `harness up` brings up; its services answer on made-up URLs."""

    started: list[Any] = []

    def __init__(self, spec: Any, params: Any, settings: Any, *, run_id: str, owner: str) -> None:
        self.spec, self.params, self.run_id, self.owner = spec, params, run_id, owner
        self.project, self.run_dir = f"harness-{spec.name}", settings.runs_dir / run_id
        self.services = {s.pattern: s for s in spec.services} | {"migrate": SimpleNamespace(port=None)}

    def start(self) -> FakeEnvironment:
        FakeEnvironment.started.append(self)
        return self

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:4{self.services[name].port}"


@pytest.fixture
def fake_up(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Any]:
    """`harness up` with no Docker: a fake Environment, no janitor, no signal handlers; run from tmp_path."""
    monkeypatch.setattr(commands, "Environment", FakeEnvironment)
    monkeypatch.setattr(commands.janitor, "sweep", lambda reads: [])
    monkeypatch.setattr(commands, "forward_signals_as_interrupt", lambda: None)
    monkeypatch.chdir(tmp_path)
    FakeEnvironment.started = []
    return FakeEnvironment.started


COMPOSE = """services:
  web: {image: nginx, ports: ["8080:80"]}
  db: {image: postgres, expose: ["5432"], healthcheck: {test: ["CMD", "pg_isready"]}}
  migrate: {image: busybox, command: ["true"]}
"""


def test_up_compose_brings_up_the_file_and_prints_urls(fake_up: list[Any], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "My Shop").mkdir()
    (tmp_path / "My Shop" / "docker-compose.yml").write_text(COMPOSE)
    assert main(["up", "--compose", "My Shop/docker-compose.yml", "--keep"]) == 0
    [env] = fake_up
    assert env.spec.name == "my-shop" and env.spec.compose_file == tmp_path / "My Shop" / "docker-compose.yml"
    assert env.spec.template == "" and env.owner == commands.DETACHED and env.params == {}
    assert {s.pattern: (s.port, s.probe.kind) for s in env.spec.services} == {
        "web": (80, "tcp"), "db": (5432, "healthcheck")}
    out = capsys.readouterr().out
    assert "web              http://127.0.0.1:480" in out and "migrate          (no port)" in out
    assert f"take it down with: harness down {env.run_id}" in out


def test_up_compose_missing_file_is_exit_2_naming_it(fake_up: list[Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["up", "--compose", "nope.yml"]) == 2
    err = capsys.readouterr().err
    assert "--compose" in err and "nope.yml" in err and not fake_up


@pytest.mark.parametrize("argv", [["up"], ["up", "minimal", "--compose", "c.yml"]])
def test_up_needs_exactly_one_of_env_and_compose(fake_up: list[Any], argv: list[str],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "--compose FILE" in capsys.readouterr().err and not fake_up


def test_up_compose_refuses_defines_it_cannot_use(fake_up: list[Any], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.yml").write_text(COMPOSE)
    assert main(["up", "--compose", "c.yml", "-D", "hives=3"]) == 2
    assert "undeclared parameter 'hives'" in capsys.readouterr().err and not fake_up


def test_up_parser_reads_compose_keep_and_defines() -> None:
    args = commands.up_parser().parse_args(["--compose", "x/c.yml", "--keep", "-D", "a=1"])
    assert (args.env, args.compose, args.keep, args.define) == (None, Path("x/c.yml"), True, ["a=1"])
