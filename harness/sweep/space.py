"""The fault space of an environment: every (fault kind, target) a sweep can run, with its parameters.

Per service: ``SERVICE_KINDS``; per edge A -> B, where B has a port, and the test machine's own edges
to every service with a published port: ``EDGE_KINDS`` (but the (kind, test machine) pairs the
fault proxy cannot reach). Replicas of a service count as one target, its first replica, unless
``each_replica``: then ``svc#2``... are targets too.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from harness.errors import ConfigError
from harness.faults.kinds import EDGE_KINDS, HOST, KINDS, SERVICE_KINDS, UNSUPPORTED, FaultSpec, params_of


@dataclass(frozen=True)
class Topology:
    """What a fault space is made from: the services (with replica counts), which have a port, which are published."""

    replicas: Mapping[str, int]
    servers: frozenset[str] = frozenset()
    published: frozenset[str] = frozenset()
    overrides: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


def parse_kinds(text: str) -> list[str]:
    """``kill,pause,latency`` -> kinds; empty means all; an unknown kind is a ConfigError."""
    kinds = [k.strip() for k in text.split(",") if k.strip()] or list(KINDS)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ConfigError(f"unknown fault kind(s): {', '.join(unknown)}", key="--faults",
                          hint=f"kinds: {', '.join(KINDS)}")
    return kinds


def parse_overrides(assignments: Iterable[str]) -> dict[str, dict[str, float]]:
    """``latency.ms=200`` -> {"latency": {"ms": 200.0}}; checked against the kinds' parameters."""
    found: dict[str, dict[str, float]] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        kind, dot, name = key.partition(".")
        if not sep or not dot:
            raise ConfigError(f"not KIND.PARAM=VALUE: {item!r}", key="-P", hint="e.g. -P latency.ms=200")
        try:
            found.setdefault(kind, {})[name] = float(value)
        except ValueError as exc:
            raise ConfigError(f"{item!r}: {value!r} is not a number", key="-P", hint="e.g. -P loss.percent=50") \
                from exc
    for kind, params in found.items():
        if kind not in KINDS:
            raise ConfigError(f"unknown fault kind {kind!r} in -P", key="-P", hint=f"kinds: {', '.join(KINDS)}")
        try:
            params_of(kind, params)
        except Exception as exc:
            raise ConfigError(str(exc), key="-P", hint="`harness sweep --list` shows every parameter") from exc
    return found


def _targets(topology: Topology, each_replica: bool) -> list[str]:
    found = []
    for service in sorted(topology.replicas):
        found.append(service)
        if each_replica:
            found += [f"{service}#{n}" for n in range(2, topology.replicas[service] + 1)]
    return found


def _matches(label: str, globs: Sequence[str]) -> bool:
    """A target (or either end of an edge) matches one of the globs; no globs match everything."""
    if not globs:
        return True
    parts = [label, *label.split("->")]
    return any(fnmatch.fnmatchcase(part.partition("#")[0], g) or fnmatch.fnmatchcase(part, g)
               for part in parts for g in globs)


def fault_space(topology: Topology, kinds: Sequence[str] = KINDS, globs: Sequence[str] = (), *,
                each_replica: bool = False) -> list[FaultSpec]:
    """Every cell's fault, services first, in a stable order."""
    cells: list[FaultSpec] = []
    targets = _targets(topology, each_replica)
    for kind in (k for k in SERVICE_KINDS if k in kinds):
        params = params_of(kind, topology.overrides.get(kind))
        cells += [FaultSpec(kind, t, "", params) for t in targets if _matches(t, globs)]
    services = sorted(topology.replicas)
    edges = [(HOST, b) for b in services if b in topology.published]
    edges += [(a, b) for a in services for b in services if a != b and b in topology.servers]
    for kind in (k for k in EDGE_KINDS if k in kinds):
        params = params_of(kind, topology.overrides.get(kind))
        cells += [FaultSpec(kind, a, b, params) for a, b in edges
                  if (kind, a) not in UNSUPPORTED and _matches(f"{a}->{b}", globs)]
    return cells


def describe(cells: Sequence[FaultSpec]) -> list[str]:
    """One line per cell for ``--list``: kind, target, parameters."""
    def params(cell: FaultSpec) -> str:
        return " ".join(f"{k}={v:g}" for k, v in cell.params.items())
    return [f"{cell.kind:<13} {(cell.target + ('->' + cell.peer if cell.peer else '')):<36} {params(cell)}".rstrip()
            for cell in cells]
