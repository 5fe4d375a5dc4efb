"""Zero-config environments on the real engine: a plain compose file, no template, no service list."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from harness.env.config import Settings, load_environment, resolve_parameters
from harness.env.images import base_image_from_env
from harness.env.lifecycle import Environment, new_run_id
from tests.conftest import REPO, harness_containers, harness_networks

pytestmark = pytest.mark.docker

IMAGE = base_image_from_env()  # the tag set-up builds: $HARNESS_BASE_IMAGE or the default
# A team's file as written: a fixed host port, a healthcheck, an exposed port, a one-shot.
COMPOSE = f"""services:
  web:
    image: {IMAGE}
    command: ["python3", "-m", "http.server", "8000"]
    init: true  # python as PID 1 ignores SIGTERM: every stop would wait for the timeout
    ports: ["18000:8000"]
    healthcheck:
      test: ["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/')"]
      interval: 1s
      timeout: 2s
      retries: 30
  worker:
    image: {IMAGE}
    command: ["python3", "-m", "http.server", "9000"]
    init: true
    expose: ["9000"]
  migrate:
    image: {IMAGE}
    command: ["true"]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder holding only a docker-compose.yml (and, for the environment-file route, environments/)."""
    folder = tmp_path / "Zero Config"
    folder.mkdir()
    (folder / "docker-compose.yml").write_text(COMPOSE)
    return folder


def harness(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})


def assert_nothing_left(run_id: str) -> None:
    assert harness_containers(run_id) == [] and harness_networks(run_id) == []
    volumes = subprocess.run(["docker", "volume", "ls", "-q", "--filter", f"label=harness.run={run_id}"],
                             capture_output=True, text=True, check=True).stdout.split()
    assert volumes == []


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:
        return int(response.status)


def test_harness_up_compose_then_down(project: Path) -> None:
    up = harness("up", "--compose", "docker-compose.yml", cwd=project)
    run_id = m.group(1) if (m := re.search(r"^run (\S+) ", up.stdout, re.M)) else ""
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert re.search(r"project \S+-zero-config ", up.stdout), "named after the compose file's folder"
        urls = dict(re.findall(r"^  (\w+)\s+(http://\S+)$", up.stdout, re.M))
        assert set(urls) == {"web", "worker"} and re.search(r"^  migrate\s+\(no port\)$", up.stdout, re.M)
        assert get(urls["web"]) == 200 and get(urls["worker"]) == 200
        assert not urls["web"].endswith(":18000"), "a fixed host port is rewritten to an ephemeral one"
        assert len(harness_containers(run_id)) == 3
    finally:
        down = harness("down", run_id, cwd=project) if run_id else None
    assert down is not None and down.returncode == 0, (down.stdout + down.stderr) if down else up.stderr
    assert_nothing_left(run_id)


def test_environment_file_with_only_compose(project: Path) -> None:
    (project / "environments").mkdir()
    (project / "environments" / "plain.yaml").write_text("compose: ../docker-compose.yml\n")
    settings = Settings(root=project)
    spec = load_environment("plain", settings.env_dir)
    env = Environment(spec, {}, settings, run_id=new_run_id())
    with env:
        assert set(env.services) == {"web", "worker", "migrate"}
        assert env.services["web"].port == 8000 and env.services["worker"].port == 9000
        assert get(env.url("web")) == 200 and env.problems() == []
    assert_nothing_left(env.run_id)


def test_a_j2_given_to_compose_is_rendered_as_a_template(project: Path) -> None:
    (project / "stack.yaml.j2").write_text(f"""services:
  web:
    image: {IMAGE}
    init: true
    command: ["python3", "-m", "http.server", "{{{{ web_port }}}}"]
""")
    (project / "environments").mkdir()
    (project / "environments" / "templated.yaml").write_text(
        "compose: ../stack.yaml.j2\nparameters: {web_port: 8123}\nservices:\n  web: {port: 8123, probe: {http: /}}\n")
    settings = Settings(root=project)
    spec = load_environment("templated", settings.env_dir)
    env = Environment(spec, resolve_parameters(spec, {}, environ={}), settings, run_id=new_run_id())
    with env:
        assert get(env.url("web")) == 200
        assert '"8123"' in (env.run_dir / "compose.rendered.yaml").read_text()
    assert_nothing_left(env.run_id)
