"""A lean HTTP/1.1 client for the load driver's hot path: keep-alive connections on asyncio protocols.

Why: aiohttp's client spends about 150 µs of Python per request (request and response objects,
header multidicts, tracing hooks); at 30 connections on a 2-core machine that made the driver
0.65x ``wrk -t1`` on the same endpoint (bench/load_vs_peers.py). A load request needs none of it:
the request bytes are built once per spec, and the answer needs only its status and its body.

Used for plain ``http://`` requests that read a whole body (not SSE streams). What it does not
do, the driver's aiohttp path does: redirects (a 3xx answer is handed back to the caller, which
repeats the request through aiohttp), TLS, proxies and cookies. Responses are parsed as HTTP/1.1
says: ``Content-Length``, ``Transfer-Encoding: chunked``, or read to close; ``Connection: close``
or an HTTP/1.0 answer retires the connection.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import cast

_CRLF2 = b"\r\n\r\n"


class ConnectFailed(Exception):
    """The connection could not be opened: nothing was sent."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(str(cause))
        self.cause = cause


class Disconnected(Exception):
    """The server closed or reset the connection before the whole answer arrived."""


class BadResponse(Exception):
    """The bytes that came back are not an HTTP/1.x response."""


def request_bytes(method: str, host: str, target: str, headers: dict[str, str], body: bytes | None) -> bytes:
    """The request as sent on the wire (built once per spec, or per request for dynamic parts)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() not in ("host", "content-length")]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body if body else head


class _Conn(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.buffer = bytearray()
        self.status = 0
        self.length = -1  # body length; -1: not known yet; -2: chunked; -3: read to close
        self.head_end = -1
        self.keep = True
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass, but behaves as one

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter, self.waiter = self.waiter, None
        if waiter is None or waiter.done():
            return
        if self.length == -3 and self.head_end >= 0:
            waiter.set_result((self.status, bytes(self.buffer[self.head_end:])))
        else:
            waiter.set_exception(Disconnected(str(exc) if exc else "the server closed the connection"))

    def send(self, data: bytes) -> asyncio.Future[tuple[int, bytes]]:
        """Write a request; the future gives (status, body)."""
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.buffer.clear()
        self.status, self.length, self.head_end = 0, -1, -1
        self.transport.write(data)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if self.head_end < 0:
            end = buffer.find(_CRLF2)
            if end < 0:
                return
            self.head_end = end + 4
            try:
                self._head(bytes(buffer[:end]))
            except (ValueError, IndexError) as exc:
                self._fail(BadResponse(f"not an HTTP response: {bytes(buffer[:60])!r} ({exc})"))
                return
        if self.length >= 0:
            if len(buffer) - self.head_end >= self.length:
                self._done(bytes(buffer[self.head_end:self.head_end + self.length]))
        elif self.length == -2:
            body = _dechunk(buffer, self.head_end)
            if body is not None:
                self._done(body)

    def _head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        version, code = lines[0].split(b" ", 2)[:2]
        self.status = int(code)
        self.keep = version == b"HTTP/1.1"
        self.length = -3
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == b"content-length":
                self.length = int(value)
            elif key == b"transfer-encoding" and b"chunked" in value.lower():
                self.length = -2
            elif key == b"connection":
                self.keep = value.strip().lower() == b"keep-alive" or (self.keep and b"close" not in value.lower())
        if self.status in (204, 304) or 100 <= self.status < 200:
            self.length = 0
        if self.length == -3:
            self.keep = False

    def _done(self, body: bytes) -> None:
        waiter, self.waiter = self.waiter, None
        if not self.keep and self.transport is not None:
            self.transport.close()
            self.closed = True
        if waiter is not None and not waiter.done():
            waiter.set_result((self.status, body))

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if self.transport is not None:
            self.transport.close()
        self.closed = True
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)


def _dechunk(buffer: bytearray, start: int) -> bytes | None:
    """The body of a complete chunked message, or None while it is incomplete."""
    out = bytearray()
    at = start
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(bytes(buffer[at:line_end]).split(b";", 1)[0], 16)
        at = line_end + 2
        if size == 0:
            return bytes(out) if buffer.find(_CRLF2, line_end) >= 0 else None
        if len(buffer) < at + size + 2:
            return None
        out += buffer[at:at + size]
        at += size + 2


class Pool:
    """At most ``limit`` keep-alive connections to one host and port, handed out one request at a time."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port, self.limit = host, port, limit
        self.idle: deque[_Conn] = deque()
        self.open = 0
        self.waiting: deque[asyncio.Future[None]] = deque()

    async def request(self, data: bytes, timeout: float) -> tuple[int, bytes]:
        """Send DATA on a free connection; (status, body). Raises ConnectFailed, Disconnected,
        BadResponse or TimeoutError (after ``timeout`` seconds in all)."""
        async with asyncio.timeout(timeout):
            conn = await self._acquire()
            try:
                result = await conn.send(data)
            except BaseException:
                self._drop(conn)
                raise
            self._release(conn)
            return result

    async def _acquire(self) -> _Conn:
        while True:
            while self.idle:
                conn = self.idle.pop()
                if not conn.closed:
                    return conn
                self.open -= 1
            if self.open < self.limit:
                self.open += 1
                try:
                    _, conn = await asyncio.get_running_loop().create_connection(_Conn, self.host, self.port)
                except OSError as exc:
                    self.open -= 1
                    self._wake()
                    raise ConnectFailed(exc) from exc
                except BaseException:
                    self.open -= 1
                    self._wake()
                    raise
                return conn
            waiter = asyncio.get_running_loop().create_future()
            self.waiting.append(waiter)
            await waiter

    def _release(self, conn: _Conn) -> None:
        if conn.closed:
            self.open -= 1
        else:
            self.idle.append(conn)
        self._wake()

    def _drop(self, conn: _Conn) -> None:
        if conn.transport is not None:
            conn.transport.close()
        conn.closed = True
        self.open -= 1
        self._wake()

    def _wake(self) -> None:
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        """Close every idle connection (those in use close when their request ends or is cancelled)."""
        while self.idle:
            conn = self.idle.pop()
            if conn.transport is not None:
                conn.transport.close()
