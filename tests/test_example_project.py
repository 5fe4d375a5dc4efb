"""A second team's project (tests/example_project) runs on the generic steps unchanged.

Its own environment and compose template, its own environment.py (the harness hooks) and a
steps/ folder that only loads the generic step modules. Real behave, real Docker.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.lifecycle import new_run_id
from tests.conftest import harness_containers, harness_networks

pytestmark = pytest.mark.docker

PROJECT = Path(__file__).parent / "example_project"


def behave(target: str, out: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run behave on ``target`` in a copy of the example project; return the result and the run id."""
    run_id = new_run_id()
    project = out.parent / "example_project"
    if not project.exists():
        shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns(".harness", "__pycache__"))
    done = subprocess.run([sys.executable, "-m", "behave", "-D", f"run_id={run_id}",
                           "-f", "json", "-o", str(out), "-f", "plain", target],  # -o binds to the -f before it
                          cwd=project, capture_output=True, text=True, timeout=600)
    return done, run_id


def test_the_example_project_passes_and_leaves_nothing_running(tmp_path: Path) -> None:
    done, run_id = behave("features/web.feature", tmp_path / "out.json")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "6 scenarios passed, 0 failed" in done.stdout
    assert harness_containers(run_id) == [] and harness_networks(run_id) == []


def test_a_deliberately_failing_check_fails_with_its_message(tmp_path: Path) -> None:
    done, run_id = behave("deliberately_failing/broken.feature", tmp_path / "out.json")
    assert done.returncode == 1, done.stdout[-4000:] + done.stderr[-4000:]
    scenario = json.loads((tmp_path / "out.json").read_text())[0]["elements"][0]
    assert scenario["status"] == "failed"
    step = scenario["steps"][1]
    assert step["result"]["status"] == "failed"
    message = "".join(step["result"]["error_message"])
    assert "the response JSON at 'status': expected \"degraded\", got \"ok\"" in message
    assert "GET http://127.0.0.1:" in message and "/health answered 200" in message
    assert harness_containers(run_id) == [] and harness_networks(run_id) == []
