"""Named connections that stay open while other steps act: WebSockets and background SSE subscriptions.

    channels(session) -> Channels           made on first use in a scenario, closed at its end
    Channels.open_ws(name, request)         handshake now (raises ConnectionRefused when refused)
    Channels.subscribe(name, request)       an SSE request read in the background
    Channels.send(name, text) / close(name) / reconnect(name, params)
    Channels.get(name) -> Channel           its frames (harness.clients.frames) and how it ended

WebSockets and subscriptions open through the scenario's client link to their service
(harness.clients.links: a loopback fault proxy), so a fault put on "the client's link to S"
later reaches the connections already open too.

aiohttp is the client: it is already the load driver's engine (one WebSocket stack for steps and
load), it speaks both WebSocket and streamed HTTP on one event loop, and it reports the handshake
status and close codes. That loop runs in one daemon thread per scenario; steps (behave's thread)
wait on a condition variable that every arriving frame notifies, never by sleeping in a loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import aiohttp

from harness.clients import http, sse, tokens
from harness.clients.frames import Frame, decode, summary
from harness.clients.links import links
from harness.clients.scope import Scope
from harness.clients.transient import bounded
from harness.env.config import seconds_settings
from harness.errors import HarnessError

logger = logging.getLogger(__name__)
T = TypeVar("T")

WEBSOCKET = "WebSocket"
EVENT_STREAM = "event stream"
OPENING, OPEN, REFUSED, CLOSED, DROPPED = "opening", "open", "refused", "closed", "dropped"


class ChannelError(HarnessError):
    """A named connection is unknown, or could not be opened or used."""

    def __init__(self, message: str, *, name: str, hint: str, service: str = "") -> None:
        self.name = name
        self.service = service
        super().__init__(message, hint=hint)


class ConnectionRefused(ChannelError):
    """The server refused the handshake (status and body kept)."""

    def __init__(self, message: str, *, name: str, status: int, body: str, hint: str, service: str = "") -> None:
        self.status = status
        self.body = body
        super().__init__(message, name=name, hint=hint, service=service)


_SETTING_KEYS = {"wait": "ws_timeout", "connect": "ws_connect_timeout", "heartbeat": "ws_heartbeat"}


@dataclass(frozen=True)
class ChannelSettings:
    """Seconds: how long checks wait for frames, how long a handshake may take, the ping interval.

    The client pings every ``heartbeat`` seconds and drops a connection whose pong does not come
    within half of it, so a partitioned or frozen server is seen as a drop, not as silence.
    """

    wait: float = 10.0
    connect: float = 10.0
    heartbeat: float = 2.0

    @classmethod
    def build(cls, userdata: Mapping[str, str], environ: Mapping[str, str] | None = None) -> ChannelSettings:
        """From ``-D ws_timeout=…`` / ``ws_connect_timeout`` / ``ws_heartbeat`` or ``HARNESS_WS_TIMEOUT`` etc."""
        return cls(**seconds_settings(_SETTING_KEYS, userdata, environ))


@dataclass
class Channel:
    """A named connection's frames and state; written by the loop thread, read by steps."""

    name: str
    kind: str
    url: str
    request: http.Request
    state: str = OPENING
    status: int = 0
    body: str = ""
    close_code: int | None = None
    detail: str = ""
    epoch: int = 0
    opened_at: float = 0.0
    error: BaseException | None = None  # why it was refused or could not connect (the cause of ChannelError)
    frames: list[Frame] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition, repr=False)

    @property
    def ended(self) -> bool:
        """True once it is refused, closed or dropped."""
        return self.state in (REFUSED, CLOSED, DROPPED)

    def snapshot(self) -> list[Frame]:
        """The frames so far (a copy)."""
        with self.cond:
            return list(self.frames)

    def wait_for(self, ready: Callable[[list[Frame]], bool], timeout: float) -> list[Frame]:
        """Wait until ``ready(frames)`` or the connection ended or ``timeout``; return the frames then."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not ready(self.frames) and not self.ended:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return list(self.frames)

    def wait_ended(self, timeout: float) -> bool:
        """Wait until the connection ended; True when it did."""
        with self.cond:
            return self.cond.wait_for(lambda: self.ended, timeout)

    def describe(self, kind_path: str = "type") -> str:
        """What this connection is and did: state, close code, frame count and kinds, the last frame."""
        with self.cond:
            frames = list(self.frames)
            how = self.state
            if self.state == REFUSED:
                how = f"refused with HTTP {self.status}: {self.body[:300] or '(empty body)'}"
            elif self.state in (CLOSED, DROPPED):
                code = f" with code {self.close_code}" if self.close_code is not None else ""
                how = f"{self.state}{code}{': ' + self.detail if self.detail else ''}"
        last = frames[-1].describe() if frames else "none"
        return (f'{self.kind} "{self.name}" ({self.url}) is {how}; {len(frames)} frames arrived '
                f"({summary(frames, kind_path)}); last: {last}")

    def _update(self, **changes: Any) -> None:
        with self.cond:
            for key, value in changes.items():
                setattr(self, key, value)
            self.cond.notify_all()

    def _add(self, raw: str, at: float, event: str | None = None) -> None:
        with self.cond:
            self.frames.append(Frame(raw, decode(raw), at, len(self.frames) + 1, self.epoch, event))
            self.cond.notify_all()


class Channels:
    """A scenario's named connections on one background event loop."""

    def __init__(self, base_url: Callable[[str], str], *, mint: Callable[[tokens.TokenSpec], str] | None = None,
                 settings: ChannelSettings | None = None, clock: Callable[[], float] = time.perf_counter) -> None:
        self.settings = settings or ChannelSettings()
        self.kind_path = "type"
        self._base_url, self._mint, self._clock = base_url, mint, clock
        self._channels: dict[str, Channel] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._sockets: dict[str, aiohttp.ClientWebSocketResponse] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="harness-channels", daemon=True)
        self._thread.start()
        self._session: aiohttp.ClientSession = self._call(self._make_session())

    # -- opening -----------------------------------------------------------------------------

    def open_ws(self, name: str, request: http.Request, *, must_succeed: bool = True) -> Channel:
        """Open a WebSocket named ``name``; wait for the handshake; raise ConnectionRefused when refused."""
        channel = self._new(name, WEBSOCKET, request)
        self._call(self._connect_ws(channel, bounded(self.settings.connect)))
        if must_succeed:
            self._raise_if_refused(channel)
        return channel

    def subscribe(self, name: str, request: http.Request, *, must_succeed: bool = True) -> Channel:
        """Send an SSE request and read its events in the background as ``name``."""
        channel = self._new(name, EVENT_STREAM, request)
        self._call(self._connect_sse(channel))
        if must_succeed:
            self._raise_if_refused(channel)
        return channel

    def reconnect(self, name: str, params: tuple[tuple[str, str], ...] = ()) -> Channel:
        """Close ``name`` (if open) and open it again, with query ``params`` added or replaced."""
        channel = self.get(name)
        self._call(self._stop(name))
        kept = tuple(p for p in channel.request.params if p[0] not in {k for k, _ in params})
        channel.request = replace(channel.request, params=kept + params)
        channel.url = self._url(channel.request, channel.kind)
        channel._update(state=OPENING, status=0, body="", close_code=None, detail="", error=None)
        connect = bounded(self.settings.connect)
        self._call(self._connect_ws(channel, connect) if channel.kind == WEBSOCKET else self._connect_sse(channel))
        self._raise_if_refused(channel)
        return channel

    # -- using -------------------------------------------------------------------------------

    def get(self, name: str) -> Channel:
        """The connection named ``name``; a clear error naming the open ones otherwise."""
        if name not in self._channels:
            known = ", ".join(f'"{n}"' for n in sorted(self._channels)) or "none"
            raise ChannelError(f'no connection named "{name}" in this scenario (open so far: {known})', name=name,
                               hint=f'open it first: When I open a WebSocket "{name}" to "/path" on "SERVICE"')
        return self._channels[name]

    def send(self, name: str, text: str) -> None:
        """Send a text frame on the WebSocket ``name``."""
        channel = self.get(name)
        ws = self._sockets.get(name)
        if channel.kind != WEBSOCKET or ws is None or ws.closed:
            raise ChannelError(f"cannot send on {channel.describe(self.kind_path)}", name=name,
                               hint=f'reconnect it first: When I reconnect "{name}"')
        try:
            self._call(ws.send_str(text))
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
            raise ChannelError(f'sending on "{name}" failed ({type(exc).__name__}: {exc}); '
                               f"{channel.describe(self.kind_path)}", name=name,
                               hint="the server or the network dropped it; check its logs") from exc

    def close(self, name: str) -> None:
        """Close the connection ``name`` (code 1000 for a WebSocket)."""
        self.get(name)
        self._call(self._stop(name))

    def names(self) -> list[str]:
        """The names of this scenario's connections."""
        return sorted(self._channels)

    def shutdown(self) -> None:
        """Close every connection, the HTTP session and the loop thread."""
        try:
            for name in list(self._channels):
                self._call(self._stop(name))
            self._call(self._session.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            if not self._thread.is_alive():
                self._loop.close()

    # -- inside the loop ---------------------------------------------------------------------

    async def _make_session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, connect=self.settings.connect))

    async def _connect_ws(self, channel: Channel, connect: float) -> None:
        headers = self._headers(channel.request)
        try:
            ws = await asyncio.wait_for(self._session.ws_connect(channel.url, headers=headers,
                                                                 heartbeat=self.settings.heartbeat or None),
                                        connect)
        except aiohttp.WSServerHandshakeError as exc:
            body = await self._refusal_body(channel.url, headers)
            channel._update(state=REFUSED, status=exc.status, body=body, error=exc)
            return
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            channel._update(state=DROPPED, detail=f"could not connect: {type(exc).__name__}: {exc}", error=exc)
            return
        self._sockets[channel.name] = ws
        link = LinkEnd.watch(ws)
        channel._update(state=OPEN, status=101, epoch=channel.epoch + 1, opened_at=self._clock())
        self._tasks[channel.name] = asyncio.ensure_future(self._read_ws(channel, ws, link))

    async def _read_ws(self, channel: Channel, ws: aiohttp.ClientWebSocketResponse, link: LinkEnd) -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                channel._add(str(message.data), self._clock())
            elif message.type == aiohttp.WSMsgType.BINARY:
                channel._add(bytes(message.data).decode("utf-8", errors="replace"), self._clock())
        error = ws.exception()
        code = ws.close_code
        framed = code is not None and code != _NO_CLOSE_FRAME
        clean = framed and code is not None and code < 1002 and error is None
        detail = _close_reason(code) + " (the server's close frame)" if framed else link.describe(error)
        if channel.state != CLOSED:
            channel._update(state=CLOSED if clean else DROPPED, close_code=code, detail=detail)

    async def _connect_sse(self, channel: Channel) -> None:
        request = channel.request
        kwargs: dict[str, Any] = {"headers": self._headers(request)}
        if request.content is not None:
            kwargs["data"] = request.content.encode()
        try:
            response = await self._session.request(request.method, channel.url, **kwargs)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            channel._update(state=DROPPED, detail=f"could not connect: {type(exc).__name__}: {exc}", error=exc)
            return
        if response.status >= 300 or "text/event-stream" not in response.headers.get("Content-Type", ""):
            body = await response.text(errors="replace")
            response.release()
            channel._update(state=REFUSED, status=response.status, body=body)
            return
        channel._update(state=OPEN, status=response.status, epoch=channel.epoch + 1, opened_at=self._clock())
        self._tasks[channel.name] = asyncio.ensure_future(self._read_sse(channel, response))

    async def _read_sse(self, channel: Channel, response: aiohttp.ClientResponse) -> None:
        parser = sse.Parser(self._clock)
        try:
            async for raw in response.content:
                event = parser.feed(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
                if event is not None:
                    channel._add(event.raw, self._clock(), event.kind)
            channel._update(state=CLOSED, detail="the server ended the stream")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            channel._update(state=DROPPED, detail=f"{type(exc).__name__}: {exc}")
        finally:
            response.release()

    async def _stop(self, name: str) -> None:
        channel = self._channels[name]
        was_open = channel.state == OPEN
        if was_open:
            channel._update(state=CLOSED, close_code=1000 if channel.kind == WEBSOCKET else None,
                            detail="closed by the scenario")
        ws = self._sockets.pop(name, None)
        if ws is not None and not ws.closed:
            await ws.close()
        task = self._tasks.pop(name, None)
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _refusal_body(self, url: str, headers: dict[str, str]) -> str:
        """The refused handshake's reason: the body of the same request without Upgrade."""
        try:
            async with self._session.get(_http_url(url), headers=headers) as response:
                return (await response.text(errors="replace"))[:500]
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return f"(no body: {type(exc).__name__})"

    # -- helpers -----------------------------------------------------------------------------

    def _new(self, name: str, kind: str, request: http.Request) -> Channel:
        if name in self._channels:
            self._call(self._stop(name))
        channel = Channel(name, kind, self._url(request, kind), request)
        self._channels[name] = channel
        return channel

    def _url(self, request: http.Request, kind: str) -> str:
        if re.match(r"(?:https?|wss?)://", request.path):
            base = request.path
        else:
            if not request.service:
                raise ChannelError(f"no service named for {kind} {request.path}", name="",
                                   hint='add on "SERVICE" to the step')
            path = request.path if request.path.startswith("/") else "/" + request.path
            base = self._base_url(request.service).rstrip("/") + path
        query = "&".join(f"{k}={v}" for k, v in request.params)
        url = f"{base}{'&' if '?' in base else '?'}{query}" if query else base
        return _ws_url(url) if kind == WEBSOCKET else _http_url(url)

    def _headers(self, request: http.Request) -> dict[str, str]:
        headers = dict(request.credentials.header(self._mint))
        if request.json_body:
            headers["Content-Type"] = "application/json"
        headers.update(request.headers)
        return headers

    def _raise_if_refused(self, channel: Channel) -> None:
        service = channel.request.service or ""
        if channel.state == REFUSED:
            raise ConnectionRefused(f"the {channel.kind} handshake was refused: {channel.describe(self.kind_path)}",
                                    name=channel.name, status=channel.status, body=channel.body, service=service,
                                    hint="check the token or credentials and the path; to expect a refusal "
                                         f'write: When I try to open a WebSocket "{channel.name}" ...'
                                    ) from channel.error
        if channel.state == DROPPED:
            raise ChannelError(f"could not open {channel.describe(self.kind_path)}", name=channel.name, service=service,
                               hint="is the service running and its port published? `harness status` shows it"
                               ) from channel.error

    def _call(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout=self.settings.connect * 3 + 5)


_NO_CLOSE_FRAME = 1006  # what a WebSocket client reports when the connection ended without a close frame


def _close_reason(code: int | None) -> str:
    reasons = {1000: "normal closure", 1001: "going away", 1008: "policy violation", 1011: "server error",
               1013: "try again later"}
    return reasons.get(code or 0, f"close code {code}")


@dataclass
class LinkEnd:
    """How the TCP connection under a WebSocket ended: the server's FIN (``eof``), a reset, or neither seen.

    A close frame aside, aiohttp reports every end alike (code 1006); its transport does not: a server
    that ends the connection after its last frame sends a FIN (``eof_received``), a cut connection is
    reset (``connection_lost(ConnectionResetError)``) or falls silent (the heartbeat gives up).
    """

    eof: bool = False
    lost: BaseException | None = None

    @classmethod
    def watch(cls, ws: aiohttp.ClientWebSocketResponse) -> LinkEnd:
        """Start watching the connection under ``ws`` (aiohttp keeps it private: unseen when it moves)."""
        end = cls()
        protocol = getattr(getattr(ws, "_conn", None), "protocol", None)
        if protocol is None:
            return end
        eof_received, connection_lost = protocol.eof_received, protocol.connection_lost

        def on_eof() -> Any:
            end.eof = True
            return eof_received()

        def on_lost(exc: BaseException | None) -> Any:
            end.lost = exc
            return connection_lost(exc)

        protocol.eof_received, protocol.connection_lost = on_eof, on_lost
        return end

    def describe(self, error: BaseException | None) -> str:
        """Why a connection ended without a close frame, in the words a failure message needs."""
        if self.lost is not None:
            return (f"no close frame (code 1006): the connection was cut ({type(self.lost).__name__}: "
                    f"{self.lost or 'reset'})")
        if self.eof:
            return ("no close frame (code 1006): the server ended the connection after its last frame "
                    "(TCP FIN, a normal end without a WebSocket close), not a network drop")
        if isinstance(error, aiohttp.ServerTimeoutError | TimeoutError):
            return (f"no close frame (code 1006): the connection was cut (no answer to the heartbeat: "
                    f"{type(error).__name__}: {error})")
        why = f": {type(error).__name__}: {error}" if error is not None else ""
        return f"no close frame (code 1006): the connection ended{why}"


def _ws_url(url: str) -> str:
    return re.sub(r"^http", "ws", url)


def _http_url(url: str) -> str:
    return re.sub(r"^ws", "http", url)


def channels(session: Scope) -> Channels:
    """The scenario's named connections (made on first use, all closed when the scenario ends)."""
    def make() -> Channels:
        link = links(session)  # first, so its proxies stop after the connections through them closed
        made = Channels(link.url,
                        mint=lambda spec: tokens.mint(session.env.name, session.env.params, spec),
                        settings=ChannelSettings.build(session.userdata))
        session.cleanup(made.shutdown, "close the scenario's WebSockets and subscriptions")
        return made

    found: Channels = session.extension("ws", make)
    return found
