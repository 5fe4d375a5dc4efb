"""Shared fixtures: the fixture project and a check that docker tests leave nothing behind."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def fixture_project(tmp_path: Path) -> Path:
    """A copy of tests/fixtures/project (environments, compose, features) in a tmp folder."""
    target = tmp_path / "project"
    shutil.copytree(FIXTURES / "project", target)
    return target


def harness_containers(run_id: str = "") -> list[str]:
    """Names of containers labelled by the harness (for one run id, or all)."""
    label = f"harness.run={run_id}" if run_id else "harness.run"
    out = subprocess.run(["docker", "ps", "-a", "--filter", f"label={label}", "--format", "{{.Names}}"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def harness_networks(run_id: str = "") -> list[str]:
    """Names of networks labelled by the harness (for one run id, or all)."""
    label = f"harness.run={run_id}" if run_id else "harness.run"
    out = subprocess.run(["docker", "network", "ls", "--filter", f"label={label}", "--format", "{{.Name}}"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()
