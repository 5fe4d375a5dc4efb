"""Shared by the fault tests: the Trio of echo containers and the probe run inside them."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.models.containers import Container

from harness.env.images import base_image_from_env
from harness.faults import CHAIN, default_runner
from harness.faults.resources import cpu_quota, memory_limit

BASE_IMAGE = base_image_from_env()  # the tag set-up builds: $HARNESS_BASE_IMAGE or the default
FAULTS_DIR = Path(__file__).resolve().parents[2] / "harness" / "faults"

ECHO_SERVER = """
import socketserver
class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(65536):
            self.request.sendall(data)
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("0.0.0.0", 7000), Echo).serve_forever()
"""

PROBE = """
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
    s.sendall(b"ping")
    print("ok" if s.recv(16) == b"ping" else "garbled")
except Exception as exc:
    print(type(exc).__name__)
"""


@dataclass
class Trio:
    """Three running echo containers on one network, plus what is needed to talk to them."""

    client: docker.DockerClient
    network: str
    label: str
    a: Container
    b: Container
    c: Container

    def ip(self, container: Container) -> str:
        container.reload()
        return str(container.attrs["NetworkSettings"]["Networks"][self.network]["IPAddress"])

    def probe(self, source: Container, destination: Container | str, port: int = 7000,
              timeout: float = 1.0) -> str:
        """Connect from ``source`` to ``destination`` (container or host name); 'ok' or the error class."""
        host = destination if isinstance(destination, str) else self.ip(destination)
        result = source.exec_run(["python3", "-c", PROBE, host, str(port), str(timeout)])
        return result.output.decode().strip().splitlines()[-1]


MESH = """
import socket, sys
for host in sys.argv[1:]:
    try:
        s = socket.create_connection((host, 7000), timeout=2.0)
        s.sendall(b"ping")
        print(host, "ok" if s.recv(16) == b"ping" else "garbled")
    except Exception as exc:
        print(host, type(exc).__name__)
"""


def trio_problems(trio: Trio) -> list[str]:
    """What a test left in the trio that the next one must not see (empty: clean, as if just made).

    Every container running and not paused, no resource limit, no fault chain in its netns, every
    container reaching the other two by alias, and the host reaching a's published port.
    """
    found: list[str] = []
    trio_members = {"a": trio.a, "b": trio.b, "c": trio.c}
    for alias, container in trio_members.items():
        container.reload()
        state = container.attrs["State"]
        if not state["Running"] or state["Paused"]:
            found.append(f"{alias} is {container.status}")
        elif CHAIN in default_runner().run(container, "iptables -w -S"):
            found.append(f"{alias} still has the {CHAIN} chain")
        if memory_limit(container) is not None or cpu_quota(container) is not None:
            found.append(f"{alias} has a resource limit")
    if found:
        return found

    def mesh(alias: str) -> list[str]:
        others = [other for other in trio_members if other != alias]
        result = trio_members[alias].exec_run(["python3", "-c", MESH, *others])
        lines = result.output.decode().strip().splitlines()
        answers = dict(line.split(" ", 1) for line in lines if " " in line)
        return [f"{alias} -> {other}: {answers.get(other, 'no answer')}" for other in others
                if answers.get(other) != "ok"]

    with ThreadPoolExecutor(max_workers=3) as pool:
        for problems in pool.map(mesh, trio_members):
            found += problems
    port = int(trio.a.ports["7000/tcp"][0]["HostPort"]) if trio.a.ports.get("7000/tcp") else 0
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"host")
            if sock.recv(16) != b"host":
                found.append("host -> a: garbled")
    except OSError as exc:
        found.append(f"host -> a's published port {port}: {type(exc).__name__}")
    return found
