"""What an environment file declares, as frozen dataclasses: parameters, services, probes, timeouts.

Both the loader (harness.env.config) and the compose-file discovery (harness.env.discover) build these.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TIMEOUT_DEFAULTS: dict[str, float] = {
    "ready": 60.0, "probe_interval": 0.5, "probe_timeout": 2.0, "down": 30.0, "compose": 120.0, "settle": 10.0,
    "recheck": 0.5, "log_tail": 50,
}


@dataclass(frozen=True)
class Parameter:
    """A template parameter with its default."""

    name: str
    default: Any
    description: str = ""
    secret: bool = False


@dataclass(frozen=True)
class ProbeSpec:
    """How to tell that a service is ready: an HTTP path, a TCP connect, or its healthcheck."""

    kind: str  # "http" | "tcp" | "healthcheck" | "running"
    path: str = "/"
    status: int = 200
    body: str = ""  # a regular expression the HTTP body must match


@dataclass(frozen=True)
class ServiceSpec:
    """What the harness knows of a service (or of every service matching a glob pattern)."""

    pattern: str
    port: int | None
    probe: ProbeSpec


@dataclass(frozen=True)
class Timeouts:
    """Timeouts and intervals, in seconds (log_tail in lines)."""

    ready: float = TIMEOUT_DEFAULTS["ready"]
    probe_interval: float = TIMEOUT_DEFAULTS["probe_interval"]
    probe_timeout: float = TIMEOUT_DEFAULTS["probe_timeout"]
    down: float = TIMEOUT_DEFAULTS["down"]
    compose: float = TIMEOUT_DEFAULTS["compose"]
    settle: float = TIMEOUT_DEFAULTS["settle"]  # grace for a reused environment to pass its probes again
    # after a scenario that passed with no fault, a probe passed less than this long ago (same container,
    # same ports) is not repeated before the next scenario; 0: probe before every scenario
    recheck: float = TIMEOUT_DEFAULTS["recheck"]
    log_tail: int = int(TIMEOUT_DEFAULTS["log_tail"])


@dataclass(frozen=True)
class EnvironmentSpec:
    """A named environment: a template, its parameters, the services and timeouts."""

    name: str
    file: Path
    description: str
    template: str
    parameters: Mapping[str, Parameter]
    services: tuple[ServiceSpec, ...]
    timeouts: Timeouts = field(default_factory=Timeouts)
    # A plain compose file (absolute path; not a template): set by `compose:` in the environment
    # file or `harness up --compose FILE`. Then ``template`` is "" and the file is used as written.
    # (`compose:` naming a .j2 sets ``template`` to that file's absolute path instead.)
    compose_file: Path | None = None

    def service_spec(self, service: str) -> ServiceSpec | None:
        """The first service entry whose name or glob pattern matches ``service``."""
        return next((s for s in self.services if fnmatch.fnmatchcase(service, s.pattern)), None)

    def secret_names(self) -> frozenset[str]:
        """Names of the parameters marked secret."""
        return frozenset(p.name for p in self.parameters.values() if p.secret)
