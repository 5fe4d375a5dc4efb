"""A small aiohttp server on 127.0.0.1, run in a background thread, for driver tests."""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
from collections.abc import Iterator

import pytest
from aiohttp import web


def _app() -> web.Application:
    ids = itertools.count(1)
    serial = asyncio.Lock()

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def jobs(_: web.Request) -> web.Response:
        return web.json_response({"job_id": f"j-{next(ids)}"}, status=201)

    async def same_job(_: web.Request) -> web.Response:
        return web.json_response({"job_id": "always-the-same"})

    async def echo(request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        return web.json_response({"seen": {"auth": request.headers.get("Authorization"), "body": body}})

    async def serial_slow(request: web.Request) -> web.Response:
        # One request at a time, each taking `delay`: the server's queue grows under load.
        async with serial:
            await asyncio.sleep(float(request.query.get("delay", "0.02")))
        return web.json_response({"ok": True})

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query.get("delay", "0.02")))
        return web.json_response({"ok": True})

    async def status(request: web.Request) -> web.Response:
        return web.json_response({}, status=int(request.match_info["code"]))

    async def sse(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b": comment, not an event\n\n")
        await asyncio.sleep(float(request.query.get("first", "0.2")))
        await response.write(b"data: {\"n\": 1}\n\n")
        await asyncio.sleep(float(request.query.get("then", "0.1")))
        await response.write(b"data: {\"n\": 2}\n\n")
        await response.write_eof()
        return response

    async def reset(request: web.Request) -> web.Response:
        await request.read()
        assert request.transport is not None
        request.transport.close()  # the request was sent and read: the client cannot know what happened
        await asyncio.sleep(0.05)
        return web.json_response({})

    async def redirect(_: web.Request) -> web.Response:
        raise web.HTTPFound("/health")

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/redirect-to-health", redirect)
    app.router.add_post("/jobs", jobs)
    app.router.add_post("/same-job", same_job)
    app.router.add_post("/echo", echo)
    app.router.add_get("/echo", echo)
    app.router.add_get("/serial", serial_slow)
    app.router.add_get("/slow", slow)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/sse", sse)
    app.router.add_post("/reset", reset)
    return app


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """Base URL of a fresh test server (fresh state per test module)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, object] = {}

    async def start() -> None:
        runner = web.AppRunner(_app(), access_log=None, shutdown_timeout=0.2)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        holder["runner"] = runner
        holder["port"] = runner.addresses[0][1]
        ready.set()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()
        loop.run_until_complete(holder["runner"].cleanup())  # type: ignore[attr-defined]
        leftovers = asyncio.all_tasks(loop)
        for task in leftovers:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
        loop.close()

    thread = threading.Thread(target=serve, name="load-test-server", daemon=True)
    thread.start()
    assert ready.wait(10), "test server did not start"
    yield f"http://127.0.0.1:{holder['port']}"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
