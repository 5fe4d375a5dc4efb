"""A plain compose project (no proxy anywhere in it) and a minimal environment handle over it."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import docker
import pytest

from harness.env.images import base_image_from_env

COMPOSE = """
services:
  client:
    image: {image}
    command: ["sleep", "infinity"]
    init: true
    labels: {{harness.test: "{tag}", harness.run: "{tag}"}}
  web:
    image: {image}
    command: ["sh", "-c", "mkdir -p /srv && head -c 102400 /dev/zero > /srv/big
                && cd /srv && exec python3 -m http.server 8000"]
    init: true
    expose: ["8000"]
    labels: {{harness.test: "{tag}", harness.run: "{tag}"}}
    healthcheck:
      test: ["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/')"]
      interval: 1s
      retries: 30
"""

TIMER = """
import statistics, sys, time, urllib.request
url, n, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
times = []
for _ in range(n):
    start = time.monotonic()
    try:
        urllib.request.urlopen(url, timeout=timeout).read()
    except Exception as exc:
        print("ERROR", type(exc).__name__, getattr(exc, "reason", exc))
        sys.exit(0)
    times.append((time.monotonic() - start) * 1000)
print("MS", statistics.median(times))
"""


def docker_or_fail() -> docker.DockerClient:
    """A docker client with the base image present, or a failed test (never a skip)."""
    image = base_image_from_env()
    try:
        client = docker.from_env()
        client.ping()
        client.images.get(image)
    except Exception as exc:  # noqa: BLE001 - any failure here means the Docker test cannot run
        pytest.fail(f"docker or {image} unavailable: {exc}\nHint: `make setup` starts Docker and builds the image")
    return client


@dataclass
class ComposeEnv:
    """What the link-fault binding needs from an environment, over a project run with `docker compose`."""

    docker: Any
    project: str
    compose_file: Path
    tag: str
    name: str = "edge-test"
    services: dict[str, Any] = field(default_factory=lambda: {"client": SimpleNamespace(port=None),
                                                               "web": SimpleNamespace(port=None)})

    def containers(self, service: str) -> list[Any]:
        """The containers of one service of the project."""
        filters = {"label": [f"com.docker.compose.project={self.project}",
                             f"com.docker.compose.service={service}"]}
        return list(self.docker.containers.list(all=True, filters=filters))

    def compose(self, *args: str) -> None:
        """Run a compose command on the project."""
        subprocess.run(["docker", "compose", "-p", self.project, "-f", str(self.compose_file), *args],
                       check=True, capture_output=True, text=True, timeout=120)

    def timed(self, n: int = 7, timeout: float = 5.0, path: str = "/") -> tuple[float | None, str]:
        """Median milliseconds of ``n`` GETs from client to web:8000 (None and the error on failure)."""
        client = self.containers("client")[0]
        result = client.exec_run(["python3", "-c", TIMER, f"http://web:8000{path}", str(n), str(timeout)])
        out = result.output.decode().strip()
        last = out.splitlines()[-1] if out else ""
        return (float(last.split()[1]), last) if last.startswith("MS ") else (None, last)

    def proxies(self) -> list[Any]:
        """Fault proxy containers of this test (by its labels)."""
        return list(self.docker.containers.list(all=True, filters={"label": [
            f"harness.test={self.tag}", "harness.role=faultproxy"]}))

    def nat_rules(self) -> str:
        """The nat table of the client's network namespace."""
        pid = self.containers("client")[0].attrs["State"]["Pid"]
        return subprocess.run(["nsenter", "-t", str(pid), "-n", "iptables", "-w", "-t", "nat", "-S"],
                              check=True, capture_output=True, text=True).stdout


@contextmanager
def compose_env(tmp: Path) -> Iterator[ComposeEnv]:
    """Bring up the plain project; always take it down with --remove-orphans."""
    client = docker_or_fail()
    tag = uuid.uuid4().hex[:10]
    path = tmp / "compose.yaml"
    path.write_text(COMPOSE.format(image=base_image_from_env(), tag=tag))
    assert "proxy" not in path.read_text()
    env = ComposeEnv(client, f"hedge{tag}", path, tag)
    try:
        env.compose("up", "-d", "--wait")
        yield env
    finally:
        env.compose("down", "-v", "--remove-orphans", "-t", "1")
