"""The test client's own link to each service, through a loopback fault proxy made when it is needed.

    links(session) -> ClientLinks                     one per scenario, closed at its end
    ClientLinks.url(service) -> str                   the proxy's address (made on first use)
    ClientLinks.fault(service, toxics, what) -> ClientLinkFault     a Fault for the scenario's FaultStack

A fault on "the client's link to S" works like one between two services: no wiring. The first
fault (or WebSocket) on the link starts a fault proxy on loopback (harness.faults.proxy, with its
control API, in this process) and routes the environment's address of S through it
(``Environment.route``), so every client that asks for S's address from then on — HTTP, SSE,
WebSocket, the load driver, the SQL and Redis steps — connects through the proxy. The toxics are
harness.faults.link's ``Latency``, ``ResetPeer``, ``Blackhole``, ... on that proxy, undone like
any fault; the proxy and the route stay until the scenario ends (without toxics a loopback proxy
is transparent). A connection opened straight to S before the proxy existed is not affected:
WebSockets and subscriptions therefore always open through the link proxy.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from harness.errors import FaultError
from harness.faults.link import ToxicFault
from harness.faults.proxy import Control, Proxy
from harness.faults.proxy_client import ProxyClient

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
STARTUP_SECONDS = 5.0  # starting a loopback listener takes milliseconds; this bounds a wedged loop


class Routable(Protocol):
    """What this module needs of the environment (harness.env.lifecycle.Environment has it)."""

    def direct_url(self, service: str, port: int | None = None) -> str:
        """The service's own address, never through a routed proxy."""

    def route(self, service: str, port: int | None, origin: str) -> None:
        """Send clients of SERVICE to ``origin`` instead."""

    def unroute(self, service: str, port: int | None) -> None:
        """Send clients of SERVICE straight to it again."""


ToxicFactory = Callable[[ProxyClient, str], Sequence[ToxicFault]]


class ClientLinks:
    """A scenario's loopback fault proxies, one per service the client's link to has been touched."""

    def __init__(self, env: Routable) -> None:
        self.env = env
        self.proxies: dict[str, Proxy] = {}  # by service
        self._by_name: dict[str, Proxy] = {}  # by proxy name, as the control API looks them up
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="harness-client-links", daemon=True)
        self._thread.start()
        self._control_server: asyncio.Server = self._call(self._serve_control())
        port = self._control_server.sockets[0].getsockname()[1]
        self.control = ProxyClient(f"http://{LOOPBACK}:{port}")

    def url(self, service: str) -> str:
        """``http://127.0.0.1:<proxy port>``: the client's link to SERVICE (proxy started and routed on first use)."""
        return f"http://{LOOPBACK}:{self.proxy(service).listen[1]}"

    def proxy(self, service: str) -> Proxy:
        """The proxy on the client's link to SERVICE; made, and the environment's address routed through it."""
        if service not in self.proxies:
            def upstream() -> tuple[str, int]:  # per connection: a restarted container may publish another port
                parts = urlsplit(self.env.direct_url(service))
                return parts.hostname or LOOPBACK, int(parts.port or 80)

            proxy = Proxy(_name(service), (LOOPBACK, 0), upstream(), resolve=upstream)
            self._call(proxy.start())
            self.proxies[service] = self._by_name[proxy.name] = proxy
            self.env.route(service, None, f"http://{LOOPBACK}:{proxy.listen[1]}")
            logger.info("the client's link to %s goes through %s:%s", service, *proxy.listen)
        return self.proxies[service]

    def fault(self, service: str, toxics: ToxicFactory, what: str) -> ClientLinkFault:
        """A fault on the client's link to SERVICE (not yet injected: hand it to the FaultStack)."""
        return ClientLinkFault(self, service, toxics, what)

    def close(self) -> None:
        """Route every service straight again, stop the proxies and the loop."""
        try:
            for service in self.proxies:
                self.env.unroute(service, None)
            self._call(self._shutdown())
        finally:
            self.proxies.clear()
            self._by_name.clear()
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            if not self._thread.is_alive():
                self._loop.close()

    async def _serve_control(self) -> asyncio.Server:
        return await asyncio.start_server(Control(self._by_name).handle, LOOPBACK, 0)

    async def _shutdown(self) -> None:
        """Stop listening, reset live connections, and let their tasks end (no task dies pending)."""
        for proxy in self.proxies.values():
            await proxy.stop()
        self._control_server.close()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=STARTUP_SECONDS)


@dataclass
class ClientLinkFault:
    """Toxics on the client's link to a service, as a Fault: on the timeline, undone with the scenario."""

    links: ClientLinks
    service: str
    toxics: ToxicFactory
    what: str
    active: list[ToxicFault] = field(default_factory=list)

    @property
    def target(self) -> str:
        """The edge: the test client to SERVICE."""
        return f"client -> {self.service}"

    def inject(self) -> None:
        """Route the link through its proxy (if not yet) and add the toxics (live connections through it too)."""
        proxy = self.links.proxy(self.service)
        for toxic in self.toxics(self.links.control, proxy.name):
            self.active.append(toxic)
            toxic.inject()

    def revert(self) -> None:
        """Remove this fault's toxics (not the others on the same link); every one is attempted."""
        errors = []
        while self.active:
            toxic = self.active.pop()
            try:
                toxic.revert()
            except FaultError as exc:
                errors.append(str(exc))
        if errors:
            raise FaultError(f"the client's link to {self.service}: " + "; ".join(errors),
                             hint="the scenario's loopback proxy goes away at its end anyway")

    def describe(self) -> str:
        """For the timeline."""
        return f"{self.what} on the client's link to {self.service}"


def _name(service: str) -> str:
    return f"client-{service}"


def links(session: Any) -> ClientLinks:
    """The scenario's client links (made on first use; unrouted and stopped when the scenario ends)."""
    def make() -> ClientLinks:
        made = ClientLinks(session.env)
        session.cleanup(made.close, "route the client's links straight again and stop their proxies")
        return made

    found: ClientLinks = session.extension("links", make)
    return found
