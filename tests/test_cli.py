"""The CLI: exit codes and messages for bad input, a daemon that is down, unknown commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import DockerUnavailable
from harness.lifecycle import docker_client

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
