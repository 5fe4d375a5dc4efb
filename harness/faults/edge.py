"""Link faults on any edge, no wiring: a fault proxy started on demand plus DNAT in the client.

For one hop (client container -> server container:port) the proxy gets a route listening on a
port of its own with the server as upstream, and the client's network namespace gets, in the
nat chain ``HARNESS-LINKS``::

    iptables -t nat -A HARNESS-LINKS -d <server ip> -p tcp --dport <port> -j DNAT --to-destination <proxy ip>:<listen>

so the client's new connections to the server go through the proxy, where the toxic acts; the
client's established connections to that port are closed (``ss -K``) so pooled connections
reconnect through the proxy. Revert goes backwards: delete the toxic, the DNAT rule, the route,
and the proxy container once no route of the project uses it. Routes and the proxy container are
shared, with reference counts, by the faults of one project. ``linger(True)`` (a sweep's behave process,
which injects the same link fault before every scenario) keeps an idle proxy container for the next
fault instead of removing it; ``remove_idle()`` removes them (``compose down`` would too: it carries the
project's labels).

Like every iptables fault, a rule dies when the client restarts; a watcher re-applies it (and
follows a server that comes back with another address).
"""

from __future__ import annotations

import logging
import shlex
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from harness.errors import FaultError
from harness.faults._docker import fresh, networks
from harness.faults.link import ToxicFault
from harness.faults.netns import NetnsRunner
from harness.faults.network import IptablesFault, Rule
from harness.faults.proxy_client import ProxyClient
from harness.faults.proxy_container import ProxyContainer

if TYPE_CHECKING:
    from docker.models.containers import Container

logger = logging.getLogger(__name__)

LINK_CHAIN = "HARNESS-LINKS"
ToxicFactory = Callable[[ProxyClient, str], ToxicFault]


@dataclass(frozen=True)
class Hop:
    """One client container's connections to one server container's TCP port."""

    client: Container
    server: Container
    port: int

    @property
    def key(self) -> tuple[str, str, int]:
        """Identity of the hop: container ids and port."""
        return (str(self.client.id), str(self.server.id), self.port)

    def describe(self) -> str:
        """``client->server:port`` by compose service (``service#n`` for replica n > 1)."""
        return f"{_short(self.client)}->{_short(self.server)}:{self.port}"

    def network(self) -> str:
        """A network both containers are attached to."""
        shared = sorted(set(networks(fresh(self.client))) & set(networks(fresh(self.server))))
        if not shared:
            raise FaultError(f"{self.client.name} and {self.server.name} share no network",
                             hint="a link fault acts on connections between services on one network")
        return shared[0]


def _short(container: Container) -> str:
    labels = (container.attrs.get("Config") or {}).get("Labels") or {}
    service = labels.get("com.docker.compose.service")
    number = labels.get("com.docker.compose.container-number", "1")
    if not service:
        return str(container.name)
    return service if number == "1" else f"{service}#{number}"


class Redirect(IptablesFault):
    """DNAT in the client's namespace: its connections to server:port go to the proxy's listen port."""

    verb = "redirect"
    table = "nat"
    chain = LINK_CHAIN
    hooks = ("OUTPUT",)

    def __init__(self, hop: Hop, network: str, proxy_ip: str, listen: int, *,
                 runner: NetnsRunner | None = None, watch_interval: float | None = 1.0) -> None:
        self.hop = hop
        self.network = network
        self.proxy_ip = proxy_ip
        self.listen = listen
        super().__init__([hop.client], runner=runner, watch_interval=watch_interval)

    def describe(self) -> str:
        """One line for logs."""
        return f"redirect {self.hop.describe()} via {self.proxy_ip}:{self.listen}"

    def rules(self, container: Container) -> list[Rule]:
        """One DNAT rule for the server's current address (none while it has no address)."""
        address = networks(fresh(self.hop.server)).get(self.network, {}).get("IPAddress")
        if not address:
            return []
        return [("-d", str(address), "-p", "tcp", "--dport", str(self.hop.port),
                 "-j", "DNAT", "--to-destination", f"{self.proxy_ip}:{self.listen}")]

    def _add(self, container: Container, wanted: list[Rule]) -> None:
        super()._add(container, wanted)
        kills = [f"ss -K -tn dst {shlex.quote(rule[1])} dport = :{self.hop.port}" for rule in wanted]
        if kills:  # pooled connections made before the rule would bypass the proxy
            self.runner.run(container, " ; ".join(kills) + " >/dev/null 2>&1 ; true")


@dataclass
class Route:
    """A proxy route for one hop, its DNAT rule, and how many faults use it."""

    name: str
    hop: Hop
    redirect: Redirect
    users: int = 0


@dataclass
class SharedProxy:
    """The proxy container of one compose project and the routes its faults use."""

    project: str
    proxy: ProxyContainer
    routes: dict[tuple[str, str, int], Route] = field(default_factory=dict)
    users: int = 0


_shared: dict[str, SharedProxy] = {}
_lock = threading.RLock()
_linger = False  # keep idle proxy containers (linger(True)) until remove_idle()


def linger(keep: bool) -> None:
    """Keep (True) or remove (False, the default) a project's proxy container once no fault uses it."""
    global _linger
    with _lock:
        _linger = keep


def remove_idle() -> list[str]:
    """Remove the proxy containers no fault uses; the errors, one line each (every one is attempted)."""
    with _lock:
        idle = [s for s in _shared.values() if s.users <= 0 and not s.routes]
        for shared in idle:
            _shared.pop(shared.project, None)
    errors = []
    for shared in idle:
        try:
            shared.proxy.remove()
        except FaultError as exc:
            errors.append(str(exc).splitlines()[0])
    return errors


