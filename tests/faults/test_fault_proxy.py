"""The fault proxy in-process on loopback (no Docker): toxics, control API, client, link faults."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest

from harness.errors import FaultError
from harness.faults import Blackhole, FaultStack, Latency, ProxyApiError, ProxyClient, ResetPeer, Truncate
from harness.faults.proxy import Control, Proxy, parse_proxies


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


class Running:
    """An echo server, one proxy in front of it and the control API, on a loop in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.proxy_port, self.control_port = self.call(self._start())
        self.client = ProxyClient(f"http://127.0.0.1:{self.control_port}", timeout=2.0)

    def call(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(10)

    async def _start(self) -> tuple[int, int]:
        self.echo = await asyncio.start_server(_echo, "127.0.0.1", 0)
        echo_port = self.echo.sockets[0].getsockname()[1]
        self.proxy = Proxy("echo", ("127.0.0.1", 0), ("127.0.0.1", echo_port))
        await self.proxy.start()
        self.control = await asyncio.start_server(Control({"echo": self.proxy}).handle, "127.0.0.1", 0)
        return self.proxy.listen[1], self.control.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        await self.proxy.stop()
        for server in (self.control, self.echo):
            server.close()

    def stop(self) -> None:
        self.call(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.proxy_port), timeout=3)


@pytest.fixture
def running() -> Iterator[Running]:
    proxy = Running()
    try:
        yield proxy
    finally:
        proxy.stop()


def round_trip(sock: socket.socket, payload: bytes = b"ping") -> float:
    started = time.monotonic()
    sock.sendall(payload)
    received = b""
    while len(received) < len(payload):
        chunk = sock.recv(65536)
        assert chunk, "connection closed"
        received += chunk
    assert received == payload
    return time.monotonic() - started


def test_parse_proxies_env_format() -> None:
    assert parse_proxies("queen-hive-1=0.0.0.0:19200>hive-1:9200, db=:15432>db:5432") == [
        ("queen-hive-1", "0.0.0.0:19200", "hive-1:9200"), ("db", ":15432", "db:5432")]


def test_passes_data_without_toxics(running: Running) -> None:
    with running.connect() as sock:
        assert round_trip(sock) < 0.1


def test_latency_toxic_adds_its_delay_and_goes_away_on_revert(running: Running) -> None:
    with running.connect() as sock:
        base = round_trip(sock)
        with FaultStack() as stack:
            stack.inject(Latency(running.client, "echo", 300))
            assert len(running.client.toxics("echo")) == 1
            slow = round_trip(sock)
        fast = round_trip(sock)
    assert 0.25 <= slow - base <= 0.35
    assert fast < 0.1
    assert running.client.toxics("echo") == []


def test_reset_peer_resets_the_connection(running: Running) -> None:
    with running.connect() as sock:
        round_trip(sock)
        fault = ResetPeer(running.client, "echo", timeout_ms=100)
        fault.inject()
        try:
            time.sleep(0.3)
            with pytest.raises(ConnectionResetError):
                sock.sendall(b"x")
                sock.recv(10)
        finally:
            fault.revert()


def test_limit_data_truncates_then_closes(running: Running) -> None:
    fault = Truncate(running.client, "echo", limit_bytes=5)
    fault.inject()
    try:
        with running.connect() as sock:
            sock.sendall(b"0123456789")
            received = b""
            while chunk := sock.recv(100):
                received += chunk
        assert received == b"01234"
    finally:
        fault.revert()


def test_blackhole_holds_data_until_reverted(running: Running) -> None:
    with running.connect() as sock:
        fault = Blackhole(running.client, "echo")
        fault.inject()
        sock.settimeout(0.3)
        sock.sendall(b"held")
        with pytest.raises(socket.timeout):
            sock.recv(10)
        fault.revert()
        sock.settimeout(2)
        assert sock.recv(10) == b"held"


def test_api_errors_are_fault_errors_with_status(running: Running) -> None:
    with pytest.raises(ProxyApiError) as info:
        running.client.add_toxic("nope", "latency", {"latency": 1})
    assert info.value.status == 404
    with pytest.raises(ProxyApiError, match="unknown toxic type"):
        running.client.add_toxic("echo", "teleport", {})
    with pytest.raises(ProxyApiError, match="unknown attribute"):
        running.client.add_toxic("echo", "latency", {"latencyy": 1})
    running.client.remove_toxic("echo", "ghost", missing_ok=True)


def test_reset_removes_every_toxic(running: Running) -> None:
    running.client.add_toxic("echo", "latency", {"latency": 10})
    running.client.add_toxic("echo", "bandwidth", {"rate": 100}, stream="upstream")
    assert {t["name"] for t in running.client.proxies()["echo"]["toxics"]} == {
        "latency_downstream", "bandwidth_upstream"}
    running.client.reset()
    assert running.client.toxics("echo") == []


def test_unreachable_control_api_is_a_fault_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FaultError, match="does not answer"):
        ProxyClient(f"http://127.0.0.1:{port}", timeout=1).proxies()
