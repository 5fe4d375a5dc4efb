"""A TCP fault proxy in the Toxiproxy model, standard library only (runs on Debian's python3).

Run it as ``python3 -m harness.faults.proxy``. Proxies come from the environment::

    PROXIES="queen-hive-1=0.0.0.0:19200>hive-1:9200,db=:15432>db:5432"   # name=listen>upstream
    PROXY_CONTROL="0.0.0.0:8474"                                        # the control API

Control API (JSON over HTTP/1.1, one request per connection):

    GET    /version                         {"version": ...}
    GET    /proxies                         {name: proxy}
    POST   /proxies                         {name, listen, upstream}          -> 201 proxy
    GET    /proxies/{name}                  proxy
    POST   /proxies/{name}                  {enabled: bool}                  -> proxy
    DELETE /proxies/{name}                                                    -> 204
    GET    /proxies/{name}/toxics           [toxic]
    POST   /proxies/{name}/toxics           {type, attributes, name?, stream?, toxicity?} -> toxic
    GET    /proxies/{name}/toxics/{toxic}   toxic
    DELETE /proxies/{name}/toxics/{toxic}                                     -> 204
    POST   /reset                           remove every toxic, enable every proxy -> 204

Toxics act on one direction, ``stream``: "downstream" (upstream -> client, the default) or
"upstream" (client -> upstream). ``toxicity`` is the chance a connection is affected.

    latency     latency (ms), jitter (ms)      delay each chunk by latency +- jitter
    bandwidth   rate (KB/s)                    throttle
    timeout     timeout (ms)                   hold all data; close after timeout (0: never)
    blackhole   timeout (ms)                   same as timeout
    reset_peer  timeout (ms)                   reset the connection (RST) after timeout
    limit_data  bytes                          close the connection after this many bytes
    slow_close  delay (ms)                     delay forwarding a close
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("harness.faults.proxy")

VERSION = "harness-proxy/1"
DEFAULT_CONTROL = "0.0.0.0:8474"
CHUNK = 32 * 1024
QUEUE_CHUNKS = 64
STREAMS = ("downstream", "upstream")
TOXIC_ATTRIBUTES: dict[str, dict[str, float]] = {
    "latency": {"latency": 0, "jitter": 0},
    "bandwidth": {"rate": 0},
    "timeout": {"timeout": 0},
    "blackhole": {"timeout": 0},
    "reset_peer": {"timeout": 0},
    "limit_data": {"bytes": 0},
    "slow_close": {"delay": 0},
}
HOLDING = ("timeout", "blackhole")


class ApiError(Exception):
    """A control request was wrong; carries the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def parse_address(text: str, default_host: str = "0.0.0.0") -> tuple[str, int]:
    """'host:port', ':port' or 'port' -> (host, port)."""
    host, _, port = text.strip().rpartition(":")
    try:
        return (host or default_host), int(port)
    except ValueError:
        raise ApiError(400, f"not an address: {text!r} (want host:port)") from None


def parse_proxies(spec: str) -> list[tuple[str, str, str]]:
    """PROXIES='name=listen>upstream,...' -> [(name, listen, upstream)]."""
    found = []
    for item in filter(None, (part.strip() for part in spec.replace("\n", ",").split(","))):
        name, eq, rest = item.partition("=")
        listen, gt, upstream = rest.partition(">")
        if not (eq and gt and name and listen and upstream):
            raise ApiError(400, f"bad proxy spec {item!r}: want name=listen_host:port>upstream_host:port")
        found.append((name.strip(), listen.strip(), upstream.strip()))
    return found


