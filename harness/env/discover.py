"""Defaults for a plain compose file's services: what a zero-config environment knows of them.

A service the environment file does not list gets its probe and port from the compose file:

- a ``healthcheck:`` (not ``disable: true``, not ``test: ["NONE"]``) → a healthcheck probe;
- else a published (``ports:``, short or long syntax) or ``expose:``d TCP port → a TCP probe;
- the service's ``port`` is its first such container port in either case (a range gives its first);
- nothing of these → no entry: the service counts as ready once running (a one-shot exit 0 is fine).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from harness.env.spec import EnvironmentSpec, ProbeSpec, ServiceSpec
from harness.errors import ConfigError

__all__ = ["compose_environment", "compose_services", "container_ports", "default_service_spec",
           "default_service_specs", "slug"]

_PORT = re.compile(r"^(?P<first>\d+)(?:-\d+)?$")


def default_service_spec(name: str, service: Mapping[str, Any]) -> ServiceSpec | None:
    """The harness's defaults for compose service ``name``, or None when it has no healthcheck nor port."""
    ports = container_ports(service)
    port = ports[0] if ports else None
    if _has_healthcheck(service):
        return ServiceSpec(pattern=name, port=port, probe=ProbeSpec(kind="healthcheck"))
    if port is not None:
        return ServiceSpec(pattern=name, port=port, probe=ProbeSpec(kind="tcp"))
    return None


def default_service_specs(services: Mapping[str, Any]) -> tuple[ServiceSpec, ...]:
    """Defaults for every service of a compose file's ``services:`` mapping that has any."""
    found = (default_service_spec(str(name), svc if isinstance(svc, Mapping) else {})
             for name, svc in services.items())
    return tuple(spec for spec in found if spec is not None)


def compose_environment(path: Path) -> EnvironmentSpec:
    """An environment made of a compose file alone (`harness up --compose FILE`): named after its folder."""
    file = Path(os.path.normpath(path.absolute()))
    services = compose_services(file, key="--compose")
    return EnvironmentSpec(name=slug(file.parent.name), file=file, description=f"compose project {file}",
                           template="", parameters={}, services=default_service_specs(services), compose_file=file)


def slug(name: str) -> str:
    """``name`` as an environment name: lower case letters, digits and dashes ("compose" if none)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "compose"


def compose_services(path: Path, *, referrer: str = "", key: str = "compose") -> dict[str, Any]:
    """The ``services:`` mapping of the compose file at ``path`` (errors name ``referrer`` and ``key``)."""
    where = referrer or str(path)
    if not path.is_file():
        hint = ("a relative path is read from the environment file's folder" if referrer
                else "a relative path is read from the current folder")
        raise ConfigError(f"compose file not found: {path}", file=where, key=key, hint=hint)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"compose file {path} is not valid YAML: {exc}", file=where, key=key) from exc
    services = raw.get("services") if isinstance(raw, dict) else None
    if not isinstance(services, dict) or not services:
        raise ConfigError(f"compose file {path} has no `services:` mapping", file=where, key=key,
                          hint="point `compose:` at a Compose v2 file with a top-level `services:`")
    return services


def container_ports(service: Mapping[str, Any]) -> list[int]:
    """The service's TCP container ports: those of ``ports:`` first, then those of ``expose:``."""
    found = [p for entry in _as_list(service.get("ports")) if (p := _published(entry)) is not None]
    found += [p for entry in _as_list(service.get("expose")) if (p := _exposed(entry)) is not None]
    return list(dict.fromkeys(found))


def _has_healthcheck(service: Mapping[str, Any]) -> bool:
    check = service.get("healthcheck")
    if not isinstance(check, Mapping) or check.get("disable") is True:
        return False
    test = check.get("test")
    first = test[0] if isinstance(test, list) and test else test
    return not (isinstance(first, str) and first.strip().upper() == "NONE")


def _published(entry: Any) -> int | None:
    """The container port of one ``ports:`` entry: 80, "8080:80", "127.0.0.1:8080:80/tcp", long syntax."""
    if isinstance(entry, Mapping):
        if str(entry.get("protocol", "tcp")).lower() != "tcp":
            return None
        return _first_port(str(entry.get("target", "")))
    text, _, protocol = str(entry).partition("/")
    if protocol and protocol.lower() != "tcp":
        return None
    return _first_port(text.rsplit(":", 1)[-1])  # the container part is always last ("[::1]:80:80" too)


def _exposed(entry: Any) -> int | None:
    """The port of one ``expose:`` entry: 3000, "3000", "8000-8010", "9000/tcp"."""
    text, _, protocol = str(entry).partition("/")
    if protocol and protocol.lower() != "tcp":
        return None
    return _first_port(text)


def _first_port(text: str) -> int | None:
    match = _PORT.match(text.strip())
    return int(match.group("first")) if match else None


def _as_list(value: Any) -> Iterable[Any]:
    return value if isinstance(value, list) else []
