"""The load driver's lean HTTP/1.1 path against hand-written servers: framing, keep-alive, failures.

Each server answers with exact bytes, so every framing rule (Content-Length, chunked, read to
close, Connection: close, HTTP/1.0) and every failure (reset mid-body, garbage, silence, refused)
is exercised on the wire. The driver-level tests check that a redirect still goes through aiohttp.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest

from harness.load import RequestSpec, rawhttp, run_closed

Answer = Callable[[bytes], bytes | None]  # request bytes -> response bytes (None: close without answering)


async def _serve(answer: Answer, connections: list[int]) -> asyncio.AbstractServer:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                body = await reader.readexactly(length) if length else b""
                reply = answer(head + body)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
                framed = b"Content-Length" in reply or b"chunked" in reply or reply.startswith(b"HTTP/1.1 204")
                if b"Connection: close" in reply or reply.startswith(b"HTTP/1.0") or not framed:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def _run(answer: Answer, data: bytes, *, limit: int = 2, timeout: float = 2.0, times: int = 1
         ) -> tuple[list[tuple[int, bytes] | BaseException], int]:
    async def main() -> tuple[list[tuple[int, bytes] | BaseException], int]:
        connections: list[int] = []
        server = await _serve(answer, connections)
        port = server.sockets[0].getsockname()[1]
        pool = rawhttp.Pool("127.0.0.1", port, limit)
        results: list[tuple[int, bytes] | BaseException] = []
        for _ in range(times):
            try:
                results.append(await pool.request(data, timeout))
            except Exception as exc:  # noqa: BLE001 - the test looks at which
                results.append(exc)
        pool.close()
        server.close()
        return results, len(connections)

    return asyncio.run(main())


GET = rawhttp.request_bytes("GET", "127.0.0.1", "/x?a=1", {}, None)


def test_the_request_line_host_and_length_are_written_once() -> None:
    data = rawhttp.request_bytes("POST", "svc:8080", "/p?q=1", {"Content-Type": "application/json",
                                                                "Host": "ignored", "Content-Length": "9"}, b"{}")
    assert data == (b"POST /p?q=1 HTTP/1.1\r\nHost: svc:8080\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 2\r\n\r\n{}")


def test_content_length_answers_reuse_one_connection() -> None:
    results, connections = _run(lambda req: b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", GET, times=3)
    assert results == [(200, b"hello")] * 3 and connections == 1


def test_a_chunked_answer_is_joined() -> None:
    reply = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"
    results, connections = _run(lambda req: reply, GET, times=2)
    assert results == [(201, b"abcde")] * 2 and connections == 1


def test_an_answer_without_length_is_read_to_close_and_the_next_request_reconnects() -> None:
    results, connections = _run(lambda req: b"HTTP/1.1 200 OK\r\n\r\nall of it", GET, times=2)
    assert results == [(200, b"all of it")] * 2 and connections == 2


@pytest.mark.parametrize("reply", [b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
                                   b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"])
def test_connection_close_and_http_1_0_retire_the_connection(reply: bytes) -> None:
    results, connections = _run(lambda req: reply, GET, times=2)
    assert results == [(200, b"ok")] * 2 and connections == 2


def test_a_204_has_no_body_even_without_a_length() -> None:
    results, connections = _run(lambda req: b"HTTP/1.1 204 No Content\r\n\r\n", GET, times=2)
    assert results == [(204, b"")] * 2 and connections == 1


def test_a_connection_cut_mid_body_is_disconnected() -> None:
    results, _ = _run(lambda req: b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\nConnection: close\r\n\r\nshort", GET)
    assert isinstance(results[0], rawhttp.Disconnected)


def test_garbage_is_a_bad_response() -> None:
    results, _ = _run(lambda req: b"SSH-2.0-OpenSSH\r\n\r\n", GET)
    assert isinstance(results[0], rawhttp.BadResponse)


def test_silence_is_a_timeout_within_the_request_timeout() -> None:
    async def main() -> BaseException:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(5)

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        pool = rawhttp.Pool("127.0.0.1", server.sockets[0].getsockname()[1], 1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await pool.request(GET, 0.3)
        except TimeoutError as exc:
            assert loop.time() - started < 1.5
            assert pool.open == 0  # the timed-out connection is dropped, not reused
            return exc
        finally:
            server.close()
        raise AssertionError("no timeout")

    assert isinstance(asyncio.run(main()), TimeoutError)


def test_a_refused_connection_is_connect_failed() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def main() -> None:
        pool = rawhttp.Pool("127.0.0.1", port, 1)
        with pytest.raises(rawhttp.ConnectFailed) as caught:
            await pool.request(GET, 1.0)
        assert isinstance(caught.value.cause, ConnectionRefusedError) and pool.open == 0

    asyncio.run(main())


def test_the_pool_never_opens_more_than_its_limit() -> None:
    async def main() -> tuple[int, int]:
        connections: list[int] = []

        def slow(req: bytes) -> bytes:
            return b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n."

        server = await _serve(slow, connections)
        pool = rawhttp.Pool("127.0.0.1", server.sockets[0].getsockname()[1], 3)
        results = await asyncio.gather(*(pool.request(GET, 2.0) for _ in range(30)))
        pool.close()
        server.close()
        return len(results), len(connections)

    assert asyncio.run(main()) == (30, 3)


def test_the_driver_follows_a_redirect_through_aiohttp(server: str) -> None:
    result = run_closed(RequestSpec(server + "/redirect-to-health"), users=1, requests_per_user=3)
    assert result.status_counts == {200: 3}, result.status_counts


def test_plain_http_load_goes_through_the_lean_path_and_streams_do_not(server: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[bytes] = []
    original = rawhttp.Pool.request

    async def counting(self: rawhttp.Pool, data: bytes, timeout: float) -> tuple[int, bytes]:
        sent.append(data)
        return await original(self, data, timeout)

    monkeypatch.setattr(rawhttp.Pool, "request", counting)
    result = run_closed(RequestSpec(server + "/health"), users=2, requests_per_user=5)
    assert result.status_counts == {200: 10} and len(sent) == 10
    assert sent[0].startswith(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1:")
    run_closed(RequestSpec(server + "/sse", stream=True), users=1, requests_per_user=1)
    assert len(sent) == 10  # the SSE stream went through aiohttp
