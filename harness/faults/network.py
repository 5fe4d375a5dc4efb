"""Network faults: iptables rules in the targets' namespaces, and docker network disconnect.

Every rule sits in one chain, ``HARNESS-FAULTS``, jumped to from INPUT and OUTPUT, and carries
a comment naming the fault that added it, so a revert removes exactly its own rules. Rules
only ever name peer containers' IPs: the harness reaches containers through published ports
via the bridge gateway, and that path must survive every fault.

Rules die with the namespace when a container restarts; a watcher thread (``watch_interval``)
re-applies them, and ``refresh()`` does the same on demand.
"""

from __future__ import annotations

import logging
import shlex
import threading
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from harness.errors import FaultError
from harness.faults._docker import fresh, ips, names, networks, translate
from harness.faults.netns import NetnsRunner, default_runner, iptables_script

if TYPE_CHECKING:
    from docker.models.containers import Container

logger = logging.getLogger(__name__)

CHAIN = "HARNESS-FAULTS"
COMMENT_PREFIX = "harness-fault:"



def setup_script(table: str = "filter", chain: str = CHAIN, hooks: Sequence[str] = ("INPUT", "OUTPUT")) -> str:
    """Shell that creates ``chain`` in ``table`` and jumps to it first from each hook (idempotent)."""
    ipt = f"iptables -w -t {table}"
    jumps = [f"({ipt} -C {hook} -j {chain} 2>/dev/null || {ipt} -I {hook} 1 -j {chain})" for hook in hooks]
    return " && ".join([f"({ipt} -N {chain} 2>/dev/null || true)", *jumps])


def teardown_if_empty(table: str = "filter", chain: str = CHAIN, hooks: Sequence[str] = ("INPUT", "OUTPUT")) -> str:
    """Shell that removes ``chain`` and its jumps once it holds no rule."""
    ipt = f"iptables -w -t {table}"
    unhook = " ".join(f"{ipt} -D {hook} -j {chain};" for hook in hooks)
    return f"if ! {ipt} -S {chain} | grep -q '^-A'; then {unhook} {ipt} -X {chain}; fi"


Rule = tuple[str, ...]


def _group(members: Container | Sequence[Container]) -> list[Container]:
    return list(members) if isinstance(members, Sequence) else [members]


def network_peer_ips(container: Container) -> list[str]:
    """IPs of every other container on the networks this container is attached to."""
    own = set(ips(fresh(container)))
    found: set[str] = set()
    for name in networks(container):
        with translate(f"inspecting network {name}"):
            attrs: dict[str, Any] = container.client.api.inspect_network(name)  # type: ignore[union-attr]
        for endpoint in (attrs.get("Containers") or {}).values():
            address = str(endpoint.get("IPv4Address", "")).split("/")[0]
            if address and address not in own:
                found.add(address)
    return sorted(found)


def group_ips(containers: Sequence[Container]) -> list[str]:
    """Current IPs of a group of containers (a stopped one has none)."""
    return sorted({ip for c in containers for ip in ips(fresh(c))})


def harness_rules(runner: NetnsRunner, container: Container, *, table: str = "filter",
                  chain: str = CHAIN) -> list[str]:
    """Every rule in the harness's chain of a container (empty when there is no chain)."""
    output = runner.run(container, f"iptables -w -t {table} -S {chain} 2>/dev/null || true")
    return [line for line in output.splitlines() if line.startswith("-A ")]


