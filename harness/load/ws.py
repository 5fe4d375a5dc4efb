"""WebSocket load: N connections that subscribe and/or send, with per-message latency and delivery.

    spec = WsSpec(url, headers=lambda conn: {...}, message='{"id": "{id}"}', rate=0)   # send, await reply (echo)
    result = run_ws(spec, connections=32, duration=5.0)          # a LoadResult (mode "websocket")

    load = WsLoad(WsSpec(url, headers=..., done_kinds={"job_completed"}, id_path="job_id",
                         published_path="published_at")).start(connections=50)     # subscribers, background
    ... cause events (an HTTP load run) ...
    load.expect([(conn, job_id), ...])      # what each connection must receive
    result = load.finish(linger=10.0)       # waits until all expected arrived (or linger), closes

Latency per message: send -> the frame whose ``id_path`` names it (echo; a closed-loop sender whose
template quotes ``"{id}"`` matches the reply by that quoted text, without parsing), or the publication time
carried at ``published_path`` (epoch seconds) -> receipt (pushed frames). Delivery: echo replies
received / messages sent, or expected ids received (a frame of a ``done_kinds`` kind) / expected.
The result is a ``LoadResult`` so the HTTP load's percentile, success and throughput checks apply;
one record per message or pushed frame, one failed record per refused or dropped connection and per
undelivered message; ``extra`` holds connections, failures, sent, received, expected, delivered.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from harness.errors import LoadError
from harness.load.driver import _quiet_gc
from harness.load.machine import Watch
from harness.load.results import LoadResult, RawRecord
from harness.load.spec import DEFAULT_LIMITS, Limits, check_target

NAN = math.nan


@dataclass(frozen=True)
class WsSpec:
    """What each connection does: where, with which headers, what it sends and what it waits for."""

    url: str
    headers: Callable[[int], Mapping[str, str]] | None = None
    message: str | None = None
    rate: float = 0.0
    id_path: str = "id"
    kind_path: str = "type"
    done_kinds: frozenset[str] = frozenset()
    published_path: str | None = None
    connect_timeout: float = 10.0
    reply_timeout: float = 10.0

    def http_url(self) -> str:
        """The URL as http(s), for the target guard."""
        return self.url.replace("ws://", "http://", 1).replace("wss://", "https://", 1)

    def ws_url(self) -> str:
        """The URL as ws(s)."""
        return self.url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)


@dataclass
class _Conn:
    index: int
    ws: aiohttp.ClientWebSocketResponse | None = None
    sent: dict[str, tuple[int, float]] = field(default_factory=dict)
    replied: set[str] = field(default_factory=set)
    delivered: set[str] = field(default_factory=set)
    frames: int = 0
    error: str | None = None
    status: int = 101


def _path_value(document: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


class WsRun:
    """One WebSocket load run on the running event loop (see the module docstring)."""

    def __init__(self, spec: WsSpec, connections: int, limits: Limits = DEFAULT_LIMITS) -> None:
        check_target(spec.http_url(), limits.allowed_networks)
        limits.check_run(count=None, duration=limits.max_duration, users=connections)
        self.spec, self.count = spec, connections
        self.conns = [_Conn(i) for i in range(connections)]
        self.records: list[RawRecord] = []
        self.expected: set[tuple[int, str]] = set()
        self.changed = asyncio.Event()
        self.t0, self.wall0 = time.perf_counter(), time.time()
        self.watch = Watch()
        self._id = tuple(spec.id_path.split("."))
        self._kind = tuple(spec.kind_path.split("."))
        self._published = tuple(spec.published_path.split(".")) if spec.published_path else ()
        self._session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(),
                                              connector=aiohttp.TCPConnector(limit=0))
        self._readers: list[asyncio.Task[None]] = []
        self._closing = False
        template = spec.message or ""
        plain = "{conn}" not in template and "{seq}" not in template
        self._parts = template.split("{id}") if plain else []

    async def open(self) -> None:
        """Connect every connection (concurrently); failures are recorded, not raised."""
        await asyncio.gather(*(self._connect(conn) for conn in self.conns))
        if self.spec.message is None or self.spec.rate > 0:  # closed-loop senders read their replies inline
            self._readers = [asyncio.ensure_future(self._read(c)) for c in self.conns if c.ws is not None]

    async def send_for(self, duration: float) -> None:
        """Each open connection sends ``message`` for ``duration`` s: at ``rate``/s, or each after its reply."""
        if self.spec.message is None:
            await asyncio.sleep(duration)
            return
        deadline = self.now() + duration
        senders = [asyncio.ensure_future(self._send_loop(c, deadline)) for c in self.conns if c.ws is not None]
        if not senders:
            return
        # A sender still waiting for a reply reply_timeout after the end stops; its message counts as lost.
        _, stuck = await asyncio.wait(senders, timeout=duration + self.spec.reply_timeout)
        for task in stuck:
            task.cancel()
        await asyncio.gather(*senders, return_exceptions=True)

    def expect(self, pairs: Iterable[tuple[int, str]]) -> None:
        """Ids each connection must receive in a frame of a ``done_kinds`` kind."""
        self.expected.update((conn, str(key)) for conn, key in pairs)
        self.changed.set()

    async def finish(self, linger: float) -> LoadResult:
        """Wait up to ``linger`` s for outstanding replies and expected ids, close, and build the result."""
        deadline = self.now() + linger
        while not self._complete() and self.now() < deadline:
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), max(0.0, deadline - self.now()))
            except TimeoutError:
                break
        end = self.now()
        await self.close()
        self._record_missing(end)
        return self._result(end)

    async def close(self) -> None:
        """Close every connection and the session."""
        self._closing = True
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        await asyncio.gather(*(c.ws.close() for c in self.conns if c.ws is not None and not c.ws.closed),
                             return_exceptions=True)
        await self._session.close()

    def now(self) -> float:
        """Seconds since the run started."""
        return time.perf_counter() - self.t0

    # -- inside ------------------------------------------------------------------------------

    async def _connect(self, conn: _Conn) -> None:
        headers = dict(self.spec.headers(conn.index)) if self.spec.headers else {}
        start = self.now()
        try:
            conn.ws = await asyncio.wait_for(
                self._session.ws_connect(self.spec.ws_url(), headers=headers, max_msg_size=0),
                self.spec.connect_timeout)
        except aiohttp.WSServerHandshakeError as exc:
            conn.status, conn.error = exc.status, f"handshake refused: HTTP {exc.status}"
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            conn.status, conn.error = 0, f"connect failed: {type(exc).__name__}"
        if conn.error:
            self.records.append((conn.index, -1, start, start, self.now(), NAN, conn.status, "fail", conn.error,
                                 None))

    async def _send_loop(self, conn: _Conn, deadline: float) -> None:
        assert conn.ws is not None and self.spec.message is not None
        if self.spec.rate <= 0:
            return await self._send_and_receive(conn, conn.ws, deadline)
        interval, seq, base = 1.0 / self.spec.rate, 0, self.now()
        # wait: a sender's schedule: each message waits for its intended send time (pacing, not a poll)
        while self.now() < deadline and not conn.ws.closed:
            key = f"c{conn.index}-s{seq}"
            intended = base + seq * interval
            if intended > self.now():
                await asyncio.sleep(intended - self.now())
            conn.sent[key] = (seq, intended)
            try:
                await conn.ws.send_str(self._text(key, conn.index, seq))
            except (aiohttp.ClientError, ConnectionError, RuntimeError):
                return
            seq += 1

    async def _send_and_receive(self, conn: _Conn, ws: aiohttp.ClientWebSocketResponse, deadline: float) -> None:
        """Closed loop, one task per connection: send, read frames until the reply, repeat (no reader task)."""
        now, text_type, seq, replied = self.now, aiohttp.WSMsgType.TEXT, 0, conn.replied
        records, index, quoted = self.records, conn.index, len(self._parts) == 2 and self._parts[0].endswith('"')
        while now() < deadline:
            key = f"c{index}-s{seq}"
            sent_at = now()
            conn.sent[key] = (seq, sent_at)
            try:
                await ws.send_str(self._text(key, index, seq))
                while key not in replied:
                    message = await ws.receive()
                    if message.type != text_type:
                        conn.error = None if message.type == aiohttp.WSMsgType.CLOSE else f"dropped: {message.type}"
                        return
                    if quoted and f'"{key}"' in message.data:  # the reply names its message: no need to parse
                        replied.add(key)
                        records.append((index, seq, sent_at, sent_at, now(), NAN, 101, "ok", None, key))
                        conn.frames += 1
                    else:
                        self._on_frame(conn, message.data, now(), 0.0)
            except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
                conn.error = f"dropped: {type(exc).__name__}"
                return
            seq += 1

    def _text(self, key: str, conn: int, seq: int) -> str:
        parts = self._parts
        if len(parts) == 2:
            return parts[0] + key + parts[1]
        assert self.spec.message is not None
        return self.spec.message.replace("{id}", key).replace("{conn}", str(conn)).replace("{seq}", str(seq))

    async def _read(self, conn: _Conn) -> None:
        assert conn.ws is not None
        try:
            async for message in conn.ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    self._on_frame(conn, message.data, self.now(), time.time())
        finally:
            if not self._closing and (conn.ws.close_code not in (None, 1000) or conn.ws.exception() is not None):
                conn.error = conn.error or f"dropped: close code {conn.ws.close_code}"
            self.changed.set()

    def _on_frame(self, conn: _Conn, text: str, at: float, wall: float) -> None:
        conn.frames += 1
        try:
            document = json.loads(text)
        except ValueError:
            return
        key = _path_value(document, self._id)
        key = None if key is None else str(key)
        sent = conn.sent.get(key) if key is not None else None
        if sent is not None and key not in conn.replied:
            conn.replied.add(key)  # type: ignore[arg-type]
            self.records.append((conn.index, sent[0], sent[1], sent[1], at, NAN, 101, "ok", None, key))
            if self._readers:
                self.changed.set()
            return
        if self._published:
            published = _path_value(document, self._published)
            if isinstance(published, (int, float)):
                intended = published - self.wall0
                self.records.append((conn.index, conn.frames, intended, intended, at, NAN, 101, "ok", None, key))
        if key is not None and self.spec.done_kinds:
            if str(_path_value(document, self._kind)) in self.spec.done_kinds:
                conn.delivered.add(key)
                self.changed.set()

    def _complete(self) -> bool:
        replies = all(len(c.replied) >= len(c.sent) for c in self.conns if c.ws is not None and not c.ws.closed)
        expected = all(key in self.conns[conn].delivered for conn, key in self.expected
                       if self.conns[conn].ws is not None)
        return replies and expected

    def _record_missing(self, end: float) -> None:
        for conn in self.conns:
            for key, (seq, sent_at) in conn.sent.items():
                if key not in conn.replied:
                    self.records.append((conn.index, seq, sent_at, sent_at, end, NAN, 101, "fail", "no reply", key))
        for conn_index, key in sorted(self.expected):
            if key not in self.conns[conn_index].delivered:
                self.records.append((conn_index, -1, end, end, end, NAN, 101, "fail", "not delivered", key))

    def _result(self, end: float) -> LoadResult:
        sent = sum(len(c.sent) for c in self.conns)
        replied = sum(len(c.replied) for c in self.conns)
        delivered = sum(1 for conn, key in self.expected if key in self.conns[conn].delivered)
        expected = sent + len(self.expected)
        extra = {
            "connections": self.count,
            "connection_failures": sum(1 for c in self.conns if c.error),
            "failures": sorted({c.error for c in self.conns if c.error}),
            "sent": sent, "replied": replied, "received": sum(c.frames for c in self.conns),
            "expected": expected, "delivered": replied + delivered,
            "delivery_ratio": (replied + delivered) / expected if expected else 1.0,
            "machine": self.watch.state().as_dict(),
        }
        self.records.sort(key=lambda r: r[4])
        return LoadResult(mode="websocket", method="WS", url=self.spec.ws_url(), users=self.count,
                          started_at=self.wall0, elapsed=end, raw=self.records, extra=extra)


async def ws_load(spec: WsSpec, *, connections: int, duration: float, linger: float = 5.0,
                  limits: Limits = DEFAULT_LIMITS) -> LoadResult:
    """Open, send (or listen) for ``duration`` s, wait up to ``linger`` s for what is outstanding, close."""
    run = WsRun(spec, connections, limits)
    try:
        await run.open()
        await run.send_for(duration)
        return await run.finish(linger)
    finally:
        await run.close()


def run_ws(spec: WsSpec, *, connections: int, duration: float, linger: float = 5.0,
           limits: Limits = DEFAULT_LIMITS) -> LoadResult:
    """Synchronous ``ws_load`` for steps and scripts (the collector kept out of the hot path, as for HTTP)."""
    with _quiet_gc():
        return asyncio.run(ws_load(spec, connections=connections, duration=duration, linger=linger,
                                   limits=limits))


class WsLoad:
    """A WebSocket load run on its own thread: open now, let other steps act, then expect and finish."""

    def __init__(self, spec: WsSpec, limits: Limits = DEFAULT_LIMITS) -> None:
        self.spec, self.limits = spec, limits
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="harness-ws-load", daemon=True)
        self._run: WsRun | None = None

    def start(self, connections: int) -> WsLoad:
        """Open CONNECTIONS connections (blocks until each connected or failed)."""
        self._thread.start()

        async def opened() -> WsRun:
            run = WsRun(self.spec, connections, self.limits)
            await run.open()
            return run

        self._run = self._call(opened(), self.spec.connect_timeout + 30)
        return self

    @property
    def run(self) -> WsRun:
        """The run (after start)."""
        if self._run is None:
            raise LoadError("the WebSocket load was not started", hint="call start(connections) first")
        return self._run

    def expect(self, pairs: Iterable[tuple[int, str]]) -> None:
        """Ids each connection must receive (thread-safe)."""
        items = list(pairs)
        self._loop.call_soon_threadsafe(self.run.expect, items)

    def finish(self, linger: float) -> LoadResult:
        """Wait for what is outstanding (``linger`` s at most), close, and return the result."""
        try:
            result: LoadResult = self._call(self.run.finish(linger), linger + 30)
            return result
        finally:
            self.stop()

    def stop(self) -> None:
        """Close everything and end the thread (safe to call twice)."""
        if not self._thread.is_alive():
            return
        if self._run is not None:
            try:
                self._call(self._run.close(), 10)
            except (LoadError, RuntimeError, aiohttp.ClientError):
                pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _call(self, coro: Any, timeout: float) -> Any:
        try:
            return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)
        except TimeoutError as exc:
            raise LoadError(f"the WebSocket load did not answer within {timeout:g} s",
                            hint="the server may hang; check its logs") from exc
