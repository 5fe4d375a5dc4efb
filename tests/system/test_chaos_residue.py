"""No fault outlives its scenario: run a chaos fixture feature through behave and look inside.

The fixture (tests/fixtures/chaos) injects a partition, a one-way cut, packet loss, latency and a
bandwidth limit (through the on-demand fault proxy, no wiring), a memory limit, a CPU quota, a
SQLite lock and a pause on the ``chaos`` environment, then waits at a rendezvous so this test can
see every fault in place; the next scenario waits again on the same environment, where nothing
of them may be left. After behave exits, nothing of the run may be left at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.models.containers import Container

from harness.env.lifecycle import new_run_id
from harness.faults import CHAIN
from harness.faults.edge import LINK_CHAIN
from harness.faults.resources import cpu_quota, memory_limit
from tests.conftest import default_sigint, harness_containers, harness_networks

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "chaos"
RUN_TIMEOUT = 420.0


def _wait_for(path: Path, proc: subprocess.Popen[bytes], timeout: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"behave exited ({proc.returncode}) before writing {path.name}"
        assert time.monotonic() < deadline, f"no {path.name} within {timeout:g} s"
        time.sleep(0.2)
    time.sleep(0.1)  # the step writes the file in one call; let it land
    result: dict[str, Any] = json.loads(path.read_text())
    return result


def _containers(client: docker.DockerClient, project: str) -> dict[str, Container]:
    found = client.containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"})
    return {c.labels["com.docker.compose.service"]: c for c in found}


def _iptables(container: Container, table: str = "filter") -> str:
    pid = str(container.attrs["State"]["Pid"])
    return subprocess.run(["nsenter", "-t", pid, "-n", "iptables", "-w", "-t", table, "-S"], capture_output=True,
                          text=True, check=True).stdout


def _proxies(client: docker.DockerClient, project: str) -> list[Container]:
    """The project's on-demand fault proxy containers."""
    return client.containers.list(all=True, filters={"label": [f"com.docker.compose.project={project}",
                                                               "harness.role=faultproxy"]})


def _toxics(client: docker.DockerClient, project: str) -> list[str]:
    """The type of every toxic on the project's fault proxy, sorted."""
    found: list[str] = []
    for proxy in _proxies(client, project):
        port = proxy.attrs["NetworkSettings"]["Ports"]["8474/tcp"][0]["HostPort"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/proxies", timeout=5) as response:
            proxies: dict[str, dict[str, Any]] = json.loads(response.read())
        found += [t["type"] for p in proxies.values() for t in p.get("toxics", [])]
    return sorted(found)


def _lock_holders(container: Container) -> list[str]:
    if not container.attrs["State"]["Running"] or container.attrs["State"]["Paused"]:
        return []
    processes = container.top(ps_args="-eo pid,args")["Processes"] or []
    return [" ".join(p) for p in processes if "BEGIN EXCLUSIVE" in " ".join(p)]


def _snapshot(client: docker.DockerClient, info: dict[str, Any]) -> dict[str, Any]:
    containers = {s: c for s, c in _containers(client, info["project"]).items() if s != "harness-faultproxy"}
    for container in containers.values():
        container.reload()
    return {
        "running": {s: c.attrs["State"]["Running"] for s, c in containers.items()},
        "paused": sorted(s for s, c in containers.items() if c.attrs["State"]["Paused"]),
        "chains": sorted(s for s, c in containers.items() if CHAIN in _iptables(c)),
        "links": sorted(s for s, c in containers.items() if LINK_CHAIN in _iptables(c, "nat")),
        "toxics": _toxics(client, info["project"]),
        "proxies": len(_proxies(client, info["project"])),
        "memory": {s: memory_limit(c) for s, c in containers.items() if memory_limit(c) is not None},
        "cpu": {s: cpu_quota(c) for s, c in containers.items() if cpu_quota(c) is not None},
        "locks": {s: _lock_holders(c) for s, c in containers.items() if _lock_holders(c)},
        "helpers": _helpers(client, containers.values()),
    }


def _helpers(client: docker.DockerClient, containers: Iterable[Container]) -> list[str]:
    """Netns helper containers in the namespace of one of ``containers`` (the engine is shared: only ours)."""
    ours = {f"container:{c.id}" for c in containers}
    helpers = client.containers.list(all=True, filters={"label": "harness.role=netns-helper"}, ignore_removed=True)
    return [h.name for h in helpers if h.attrs["HostConfig"].get("NetworkMode") in ours]


@pytest.fixture
def behave_run(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path, str]]:
    """The fixture feature running in behave (its rendezvous files in tmp_path); killed if left."""
    run_id = new_run_id()
    log = (tmp_path / "behave.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "behave", str(FIXTURE / "features"), "-D", f"residue_dir={tmp_path}",
         "-D", f"run_id={run_id}", "--no-capture", "-f", "plain"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, preexec_fn=default_sigint,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"})
    try:
        yield proc, tmp_path, run_id
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(60)
        log.close()


def test_no_fault_survives_a_chaos_scenario(behave_run: tuple[subprocess.Popen[bytes], Path, str]) -> None:
    proc, folder, run_id = behave_run
    client = docker.from_env()

    during_info = _wait_for(folder / "during.json", proc)
    during = _snapshot(client, during_info)
    (folder / "during.done").touch()
    # The checks below must be able to fail: every fault is visible while it is active.
    assert during["paused"] == ["hive-2"], during
    assert {"queen", "hive-1", "hive-2", "worker-1-2"} <= set(during["chains"]), during
    # Both sides have a port, so each link fault acts both ways: two hops, two toxics each.
    assert during["toxics"] == ["bandwidth", "bandwidth", "latency", "latency"], during
    assert during["links"] == ["hive-1", "hive-2", "queen", "worker-1-1"] and during["proxies"] == 1, during
    assert during["memory"] == {"worker-1-1": 200 * 2**20}, during
    assert during["cpu"] == {"worker-2-2": 0.5}, during
    assert list(during["locks"]) == ["hive-1"], during

    after_info = _wait_for(folder / "after.json", proc)
    after = _snapshot(client, after_info)
    (folder / "after.done").touch()
    assert after_info["project"] == during_info["project"], "the environment was replaced, not healed"
    assert all(after["running"].values()), after
    assert after == {**after, "paused": [], "chains": [], "links": [], "toxics": [], "proxies": 0, "memory": {},
                     "cpu": {}, "locks": {}, "helpers": []}

    assert proc.wait(RUN_TIMEOUT) == 0, (folder / "behave.log").read_text()[-4000:]
    assert harness_containers(run_id) == [] and harness_networks(run_id) == []
    volumes = subprocess.run(["docker", "volume", "ls", "-q", "--filter", f"label=harness.run={run_id}"],
                             capture_output=True, text=True, check=True).stdout.split()
    assert volumes == []
