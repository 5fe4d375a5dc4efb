"""Which connections a scenario caused: one counting iptables rule per peer in each container's namespace.

Each service's container gets a chain ``HARNESS-OBSERVE`` jumped to first from INPUT, holding one
``-p tcp -s <peer> -m conntrack --ctdir ORIGINAL -j RETURN`` rule per peer container and per bridge
gateway (the test machine's
connections arrive from the gateway). A rule only counts: ``RETURN`` hands the packet back to
INPUT unchanged. ``zero`` before a scenario's first step, ``read`` after its last give the
packets each peer sent each service in between, as edges ``client -> server``.

Every TCP packet the peer sends on a connection it opened counts, not only SYNs: a pooled
connection opened before the scenario carries its queries without a new handshake, and the
scenario still depends on that edge. Replies (``--ctdir REPLY``) do not count: they would make
B -> A look used whenever A -> B is.
"""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.errors import FaultError
from harness.faults._docker import fresh, ips
from harness.faults.kinds import HOST
from harness.faults.netns import NetnsRunner, default_runner
from harness.faults.network import gateway_ips, network_peer_ips

logger = logging.getLogger(__name__)

CHAIN = "HARNESS-OBSERVE"
COMMENT = "harness-observe"
_ROW = re.compile(r"^\s*(\d+)\s+\d+\s+RETURN\s+(?:tcp|6)\s+\S+\s+\S+\s+\S+\s+(\d+\.\d+\.\d+\.\d+)\s")


@dataclass(frozen=True)
class Edge:
    """``client`` sent ``packets`` TCP packets to ``server`` (service names; ``HOST`` is the test machine)."""

    client: str
    server: str
    packets: int


def install_script(peers: Iterable[str]) -> str:
    """Shell that (re)creates the counting chain with one rule per peer IP and jumps to it first from INPUT."""
    ipt = "iptables -w"
    rules = [f"{ipt} -A {CHAIN} -p tcp -s {shlex.quote(ip)} -m conntrack --ctdir ORIGINAL "
             f"-m comment --comment {COMMENT} -j RETURN"
             for ip in peers]
    return " && ".join([f"({ipt} -N {CHAIN} 2>/dev/null || {ipt} -F {CHAIN})",
                        f"({ipt} -C INPUT -j {CHAIN} 2>/dev/null || {ipt} -I INPUT 1 -j {CHAIN})", *rules])


def remove_script() -> str:
    """Shell that removes the chain and its jump (quietly when absent)."""
    ipt = "iptables -w"
    return f"({ipt} -D INPUT -j {CHAIN}; {ipt} -F {CHAIN}; {ipt} -X {CHAIN}) 2>/dev/null || true"


def parse_counts(listing: str) -> dict[str, int]:
    """Peer IP -> packets from ``iptables -L CHAIN -v -x -n``."""
    counts: dict[str, int] = {}
    for line in listing.splitlines():
        match = _ROW.match(line)
        if match:
            counts[match.group(2)] = counts.get(match.group(2), 0) + int(match.group(1))
    return counts


class ConnectionCounter:
    """Counting rules in every running container of an environment; ``zero`` and ``read`` around a scenario."""

    def __init__(self, env: Any, runner: NetnsRunner | None = None) -> None:
        self.env = env
        self.runner = runner if runner is not None else default_runner()
        self._installed: dict[str, int] = {}  # container id -> pid the rules went into

    def _containers(self) -> list[tuple[str, Any]]:
        return [(name, c) for name in sorted(self.env.services) for c in self.env.containers(name)]

    def _ensure(self, container: Any) -> bool:
        """Install the rules where missing (a restarted container lost them); False when not running."""
        pid = int(fresh(container).attrs["State"].get("Pid") or 0)
        if pid <= 0:
            return False
        if self._installed.get(str(container.id)) != pid:
            peers = network_peer_ips(container) + gateway_ips(container)
            self.runner.run(container, install_script(peers))
            self._installed[str(container.id)] = pid
        return True

    def zero(self) -> None:
        """Reset every counter (installing the rules first where needed)."""
        for _, container in self._containers():
            if self._ensure(container):
                self.runner.run(container, f"iptables -w -Z {CHAIN}")

    def read(self) -> list[Edge]:
        """The edges with packets since ``zero``, by service name."""
        owners = self._owners()
        edges: dict[tuple[str, str], int] = {}
        for server, container in self._containers():
            if not self._ensure(container):
                continue
            listing = self.runner.run(container, f"iptables -w -L {CHAIN} -v -x -n")
            for ip, packets in parse_counts(listing).items():
                client = owners.get(ip, "")
                if packets and client and client != server:
                    edges[(client, server)] = edges.get((client, server), 0) + packets
        return [Edge(c, s, n) for (c, s), n in sorted(edges.items())]

    def remove(self) -> None:
        """Take the rules out of every running container (best effort)."""
        for _, container in self._containers():
            try:
                self.runner.run(container, remove_script())
            except FaultError as exc:
                logger.info("observer rules of %s not removed: %s", container.name, exc)
        self._installed.clear()

    def _owners(self) -> dict[str, str]:
        """IP -> service name for every container; gateway IPs -> HOST."""
        owners: dict[str, str] = {}
        for name, container in self._containers():
            for ip in ips(fresh(container)):
                owners[ip] = name
            for ip in gateway_ips(container):
                owners[ip] = HOST
        return owners
