"""Shared by the fault tests: the Trio of echo containers and the probe run inside them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import docker
from docker.models.containers import Container

from harness.env.images import base_image_from_env

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
