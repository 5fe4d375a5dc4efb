"""Binds fault objects to a running environment: service names and globs to containers,
"between A and B" to the fault proxy's edge, and the scenario's FaultStack.

Steps call these functions; each injects through ``session.faults`` so the undo is registered
before the fault acts and runs at scenario end.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any, TypeVar

from harness.errors import FaultError
from harness.faults.link import Latency, ToxicFault
from harness.faults.network import Isolate, OneWayCut, PacketLoss, Partition, Refuse
from harness.faults.process import Churn
from harness.faults.proxy_client import ProxyClient
from harness.faults.stack import Fault, FaultStack
from harness.lifecycle import Environment

NETWORK_FAULTS = (Partition, OneWayCut, Refuse, PacketLoss, Isolate)
PROXY_SERVICE = "faultproxy"
PROXY_CONTROL_PORT = 8474
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


def proxy_edge(env: Environment, a: str, b: str) -> tuple[ProxyClient, str]:
    """The fault proxy client and the proxy named "<a>-<b>" (or "<b>-<a>")."""
    if PROXY_SERVICE not in env.services:
        raise FaultError(f"environment {env.name!r} has no {PROXY_SERVICE!r} service",
                         hint="use an environment with the fault proxy on its edges (e.g. `chaos`, "
                              "or -D fault_proxy=true)")
    client = ProxyClient(env.url(PROXY_SERVICE, PROXY_CONTROL_PORT))
    names = list(client.proxies())
    for candidate in (f"{a}-{b}", f"{b}-{a}"):
        if candidate in names:
            return client, candidate
    raise FaultError(f"the fault proxy has no edge between {a!r} and {b!r}",
                     hint=f"proxied edges: {', '.join(sorted(names)) or 'none'}")


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


def latency(env: Environment, a: str, b: str, ms: float, jitter: float = 0.0) -> ToxicFault:
    """A latency toxic on the edge between ``a`` and ``b`` (both directions)."""
    client, proxy = proxy_edge(env, a, b)
    return Latency(client, proxy, ms, jitter)


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