class IptablesFault:
    """Base for faults made of iptables rules in some containers' namespaces."""

    verb = "iptables"
    table = "filter"
    chain = CHAIN
    hooks: tuple[str, ...] = ("INPUT", "OUTPUT")

    def __init__(self, targets: Sequence[Container], *, runner: NetnsRunner | None = None,
                 watch_interval: float | None = 1.0) -> None:
        self.targets = list(targets)
        self.runner = runner if runner is not None else default_runner()
        self.watch_interval = watch_interval
        self.token = COMMENT_PREFIX + uuid.uuid4().hex[:12]
        self._applied: dict[str, tuple[int, list[Rule]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def target(self) -> str:
        """The names of the containers that get rules."""
        return names(self.targets)

    def describe(self) -> str:
        """One line for logs."""
        return f"{self.verb} on {self.target}"

    def rules(self, container: Container) -> list[Rule]:
        """The rules (match + target, no chain) this fault wants in ``container``."""
        raise NotImplementedError

    def inject(self) -> None:
        """Add the rules in every target, then start the watcher."""
        self.refresh(strict=True)
        if self.watch_interval:
            self._stop.clear()
            self._watcher = threading.Thread(target=self._watch, name="harness-netfault-watch", daemon=True)
            self._watcher.start()

    def refresh(self, *, strict: bool = False) -> None:
        """(Re-)apply the rules where a target restarted or a peer's IP changed."""
        with self._lock:
            for container in self.targets:
                pid = int(fresh(container).attrs["State"].get("Pid") or 0)
                if pid <= 0:
                    if strict:
                        raise FaultError(f"{container.name} is not running",
                                         hint="start it before injecting a network fault")
                    continue
                wanted = self.rules(container)
                applied = self._applied.get(str(container.id))
                if applied == (pid, wanted):
                    continue
                if applied is not None and applied[0] == pid:
                    self._change(container, applied[1], wanted)  # a peer came or went: no gap in the fault
                else:
                    self._remove_own(container)
                    self._add(container, wanted)
                self._applied[str(container.id)] = (pid, wanted)

    def revert(self) -> None:
        """Stop the watcher and delete this fault's rules from every running target."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
        errors: list[str] = []
        with self._lock:
            for container in self.targets:
                try:
                    if fresh(container).attrs["State"].get("Running"):
                        self._remove_own(container)
                except FaultError as exc:
                    errors.append(str(exc))
            self._applied.clear()
        if errors:
            raise FaultError(f"could not remove the rules of {self.describe()}: " + "; ".join(errors),
                             hint=f"inspect with `nsenter -t <pid> -n iptables -t {self.table} -S {self.chain}`")

    def _command(self, action: str, rule: Rule) -> list[str]:
        """``-A`` or ``-D`` of one of this fault's rules (its comment token marks it as this fault's)."""
        return ["-t", self.table, action, self.chain, *rule, "-m", "comment", "--comment", self.token]

    def _add(self, container: Container, wanted: list[Rule]) -> None:
        commands = [self._command("-A", rule) for rule in wanted]
        self.runner.run(container, setup_script(self.table, self.chain, self.hooks) + " && "
                        + iptables_script(commands))

    def _change(self, container: Container, old: list[Rule], wanted: list[Rule]) -> None:
        """Add the new rules first, then delete the stale ones: the fault holds throughout."""
        added = [rule for rule in wanted if rule not in old]
        if added:
            self._add(container, added)
        gone = [self._command("-D", rule) for rule in old if rule not in wanted]
        if gone:
            teardown = teardown_if_empty(self.table, self.chain, self.hooks)
            self.runner.run(container, f"{iptables_script(gone)} && ({teardown} 2>/dev/null || true)")

    def _remove_own(self, container: Container) -> None:
        rules = harness_rules(self.runner, container, table=self.table, chain=self.chain)
        mine = [shlex.split(line) for line in rules if self.token in line]
        deletes = [["-t", self.table, "-D", *rule[1:]] for rule in mine]
        script = iptables_script(deletes) if deletes else "true"
        teardown = teardown_if_empty(self.table, self.chain, self.hooks)
        self.runner.run(container, f"{script} && ({teardown} 2>/dev/null || true)")

    def _watch(self) -> None:
        assert self.watch_interval is not None
        while not self._stop.wait(self.watch_interval):
            try:
                self.refresh()
            except FaultError as exc:
                logger.warning("re-applying %s: %s", self.describe(), exc)


class Partition(IptablesFault):
    """Symmetric partition: no packet passes between any member of group A and any of group B."""

    verb = "partition"

    def __init__(self, group_a: Container | Sequence[Container], group_b: Container | Sequence[Container],
                 *, runner: NetnsRunner | None = None, watch_interval: float | None = 1.0) -> None:
        self.group_a = _group(group_a)
        self.group_b = _group(group_b)
        super().__init__(self.group_a + self.group_b, runner=runner, watch_interval=watch_interval)

    def describe(self) -> str:
        """One line for logs."""
        return f"partition {names(self.group_a)} | {names(self.group_b)}"

    def rules(self, container: Container) -> list[Rule]:
        """Drop everything to and from the other side."""
        other = self.group_b if container.id in {c.id for c in self.group_a} else self.group_a
        peers = group_ips(other)
        rules: list[Rule] = [(flag, ip, "-j", "DROP") for flag in ("-d", "-s") for ip in peers]
        return rules


class OneWayCut(IptablesFault):
    """A cannot open connections to B; B can still open connections to A (conntrack NEW is dropped)."""

    verb = "one-way cut"

    def __init__(self, source: Container | Sequence[Container], destination: Container | Sequence[Container],
                 *, runner: NetnsRunner | None = None, watch_interval: float | None = 1.0) -> None:
        self.sources = _group(source)
        self.destinations = _group(destination)
        super().__init__(self.sources, runner=runner, watch_interval=watch_interval)

    def describe(self) -> str:
        """One line for logs."""
        return f"one-way cut {names(self.sources)} -/-> {names(self.destinations)}"

    def rules(self, container: Container) -> list[Rule]:
        """In A's OUTPUT path: drop new connections to B; replies (ESTABLISHED) still pass."""
        drop: Rule = ("-m", "conntrack", "--ctstate", "NEW", "-j", "DROP")
        return [("-d", ip, *drop) for ip in group_ips(self.destinations)]


class Refuse(IptablesFault):
    """New TCP connections from peers to the target are answered with a reset."""

    verb = "refuse"

    def __init__(self, target: Container, *, clients: Sequence[Container] | None = None,
                 port: int | None = None, runner: NetnsRunner | None = None,
                 watch_interval: float | None = 1.0) -> None:
        self.container = target
        self.clients = list(clients) if clients is not None else None
        self.port = port
        super().__init__([target], runner=runner, watch_interval=watch_interval)

    def describe(self) -> str:
        """One line for logs."""
        who = names(self.clients) if self.clients is not None else "all peers"
        port = f" port {self.port}" if self.port else ""
        return f"refuse TCP{port} to {self.container.name} from {who}"

    def rules(self, container: Container) -> list[Rule]:
        """In the target's INPUT path: reject TCP from each client with tcp-reset."""
        peers = group_ips(self.clients) if self.clients is not None else network_peer_ips(container)
        port: Rule = ("--dport", str(self.port)) if self.port else ()
        return [("-p", "tcp", "-s", ip, *port, "-j", "REJECT", "--reject-with", "tcp-reset") for ip in peers]


class PacketLoss(IptablesFault):
    """Drop ``percent`` of the packets between the target and its peers, in each direction."""

    verb = "packet loss"

    def __init__(self, target: Container, percent: float, *, peers: Sequence[Container] | None = None,
                 runner: NetnsRunner | None = None, watch_interval: float | None = 1.0) -> None:
        if not 0 < percent <= 100:
            raise FaultError(f"packet loss must be in (0, 100] percent, got {percent}",
                             hint="write e.g. 20 for 20 %")
        self.container = target
        self.percent = percent
        self.peers = list(peers) if peers is not None else None
        super().__init__([target], runner=runner, watch_interval=watch_interval)

    def describe(self) -> str:
        """One line for logs."""
        return f"{self.percent:g}% packet loss at {self.container.name}"

    def rules(self, container: Container) -> list[Rule]:
        """Random drops (``-m statistic``) to and from each peer."""
        peers = group_ips(self.peers) if self.peers is not None else network_peer_ips(container)
        drop: Rule = ("-m", "statistic", "--mode", "random", "--probability", f"{self.percent / 100:.4f}",
                      "-j", "DROP")
        return [(flag, ip, *drop) for ip in peers for flag in ("-s", "-d")]


class Isolate:
    """Disconnect a container from its networks; revert reconnects it with its aliases."""

    def __init__(self, container: Container, networks: Sequence[str] | None = None) -> None:
        self.container = container
        self.only = list(networks) if networks is not None else None
        self._endpoints: dict[str, dict[str, Any]] = {}

    @property
    def target(self) -> str:
        """The container's name."""
        return str(self.container.name)

    def describe(self) -> str:
        """One line for logs."""
        which = ",".join(self.only) if self.only is not None else "all its networks"
        return f"isolate {self.container.name} from {which}"

    def inject(self) -> None:
        """Remember each endpoint's aliases, then disconnect."""
        attached = networks(fresh(self.container))
        chosen = self.only if self.only is not None else list(attached)
        for name in chosen:
            if name not in attached:
                raise FaultError(f"{self.container.name} is not attached to network {name!r}",
                                 hint=f"it is attached to: {', '.join(attached) or 'nothing'}")
            self._endpoints[name] = dict(attached[name])
        client = self.container.client
        for name in chosen:
            with translate(f"disconnecting {self.container.name} from {name}"):
                client.networks.get(name).disconnect(self.container)  # type: ignore[union-attr]

    def revert(self) -> None:
        """Reconnect to every network we disconnected, with the same aliases (and fixed IP, if any)."""
        attached = networks(fresh(self.container))
        short_id = str(self.container.id)[:12]
        client = self.container.client
        for name, endpoint in self._endpoints.items():
            if name in attached:
                continue
            aliases = [a for a in endpoint.get("Aliases") or [] if a != short_id]
            ipam = endpoint.get("IPAMConfig") or {}
            with translate(f"reconnecting {self.container.name} to {name}",
                           hint=f"`docker network connect --alias ... {name} {self.container.name}`"):
                client.networks.get(name).connect(  # type: ignore[union-attr]
                    self.container, aliases=aliases or None, links=None,
                    ipv4_address=ipam.get("IPv4Address") or None)


def gateway_ips(container: Container) -> list[str]:
    """The bridge gateways of the container's networks: where the test machine's connections come from."""
    return sorted({str(ep["Gateway"]) for ep in networks(fresh(container)).values() if ep.get("Gateway")})


class HostCut(IptablesFault):
    """The test machine's own edge to a service: its TCP from the bridge gateway is dropped (``reset``: answered
    with a reset). Peers are untouched; the harness's probes fail too until the revert, as a client's would."""

    verb = "cut the test machine from"

    def __init__(self, target: Container, *, reset: bool = False, runner: NetnsRunner | None = None,
                 watch_interval: float | None = 1.0) -> None:
        self.container = target
        self.reset = reset
        super().__init__([target], runner=runner, watch_interval=watch_interval)

    def describe(self) -> str:
        """One line for logs."""
        how = "reset" if self.reset else "drop"
        return f"{how} the test machine's TCP to {self.container.name}"

    def rules(self, container: Container) -> list[Rule]:
        """In the target's INPUT path: drop (or reset) TCP from each gateway."""
        action: Rule = ("-j", "REJECT", "--reject-with", "tcp-reset") if self.reset else ("-j", "DROP")
        return [("-p", "tcp", "-s", ip, *action) for ip in gateway_ips(container)]