def project_of(container: Container) -> str:
    """The compose project a container belongs to."""
    labels = fresh(container).attrs["Config"].get("Labels") or {}
    return str(labels.get("com.docker.compose.project", ""))


def acquire_proxy(like: Container, network: str, *, image: str | None = None) -> SharedProxy:
    """The project's proxy (started now if it does not run yet), counted as used once more."""
    project = project_of(like)
    with _lock:
        shared = _shared.get(project)
        if shared is not None and shared.users <= 0 and not shared.routes and shared.proxy.state() != "running":
            _shared.pop(project)  # an idle proxy kept by linger() that stopped meanwhile: start a new one
            shared = None
        if shared is None:
            shared = SharedProxy(project, ProxyContainer.start(like, network, image=image))
            _shared[project] = shared
        shared.users += 1
        return shared


def release_proxy(shared: SharedProxy) -> None:
    """Count one user less; remove the container when no fault and no route uses it."""
    with _lock:
        shared.users -= 1
        if shared.users > 0 or shared.routes or _linger:
            return
        _shared.pop(shared.project, None)
    shared.proxy.remove()


def acquire_route(shared: SharedProxy, hop: Hop, *, runner: NetnsRunner | None = None,
                  watch_interval: float | None = 1.0) -> Route:
    """The route for ``hop`` (created with its DNAT rule if new), counted as used once more."""
    with _lock:
        route = shared.routes.get(hop.key)
        if route is None:
            route = _new_route(shared, hop, runner=runner, watch_interval=watch_interval)
            shared.routes[hop.key] = route
        route.users += 1
        return route


def _new_route(shared: SharedProxy, hop: Hop, *, runner: NetnsRunner | None,
               watch_interval: float | None) -> Route:
    network = hop.network()
    proxy_ip = shared.proxy.ip_on(network)
    name = f"edge-{uuid.uuid4().hex[:10]}"
    created = shared.proxy.client.create(name, "0.0.0.0:0", f"{hop.server.name}:{hop.port}")
    listen = int(str(created["listen"]).rpartition(":")[2])
    redirect = Redirect(hop, network, proxy_ip, listen, runner=runner, watch_interval=watch_interval)
    logger.info("proxy route %s: %s via %s:%d", name, hop.describe(), proxy_ip, listen)
    return Route(name, hop, redirect)


def release_route(shared: SharedProxy, route: Route, *, proxy_alive: bool = True) -> None:
    """Count one user less; when none is left, delete the DNAT rule, then the proxy route (if the proxy lives)."""
    with _lock:
        route.users -= 1
        if route.users > 0:
            return
        shared.routes.pop(route.hop.key, None)
    try:
        route.redirect.revert()
    finally:
        if proxy_alive:
            shared.proxy.client.delete(route.name, missing_ok=True)


class EdgeFault:
    """A toxic on every hop of an edge, through the project's on-demand fault proxy."""

    def __init__(self, hops: Sequence[Hop], toxic: ToxicFactory, what: str, *,
                 runner: NetnsRunner | None = None, image: str | None = None,
                 watch_interval: float | None = 1.0) -> None:
        if not hops:
            raise FaultError(f"{what}: no connection to act on", hint="are the services running?")
        self.hops = list(hops)
        self.toxic = toxic
        self.what = what
        self.runner = runner
        self.image = image
        self.watch_interval = watch_interval
        self.toxics: list[ToxicFault] = []
        self._shared: SharedProxy | None = None
        self._routes: list[Route] = []

    @property
    def target(self) -> str:
        """Every hop, ``client->server:port``."""
        return ",".join(hop.describe() for hop in self.hops)

    @property
    def proxy(self) -> ProxyContainer | None:
        """The proxy container while the fault is active."""
        return self._shared.proxy if self._shared is not None else None

    def describe(self) -> str:
        """One line for logs."""
        return f"{self.what} on {self.target}"

    def inject(self) -> None:
        """Start (or share) the proxy, make a route per hop, add the toxic, then redirect."""
        self._shared = acquire_proxy(self.hops[0].client, self.hops[0].network(), image=self.image)
        for hop in self.hops:
            route = acquire_route(self._shared, hop, runner=self.runner, watch_interval=self.watch_interval)
            self._routes.append(route)
            toxic = self.toxic(self._shared.proxy.client, route.name)
            self.toxics.append(toxic)
            toxic.inject()
            if route.users == 1:
                route.redirect.inject()

    def revert(self) -> None:
        """Delete the toxics, then the DNAT rules and routes no other fault uses, then the proxy."""
        errors: list[str] = []
        shared, routes, toxics = self._shared, self._routes, self.toxics
        self.toxics, self._routes, self._shared = [], [], None
        state = shared.proxy.state() if shared is not None else "running"
        if state != "running":  # its toxics died with it: asking its API would only wait for an error
            errors.append(f"the fault proxy {shared.proxy.name if shared else ''} died while the fault was on "
                          f"(it is {state}): the fault ended with it, before the scenario did; its DNAT rules "
                          "are removed")
        for toxic in reversed(toxics if state == "running" else []):
            _attempt(toxic.revert, errors)
        if shared is not None:
            for route in reversed(routes):
                _attempt(partial(release_route, shared, route, proxy_alive=state == "running"), errors)
            _attempt(partial(release_proxy, shared), errors)
        if errors:
            raise FaultError(f"could not fully revert {self.describe()}: " + "; ".join(errors),
                             hint="`docker compose down --remove-orphans` of the project removes the proxy")


def _attempt(action: Callable[[], None], errors: list[str]) -> None:
    try:
        action()
    except FaultError as exc:
        errors.append(str(exc))