@dataclass
class Toxic:
    """One toxic: a named behaviour on one direction of a proxy."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, float]

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Toxic:
        """Validate a control request body."""
        kind = str(body.get("type", ""))
        if kind not in TOXIC_ATTRIBUTES:
            raise ApiError(400, f"unknown toxic type {kind!r}; known: {', '.join(TOXIC_ATTRIBUTES)}")
        stream = str(body.get("stream", "downstream"))
        if stream not in STREAMS:
            raise ApiError(400, f"stream must be one of {STREAMS}, got {stream!r}")
        given = dict(body.get("attributes") or {})
        unknown = set(given) - set(TOXIC_ATTRIBUTES[kind])
        if unknown:
            raise ApiError(400, f"unknown attribute(s) for {kind}: {', '.join(sorted(unknown))}")
        try:
            attributes = {k: float(given.get(k, v)) for k, v in TOXIC_ATTRIBUTES[kind].items()}
            toxicity = float(body.get("toxicity", 1.0))
        except (TypeError, ValueError) as exc:
            raise ApiError(400, f"attributes must be numbers: {exc}") from None
        name = str(body.get("name") or f"{kind}_{stream}")
        return cls(name, kind, stream, toxicity, attributes)

    def to_json(self) -> dict[str, Any]:
        """The API representation."""
        return {"name": self.name, "type": self.type, "stream": self.stream,
                "toxicity": self.toxicity, "attributes": self.attributes}


class Link:
    """One client connection and its upstream connection, with the proxy's toxics applied."""

    def __init__(self, proxy: Proxy, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.proxy = proxy
        self.client_r, self.client_w = client_r, client_w
        self.upstream_w: asyncio.StreamWriter | None = None
        self.changed = asyncio.Event()
        self._affects: dict[str, bool] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._task: asyncio.Task[None] | None = None
        self._sent = {"downstream": 0, "upstream": 0}
        self._limit_base: dict[str, int] = {}

    def active(self, stream: str) -> list[Toxic]:
        """Toxics on ``stream`` that affect this connection (toxicity decided once per toxic)."""
        chosen = []
        for toxic in self.proxy.toxics.values():
            if toxic.stream != stream:
                continue
            if toxic.name not in self._affects:
                self._affects[toxic.name] = random.random() < toxic.toxicity
            if self._affects[toxic.name]:
                chosen.append(toxic)
        return chosen

    async def run(self) -> None:
        """Connect upstream and pump both directions until both are closed."""
        self._task = asyncio.current_task()
        try:
            host, port = await self.proxy.target()
        except Exception as exc:  # noqa: BLE001 - a resolver's error: the client sees a reset, as when unreachable
            logger.warning("%s: no upstream now: %s", self.proxy.name, exc)
            self._abort(self.client_w)
            return
        try:
            up_r, up_w = await asyncio.wait_for(asyncio.open_connection(host, port),
                                                self.proxy.connect_timeout)
        except (TimeoutError, OSError) as exc:
            logger.warning("%s: upstream %s:%s unreachable: %s", self.proxy.name, host, port, exc)
            self._abort(self.client_w)
            return
        self.upstream_w = up_w
        self.on_change()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(Pipe(self, "upstream", self.client_r, up_w).run())
                group.create_task(Pipe(self, "downstream", up_r, self.client_w).run())
        except* (OSError, asyncio.IncompleteReadError) as exc:
            logger.debug("%s: connection ended: %s", self.proxy.name, exc.exceptions)
            self.reset()
        finally:
            self._cancel_timers()
            for writer in (self.client_w, up_w):
                writer.close()

    def on_change(self) -> None:
        """Toxics changed: wake held pipes and (re)arm reset_peer / timeout timers."""
        self.changed.set()
        self.changed = asyncio.Event()
        toxics = self.active("downstream") + self.active("upstream")
        self._arm("reset_peer", [t for t in toxics if t.type == "reset_peer"], self.reset)
        self._arm("timeout", [t for t in toxics if t.type in HOLDING and t.attributes["timeout"] > 0],
                  self.close)

    def _arm(self, key: str, toxics: list[Toxic], action: Callable[[], None]) -> None:
        if not toxics:
            timer = self._timers.pop(key, None)
            if timer is not None:
                timer.cancel()
        elif key not in self._timers:
            delay = min(t.attributes["timeout"] for t in toxics) / 1000
            self._timers[key] = asyncio.get_running_loop().call_later(delay, action)

    def limit(self, stream: str, toxic: Toxic) -> int:
        """Bytes this direction may still send under a limit_data toxic."""
        base = self._limit_base.setdefault(toxic.name, self._sent[stream])
        return max(0, int(toxic.attributes["bytes"]) - (self._sent[stream] - base))

    def count(self, stream: str, n: int) -> None:
        """Record bytes sent in one direction."""
        self._sent[stream] += n

    def reset(self) -> None:
        """Reset both sides (RST, via SO_LINGER 0) and stop pumping."""
        for writer in (self.client_w, self.upstream_w):
            if writer is not None:
                self._abort(writer)
        self._stop()

    def close(self) -> None:
        """Close both sides normally (FIN) and stop pumping."""
        for writer in (self.client_w, self.upstream_w):
            if writer is not None:
                writer.close()
        self._stop()

    def _stop(self) -> None:
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()

    def _cancel_timers(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    @staticmethod
    def _abort(writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        writer.transport.abort()


class Pipe:
    """One direction of a link: a reader that timestamps chunks and a writer that applies toxics."""

    def __init__(self, link: Link, stream: str, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.link, self.stream, self.reader, self.writer = link, stream, reader, writer
        self.queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(QUEUE_CHUNKS)

    async def run(self) -> None:
        """Read and write concurrently so latency pipelines instead of adding up."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._read())
            group.create_task(self._write())

    async def _read(self) -> None:
        while True:
            data = await self.reader.read(CHUNK)
            await self.queue.put((time.monotonic(), data))
            if not data:
                return

    async def _write(self) -> None:
        while True:
            arrived, data = await self.queue.get()
            await self._hold()
            if not data:
                await self._close_later()
                return
            await self._delay(arrived)
            if not await self._send(data):
                return

    async def _hold(self) -> None:
        while any(t.type in HOLDING for t in self.link.active(self.stream)):
            await self.link.changed.wait()

    async def _delay(self, arrived: float) -> None:
        # wait: the latency toxic's delay is the fault itself (time added to the data), not a poll of a condition
        for toxic in self.link.active(self.stream):
            if toxic.type == "latency":
                jitter = toxic.attributes["jitter"]
                delay = (toxic.attributes["latency"] + random.uniform(-jitter, jitter)) / 1000
                await asyncio.sleep(max(0.0, arrived + delay - time.monotonic()))

    async def _send(self, data: bytes) -> bool:
        toxics = self.link.active(self.stream)
        limits = [self.link.limit(self.stream, t) for t in toxics if t.type == "limit_data"]
        truncated = bool(limits) and min(limits) <= len(data)
        if limits:
            data = data[:min(limits)]
        rates = [t.attributes["rate"] * 1024 for t in toxics
                 if t.type == "bandwidth" and t.attributes["rate"] > 0]
        step = max(1, int(min(rates) / 10)) if rates else len(data) or 1
        # wait: the bandwidth toxic paces the data (a tenth of a second's worth at a time), not a poll
        for start in range(0, len(data), step):
            piece = data[start:start + step]
            self.writer.write(piece)
            await self.writer.drain()
            self.link.count(self.stream, len(piece))
            if rates:
                await asyncio.sleep(len(piece) / min(rates))
        if truncated:
            self.link.close()
            return False
        return True

    async def _close_later(self) -> None:
        # wait: the slow_close toxic's delay before the close is the fault itself, not a poll
        for toxic in self.link.active(self.stream):
            if toxic.type == "slow_close":
                await asyncio.sleep(toxic.attributes["delay"] / 1000)
        if self.writer.can_write_eof() and not self.writer.is_closing():
            self.writer.write_eof()


@dataclass
class Proxy:
    """A listening address forwarded to an upstream, with its toxics and live connections."""

    name: str
    listen: tuple[str, int]
    upstream: tuple[str, int]
    connect_timeout: float = 5.0
    enabled: bool = True
    toxics: dict[str, Toxic] = field(default_factory=dict)
    links: set[Link] = field(default_factory=set)
    server: asyncio.Server | None = None
    resolve: Callable[[], tuple[str, int]] | None = None  # the upstream looked up per connection (it may move)

    async def target(self) -> tuple[str, int]:
        """Where a new connection goes: ``upstream``, or what ``resolve`` says now (off the loop: it may block)."""
        if self.resolve is not None:
            self.upstream = await asyncio.get_running_loop().run_in_executor(None, self.resolve)
        return self.upstream

    async def start(self) -> None:
        """Start listening."""
        self.server = await asyncio.start_server(self._accept, *self.listen, reuse_address=True)
        self.listen = (self.listen[0], self.server.sockets[0].getsockname()[1])  # port 0 -> the real one
        self.enabled = True
        logger.info("proxy %s listening on %s:%s -> %s:%s", self.name, *self.listen, *self.upstream)

    async def stop(self) -> None:
        """Stop listening and reset every live connection."""
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for link in list(self.links):
            link.reset()
        self.enabled = False

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = Link(self, reader, writer)
        self.links.add(link)
        try:
            await link.run()
        except asyncio.CancelledError:
            pass
        finally:
            self.links.discard(link)

    def changed(self) -> None:
        """Tell every live connection that the toxics changed."""
        for link in list(self.links):
            link.on_change()

    def to_json(self) -> dict[str, Any]:
        """The API representation."""
        return {"name": self.name, "listen": _join(self.listen), "upstream": _join(self.upstream),
                "enabled": self.enabled, "connections": len(self.links),
                "toxics": [t.to_json() for t in self.toxics.values()]}


class Control:
    """The HTTP control API over a dict of proxies."""

    def __init__(self, proxies: dict[str, Proxy]) -> None:
        self.proxies = proxies

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one request and close the connection."""
        try:
            method, path, body = await _read_request(reader)
            status, payload = await self.route(method, path, body)
        except ApiError as exc:
            status, payload = exc.status, {"error": str(exc), "status": exc.status}
        except (asyncio.IncompleteReadError, ConnectionError, ValueError) as exc:
            status, payload = 400, {"error": f"bad request: {exc}", "status": 400}
        data = b"" if payload is None else json.dumps(payload).encode()
        head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n")
        try:
            writer.write(head.encode() + data)
            await writer.drain()
        finally:
            writer.close()

    async def route(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """Dispatch on method and path."""
        parts = [p for p in path.split("?")[0].split("/") if p]
        if parts == ["version"] and method == "GET":
            return 200, {"version": VERSION}
        if parts == ["reset"] and method == "POST":
            return await self._reset()
        if parts[:1] != ["proxies"]:
            raise ApiError(404, f"no such endpoint: {method} {path}")
        if len(parts) == 1:
            return await self._proxies(method, body)
        proxy = self._proxy(parts[1])
        if len(parts) == 2:
            return await self._one_proxy(method, proxy, body)
        if parts[2] == "toxics" and len(parts) == 3:
            return self._toxics(method, proxy, body)
        if parts[2] == "toxics" and len(parts) == 4:
            return self._one_toxic(method, proxy, parts[3])
        raise ApiError(404, f"no such endpoint: {method} {path}")

    def _proxy(self, name: str) -> Proxy:
        if name not in self.proxies:
            raise ApiError(404, f"no proxy named {name!r}; known: {', '.join(self.proxies) or 'none'}")
        return self.proxies[name]

    async def _reset(self) -> tuple[int, Any]:
        for proxy in self.proxies.values():
            proxy.toxics.clear()
            if not proxy.enabled:
                await proxy.start()
            proxy.changed()
        return 204, None

    async def _proxies(self, method: str, body: dict[str, Any]) -> tuple[int, Any]:
        if method == "GET":
            return 200, {name: p.to_json() for name, p in self.proxies.items()}
        if method != "POST":
            raise ApiError(405, f"{method} not allowed on /proxies")
        name = str(body.get("name", ""))
        if not name or name in self.proxies:
            raise ApiError(409 if name else 400, f"proxy name {name!r} is missing or taken")
        proxy = Proxy(name, parse_address(str(body.get("listen", ""))),
                      parse_address(str(body.get("upstream", "")), "127.0.0.1"))
        try:
            await proxy.start()
        except OSError as exc:
            raise ApiError(409, f"cannot listen on {body.get('listen')}: {exc}") from None
        self.proxies[name] = proxy
        return 201, proxy.to_json()

    async def _one_proxy(self, method: str, proxy: Proxy, body: dict[str, Any]) -> tuple[int, Any]:
        if method == "GET":
            return 200, proxy.to_json()
        if method == "DELETE":
            await proxy.stop()
            del self.proxies[proxy.name]
            return 204, None
        if method == "POST" and "enabled" in body:
            if bool(body["enabled"]) and not proxy.enabled:
                await proxy.start()
            elif not body["enabled"] and proxy.enabled:
                await proxy.stop()
            return 200, proxy.to_json()
        raise ApiError(405, f"{method} not allowed on /proxies/{proxy.name}")

    def _toxics(self, method: str, proxy: Proxy, body: dict[str, Any]) -> tuple[int, Any]:
        if method == "GET":
            return 200, [t.to_json() for t in proxy.toxics.values()]
        if method != "POST":
            raise ApiError(405, f"{method} not allowed on toxics")
        toxic = Toxic.from_json(body)
        if toxic.name in proxy.toxics:
            raise ApiError(409, f"toxic {toxic.name!r} already exists on {proxy.name}")
        proxy.toxics[toxic.name] = toxic
        proxy.changed()
        logger.info("proxy %s: added toxic %s", proxy.name, toxic.to_json())
        return 200, toxic.to_json()

    def _one_toxic(self, method: str, proxy: Proxy, name: str) -> tuple[int, Any]:
        if name not in proxy.toxics:
            raise ApiError(404, f"no toxic {name!r} on proxy {proxy.name}")
        if method == "GET":
            return 200, proxy.toxics[name].to_json()
        if method == "DELETE":
            del proxy.toxics[name]
            proxy.changed()
            logger.info("proxy %s: removed toxic %s", proxy.name, name)
            return 204, None
        raise ApiError(405, f"{method} not allowed on a toxic")


def _join(address: tuple[str, int]) -> str:
    return f"{address[0]}:{address[1]}"


_REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 404: "Not Found",
            405: "Method Not Allowed", 409: "Conflict"}


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, Any]]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    request_line, *header_lines = head.split("\r\n")
    method, path, _ = request_line.split(" ", 2)
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
    length = int(headers.get("content-length", "0"))
    raw = await reader.readexactly(length) if length else b""
    body = json.loads(raw) if raw.strip() else {}
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return method.upper(), path, body


async def serve(specs: list[tuple[str, str, str]], control: str,
                ready: Callable[[], Awaitable[None]] | None = None) -> None:
    """Start every proxy and the control API, then serve forever."""
    proxies = {}
    for name, listen, upstream in specs:
        proxy = Proxy(name, parse_address(listen), parse_address(upstream, "127.0.0.1"))
        await proxy.start()
        proxies[name] = proxy
    api = Control(proxies)
    server = await asyncio.start_server(api.handle, *parse_address(control), reuse_address=True)
    logger.info("control API on %s (%d proxies)", control, len(proxies))
    if ready is not None:
        await ready()
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    """Entry point: proxies from $PROXIES and --proxy, control address from $PROXY_CONTROL or --control."""
    parser = argparse.ArgumentParser(prog="python3 -m harness.faults.proxy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proxy", action="append", default=[], help="name=listen>upstream (repeatable)")
    parser.add_argument("--control", default=os.environ.get("PROXY_CONTROL", DEFAULT_CONTROL))
    parser.add_argument("--log-level", default=os.environ.get("PROXY_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    try:
        specs = parse_proxies(",".join([os.environ.get("PROXIES", ""), *args.proxy]))
    except ApiError as exc:
        parser.error(str(exc))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        asyncio.run(serve(specs, args.control))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
