"""Binds fault objects to a running environment: service names and globs to containers,
"between A and B" to hops through the on-demand fault proxy, and the scenario's FaultStack.

Steps call these functions; each injects through ``session.faults`` so the undo is registered
before the fault acts and runs at scenario end.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any, TypeVar

from harness.env.lifecycle import Environment
from harness.errors import FaultError
from harness.faults.edge import EdgeFault, Hop, ToxicFactory
from harness.faults.link import Latency
from harness.faults.network import Isolate, OneWayCut, PacketLoss, Partition, Refuse
from harness.faults.ports import directions
from harness.faults.process import Churn
from harness.faults.stack import Fault, FaultStack

NETWORK_FAULTS = (Partition, OneWayCut, Refuse, PacketLoss, Isolate)
A = TypeVar("A")


def service_names(env: Environment, refs: str) -> list[str]:
    """Service names from ``"queen"``, ``"hive-1, hive-2"`` or globs like ``"worker-*"``."""
    names: list[str] = []
    for ref in (part.strip() for part in re.split(r",|\band\b", refs) if part.strip()):
        matched = sorted(n for n in env.services if fnmatch.fnmatchcase(n, ref))
        if not matched:
            raise FaultError(f"no service of environment {env.name!r} matches {ref!r}",
                             hint=f"services: {', '.join(sorted(env.services))}")
        names += [n for n in matched if n not in names]
    return names


def containers(env: Environment, refs: str) -> list[Any]:
    """Every container of the services named by ``refs``."""
    return [c for name in service_names(env, refs) for c in env.containers(name)]


def one_container(env: Environment, ref: str) -> Any:
    """The single container named by ``ref``; a FaultError when it names more or none."""
    found = containers(env, ref)
    if len(found) != 1:
        raise FaultError(f"{ref!r} names {len(found)} containers; this fault takes exactly one",
                         hint="name one service (a glob matching one service also works)")
    return found[0]


def hops(env: Environment, a: str, b: str, port: int | None = None) -> list[Hop]:
    """Every (client container, server container, port) that "between A and B" covers (see ports.directions)."""
    found = directions(env, service_names(env, a), service_names(env, b), port)
    return [Hop(client, server, d.port) for d in found
            for client in env.containers(d.client) for server in env.containers(d.server)]


def link(env: Environment, a: str, b: str, toxic: ToxicFactory, what: str, port: int | None = None) -> EdgeFault:
    """A link fault (one toxic) on every hop between ``a`` and ``b``, through the on-demand proxy."""
    return EdgeFault(hops(env, a, b, port), toxic, what)


def inject(stack: FaultStack, fault: Fault, env: Environment) -> Fault:
    """Inject through the stack (undo registered first); re-read ports afterwards."""
    stack.inject(fault)
    env.refresh()
    return fault


def heal_network(stack: FaultStack, env: Environment) -> int:
    """Revert every active network fault, newest first; return how many."""
    network = [f for f in reversed(stack.active) if isinstance(f, NETWORK_FAULTS)]
    if not network:
        raise FaultError("there is no network fault to heal", hint="partition or cut something first")
    for fault in network:
        stack.revert(fault)
    env.refresh()
    return len(network)


def latency(env: Environment, a: str, b: str, ms: float, jitter: float = 0.0,
            port: int | None = None) -> EdgeFault:
    """Latency on the edge between ``a`` and ``b``: every answer is delayed by ``ms`` ± ``jitter``."""
    what = f"{ms:g} ms latency" + (f" ± {jitter:g} ms" if jitter else "")
    return link(env, a, b, lambda client, route: Latency(client, route, ms, jitter), what, port)


def active_churn(stack: FaultStack) -> Churn:
    """The churn started in this scenario."""
    return active(stack, Churn, "start one with '... churn every N seconds'")


def active(stack: FaultStack, kind: type[A], hint: str, target: str | None = None) -> A:
    """The newest active fault of ``kind`` (on container ``target``, if given)."""
    for fault in reversed(stack.active):
        if isinstance(fault, kind) and (target is None or fault.target == target):
            return fault
    raise FaultError(f"no active {kind.__name__} fault{f' on {target}' if target else ''} in this scenario",
                     hint=hint)

