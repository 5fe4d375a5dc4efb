"""Which TCP port of a service a link fault acts on, and which way round an edge runs.

A service's port is, in this order: the one named in the step ("B:8000", "on port 8000"), the
``port:`` declared for it in the environment file, the ``expose:``/``ports:`` targets in the
compose file, or the ports its container exposes. More than one candidate is an error that
says how to name one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from harness.errors import FaultError

logger = logging.getLogger(__name__)


class PortSource(Protocol):
    """What port discovery reads from a running environment (``harness.env.lifecycle.Environment`` fits).

    A ``compose_file`` attribute (the run's decorated compose file), when present, is read too.
    """

    @property
    def services(self) -> Mapping[str, Any]:
        """Service name -> object with a ``port`` (int or None) declared in the environment file."""
        ...

    def containers(self, service: str) -> list[Any]:
        """The docker SDK containers of a service."""
        ...


@dataclass(frozen=True)
class Direction:
    """Connections that ``client`` services open to ``port`` of ``server``."""

    client: str
    server: str
    port: int


def compose_ports(doc: Mapping[str, Any], service: str) -> list[int]:
    """The container ports a compose service exposes or publishes (``expose:`` and ``ports:`` targets)."""
    entry = (doc.get("services") or {}).get(service) or {}
    found: set[int] = set()
    for item in entry.get("expose") or []:
        found.update(_port_range(str(item)))
    for item in entry.get("ports") or []:
        target = item.get("target") if isinstance(item, Mapping) else str(item).rpartition(":")[2]
        found.update(_port_range(str(target)))
    return sorted(found)


def _port_range(text: str) -> list[int]:
    spec, _, protocol = text.strip().partition("/")
    if protocol and protocol != "tcp":
        return []
    low, _, high = spec.partition("-")
    try:
        return list(range(int(low), int(high or low) + 1))
    except ValueError:
        return []


def exposed_ports(container: Any) -> list[int]:
    """TCP ports in a container's ``Config.ExposedPorts`` ("8000" or "8000/tcp")."""
    exposed = (container.attrs.get("Config") or {}).get("ExposedPorts") or {}
    return sorted({p for key in exposed for p in _port_range(str(key))})


def candidate_ports(env: PortSource, service: str) -> list[int]:
    """Every port ``service`` might serve on, from the most explicit source that names any."""
    declared = getattr(env.services.get(service), "port", None)
    if declared:
        return [int(declared)]
    from_file = compose_ports(_compose_doc(env), service)
    if from_file:
        return from_file
    found: set[int] = set()
    for container in env.containers(service):
        found.update(exposed_ports(container))
    return sorted(found)


def _compose_doc(env: PortSource) -> Mapping[str, Any]:
    path = getattr(env, "compose_file", None)
    try:
        doc = yaml.safe_load(Path(path).read_text()) if path else None
    except (OSError, yaml.YAMLError) as exc:
        logger.warning("cannot read %s for ports: %s", path, exc)
        return {}
    return doc if isinstance(doc, Mapping) else {}


def service_port(env: PortSource, service: str) -> int | None:
    """The one port of ``service``; None when it has none; a FaultError when it has several."""
    ports = candidate_ports(env, service)
    if len(ports) > 1:
        listed = ", ".join(map(str, ports))
        raise FaultError(
            f"service {service!r} has several ports ({listed}); a link fault needs one",
            hint=f"name it in the step, e.g. `... between <client> and {service}:{ports[0]}` or "
                 f"`... between <client> and {service} on port {ports[0]}`, or declare `port:` for {service} "
                 "in the environment file")
    return ports[0] if ports else None


def directions(env: PortSource, clients: Sequence[str], servers: Sequence[str],
               port: int | None = None) -> list[Direction]:
    """The connections "between A and B" covers.

    A named port: A's connections to that port of B. Otherwise A's connections to B's port, and
    also B's connections to A's port when A has one (both ways when both have a port).
    """
    if port is not None:
        return [Direction(a, b, port) for a in clients for b in servers]
    forward = [Direction(a, b, p) for b in servers if (p := service_port(env, b)) for a in clients]
    backward = [Direction(b, a, p) for a in clients if (p := _client_port(env, a, bool(forward)))
                for b in servers]
    if not forward and not backward:
        names = ", ".join([*clients, *servers])
        raise FaultError(f"none of {names} has a TCP port, so there is no connection to slow down",
                         hint="declare `port:` for the server in the environment file, `expose:` it in "
                              "the compose file, or name it in the step (`... between A and B on port N`)")
    return forward + backward


def _client_port(env: PortSource, service: str, optional: bool) -> int | None:
    """A's own port, for B's connections to A; ambiguity only matters when it is the only way."""
    try:
        return service_port(env, service)
    except FaultError:
        if not optional:
            raise
        logger.info("link fault: %s has several ports; only connections to the other side are affected",
                    service)
        return None
