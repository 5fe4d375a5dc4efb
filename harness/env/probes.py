"""Readiness probes: small objects with one job each, behind one Protocol.

A probe looks at one container (as observed in one poll) and answers ``None`` when ready or
a short text saying what it saw. Real and fake targets satisfy the same ``Observed`` shape.
"""

from __future__ import annotations

import http.client
import re
import socket
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.engine.endpoint import LOOPBACK
from harness.env.spec import ProbeSpec


@dataclass(frozen=True)
class Observed:
    """One container as seen in one poll of the engine."""

    service: str
    name: str
    id: str
    state: str  # created | running | restarting | exited | paused | dead
    health: str = ""  # healthy | unhealthy | starting | "" (no healthcheck)
    exit_code: int | None = None
    ports: dict[int, int] = field(default_factory=dict)  # container port -> host port on ``host``
    host: str = LOOPBACK  # where published ports answer: the engine's host (engine.endpoint), loopback when local

    @classmethod
    def from_summary(cls, summary: dict[str, Any], host: str = LOOPBACK) -> Observed:
        """Build from one entry of the engine's container list (`GET /containers/json`)."""
        status = summary.get("Status", "")
        health = re.search(r"\((healthy|unhealthy|health: starting)\)", status)
        code = re.search(r"Exited \((-?\d+)\)", status)
        ports = {int(p["PrivatePort"]): int(p["PublicPort"]) for p in summary.get("Ports") or []
                 if p.get("PublicPort") and p.get("IP", "") in ("127.0.0.1", "0.0.0.0", "")}
        labels = summary.get("Labels") or {}
        return cls(service=labels.get("com.docker.compose.service", ""),
                   name=(summary.get("Names") or ["?"])[0].lstrip("/"), id=summary["Id"],
                   state=summary.get("State", ""),
                   health=health.group(1).replace("health: ", "") if health else "",
                   exit_code=int(code.group(1)) if code else None, ports=ports, host=host)


class Probe(Protocol):
    """Answers None when the observed container is ready, else what was seen."""

    def __call__(self, target: Observed) -> str | None: ...


@dataclass(frozen=True)
class HttpOk:
    """Ready when GET ``path`` on the published port answers ``status``."""

    port: int
    path: str = "/"
    status: int = 200
    timeout: float = 2.0
    body: str = ""  # a regular expression the body must match

    def __call__(self, target: Observed) -> str | None:
        host_port = target.ports.get(self.port)
        if host_port is None:
            return f"port {self.port} is not published yet"
        conn = http.client.HTTPConnection(target.host, host_port, timeout=self.timeout)
        try:
            conn.request("GET", self.path)
            response = conn.getresponse()
            body = response.read(4096).decode(errors="replace")
        except (OSError, http.client.HTTPException) as exc:
            return f"GET {self.path}: {type(exc).__name__}: {exc}"
        finally:
            conn.close()
        if response.status != self.status:
            return f"GET {self.path} answered {response.status} (want {self.status}): {body.strip()[:200]}"
        if self.body and not re.search(self.body, body):
            return f"GET {self.path} body does not match /{self.body}/ yet: {body.strip()[:200]}"
        return None


@dataclass(frozen=True)
class PortOpen:
    """Ready when a TCP connection to the published port is accepted and held open.

    Docker's userland proxy accepts a connection even when nothing listens inside the container
    and then closes it at once, so "connect succeeded" is not enough: the connection must stay
    open (or the server must speak first) for ``hold`` seconds.
    """

    port: int
    hold: float = 0.05
    timeout: float = 2.0

    def __call__(self, target: Observed) -> str | None:
        host_port = target.ports.get(self.port)
        if host_port is None:
            return f"port {self.port} is not published yet"
        try:
            with socket.create_connection((target.host, host_port), timeout=self.timeout) as sock:
                sock.settimeout(self.hold)
                try:
                    first = sock.recv(1)
                except TimeoutError:
                    return None  # held open: something listens and waits for us to speak
                except ConnectionResetError:
                    return f"port {self.port}: connection reset"
                return None if first else f"port {self.port}: connection closed at once (nothing listens)"
        except OSError as exc:
            return f"port {self.port}: {exc}"


@dataclass(frozen=True)
class Healthcheck:
    """Ready when the container's own healthcheck reports healthy."""

    def __call__(self, target: Observed) -> str | None:
        if target.health == "healthy":
            return None
        return f"healthcheck: {target.health or 'none defined'}"


@dataclass(frozen=True)
class Running:
    """Ready when the container runs."""

    def __call__(self, target: Observed) -> str | None:
        return None if target.state == "running" else f"state {target.state}"


def make_probe(spec: ProbeSpec, port: int | None, timeout: float) -> Probe:
    """The probe object for a service's probe spec."""
    if spec.kind == "http" and port is not None:
        return HttpOk(port=port, path=spec.path, status=spec.status, timeout=timeout, body=spec.body)
    if spec.kind == "tcp" and port is not None:
        return PortOpen(port=port, timeout=timeout)
    if spec.kind == "healthcheck":
        return Healthcheck()
    return Running()
