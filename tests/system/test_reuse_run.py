"""Docker: `harness up ENV` keeps an environment; `harness run --reuse ENV` attaches, undoes faults, leaves it up."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, harness_containers

pytestmark = pytest.mark.docker


def harness(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=240)


@pytest.fixture
def kept(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The parallel fixture project with `tiny` kept up by `harness up tiny --keep` (taken down after)."""
    project = tmp_path / "parallel"
    shutil.copytree(FIXTURES / "parallel", project)
    up = harness(project, "up", "tiny", "--keep")
    assert up.returncode == 0, up.stdout + up.stderr
    run_id = up.stdout.split()[1]
    try:
        yield project, run_id
    finally:
        harness(project, "down", run_id)
        assert harness_containers(run_id) == []


def test_a_reused_run_attaches_undoes_its_fault_and_leaves_the_environment_up(kept: tuple[Path, str]) -> None:
    project, run_id = kept
    before = harness_containers(run_id)
    result = harness(project, "run", "--reuse", "tiny", "envfeatures/web_paused.feature",
                     "envfeatures/web_a.feature")
    assert result.returncode == 0, result.stdout + result.stderr
    used = {p.read_text() for p in (project / ".harness" / "started").iterdir()}
    assert used == {f"h{run_id.replace('-', '')[-12:]}-tiny"}  # the kept project, no new one
    assert "[tiny" not in result.stdout + result.stderr  # no bring-up progress: nothing started
    assert harness_containers(run_id) == before
    state = subprocess.run(["docker", "inspect", "-f", "{{.State.Status}}", before[0]],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert state == "running"  # paused by the scenario, unpaused by its undo, left up


def test_plain_behave_with_reuse_1_attaches_too(kept: tuple[Path, str]) -> None:
    project, run_id = kept
    result = subprocess.run([sys.executable, "-m", "behave", "-D", "reuse=1", "envfeatures/web_a.feature"],
                            cwd=project, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {p.read_text() for p in (project / ".harness" / "started").iterdir()} == {
        f"h{run_id.replace('-', '')[-12:]}-tiny"}


def test_a_different_configuration_is_refused_with_the_difference_named(kept: tuple[Path, str]) -> None:
    project, run_id = kept
    result = harness(project, "run", "--reuse", "tiny", "-D", "greeting=bye", "envfeatures/web_a.feature")
    assert result.returncode == 2
    text = result.stdout + result.stderr
    assert "different configuration" in text and 'GREETING: "hello"' in text and 'GREETING: "bye"' in text
    assert not (project / ".harness" / "started").exists()  # refused before any step ran
    assert len(harness_containers(run_id)) == 1
