"""Fault kinds by name: what a sweep cell ("kill db", "latency nginx->api") becomes as a fault object.

    service kinds   kill stop pause restart cpu memory loss disconnected        (one service)
    edge kinds      partition latency reset blackhole                           (A -> B; A may be HOST)

Every kind is made of the fault classes the steps use (process, network, resources, edge +
link toxics); nothing here acts on its own. ``HOST`` is the test machine: its edge to a service
is the bridge gateway's traffic (``HostCut``); the proxy cannot sit on it, so latency and
blackhole there are ``UNSUPPORTED``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from harness.errors import FaultError
from harness.faults import binding
from harness.faults.link import Blackhole, ResetPeer
from harness.faults.network import HostCut, Isolate, OneWayCut, PacketLoss
from harness.faults.process import Kill, Pause, Restart, Stop
from harness.faults.resources import CpuSqueeze, MemoryLimit
from harness.faults.stack import Fault

HOST = "test-machine"

SERVICE_KINDS = ("kill", "stop", "pause", "restart", "cpu", "memory", "loss", "disconnected")
EDGE_KINDS = ("partition", "latency", "reset", "blackhole")
KINDS = SERVICE_KINDS + EDGE_KINDS
UNSUPPORTED = frozenset({("latency", HOST), ("blackhole", HOST)})  # (kind, client side) the proxy cannot reach

# Every parameter a kind reads, with its default; `harness sweep -D kind.param=value` overrides one.
DEFAULTS: Mapping[str, Mapping[str, float]] = MappingProxyType({
    "cpu": {"cpus": 0.05},
    "memory": {"mb": 32.0},
    "loss": {"percent": 30.0},
    "latency": {"ms": 500.0},
    "reset": {"after_ms": 0.0},
})


@dataclass(frozen=True)
class FaultSpec:
    """One fault of a sweep: a kind, its target service (``svc`` or ``svc#2`` for a replica) or edge, parameters."""

    kind: str
    target: str
    peer: str = ""  # edge kinds: the server side; ``target`` is then the client side (or HOST)
    params: Mapping[str, float] = field(default_factory=dict, hash=False)

    @property
    def label(self) -> str:
        """``kill db``, ``latency nginx->api``."""
        return f"{self.kind} {self.target}->{self.peer}" if self.peer else f"{self.kind} {self.target}"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form (the sweep's hook reads it back with ``from_dict``)."""
        return {"kind": self.kind, "target": self.target, "peer": self.peer, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultSpec:
        """The inverse of ``as_dict``; an unknown kind is a FaultError."""
        kind = str(data.get("kind", ""))
        if kind not in KINDS:
            raise FaultError(f"unknown fault kind {kind!r}", hint=f"kinds: {', '.join(KINDS)}")
        params = {str(k): float(v) for k, v in (data.get("params") or {}).items()}
        return cls(kind, str(data.get("target", "")), str(data.get("peer", "")), params)


def params_of(kind: str, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """A kind's parameters: its defaults, then ``overrides`` (an unknown name is a FaultError)."""
    found = dict(DEFAULTS.get(kind, {}))
    for name, value in (overrides or {}).items():
        if name not in found:
            raise FaultError(f"fault kind {kind!r} has no parameter {name!r}",
                             hint=f"its parameters: {', '.join(found) or 'none'}")
        found[name] = value
    return found


def _container(env: Any, ref: str) -> Any:
    """``svc`` -> its first replica; ``svc#N`` -> its Nth."""
    name, _, nth = ref.partition("#")
    found = env.containers(name)
    index = int(nth or 1) - 1
    if not 0 <= index < len(found):
        raise FaultError(f"service {name!r} has {len(found)} replica(s); no replica {index + 1}",
                         hint="`harness sweep --list` shows the targets")
    return found[index]


ServiceBuilder = Callable[[Any, Mapping[str, float]], Fault]
_SERVICE: Mapping[str, ServiceBuilder] = MappingProxyType({
    "kill": lambda c, p: Kill(c),
    "stop": lambda c, p: Stop(c),
    "pause": lambda c, p: Pause(c),
    "restart": lambda c, p: Restart(c),
    "cpu": lambda c, p: CpuSqueeze(c, p["cpus"]),
    "memory": lambda c, p: MemoryLimit(c, int(p["mb"] * 2**20), floor_at_usage=True),
    "loss": lambda c, p: PacketLoss(c, p["percent"]),
    "disconnected": lambda c, p: Isolate(c),
})


def build(env: Any, spec: FaultSpec) -> Fault:
    """The fault object of ``spec`` on a running environment (not injected yet)."""
    params = params_of(spec.kind, spec.params)
    if spec.kind in _SERVICE:
        return _SERVICE[spec.kind](_container(env, spec.target), params)
    if (spec.kind, spec.target) in UNSUPPORTED:
        raise FaultError(f"{spec.label}: the fault proxy cannot sit on the test machine's own edge",
                         hint="sweep partition or reset on that edge; latency and blackhole need two services")
    if spec.target == HOST:
        return HostCut(_container(env, spec.peer), reset=spec.kind == "reset")
    a, b = spec.target.partition("#")[0], spec.peer.partition("#")[0]
    if spec.kind == "partition":
        return OneWayCut(env.containers(a), env.containers(b))
    if spec.kind == "latency":
        return binding.latency(env, a, b, params["ms"])
    if spec.kind == "reset":
        return binding.link(env, a, b, lambda c, r: ResetPeer(c, r, params["after_ms"]), "reset")
    return binding.link(env, a, b, lambda c, r: Blackhole(c, r), "blackhole")
