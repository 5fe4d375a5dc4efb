"""A fault on the client's own link needs no wiring: latency shows in HTTP, WebSocket and load timings, and goes.

A real behave run of tests/fixtures/clientlink (websocketd from Debian: a static file over HTTP and
a WebSocket echo on one port). The feature checks the load runs' percentiles itself; this test
reads the durations of its HTTP request and WebSocket frame steps from behave's JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.env.lifecycle import new_run_id
from tests.conftest import REPO, harness_containers

pytestmark = pytest.mark.docker

FIXTURE = REPO / "tests" / "fixtures" / "clientlink"
LATENCY_MS = 300


def behave(project: Path, run_id: str, out: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "behave", "-D", f"run_id={run_id}", "-f", "json", "-o", str(out),
                           "-f", "plain", "features"], cwd=project, env=env, capture_output=True, text=True,
                          timeout=600)


def durations_ms(report: Path, prefix: str) -> list[float]:
    """The durations (ms) of the scenario's steps whose text starts with ``prefix``, in order."""
    (feature,) = json.loads(report.read_text())
    (scenario,) = feature["elements"]
    return [step["result"]["duration"] * 1000 for step in scenario["steps"] if step["name"].startswith(prefix)]


def test_client_link_latency_reaches_http_websocket_and_load_with_no_proxy_step_and_the_undo_restores_it(
        tmp_path: Path) -> None:
    run_id, out = new_run_id(), tmp_path / "report.json"
    done = behave(FIXTURE, run_id, out)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "go through a fault proxy" not in FIXTURE.joinpath("features", "client_link.feature").read_text()

    http = durations_ms(out, 'I send a GET request to "/status.json"')
    frame = durations_ms(out, "1 frames of kind")
    print(f"HTTP request ms before/during/after: {http}; WebSocket echo ms: {frame}")
    assert len(http) == len(frame) == 3
    assert http[1] >= LATENCY_MS and frame[1] >= LATENCY_MS
    assert http[0] < LATENCY_MS / 2 and http[2] < LATENCY_MS / 2
    assert frame[0] < LATENCY_MS / 2 and frame[2] < LATENCY_MS / 2
    assert harness_containers(run_id) == []
