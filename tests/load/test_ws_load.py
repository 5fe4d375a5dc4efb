"""WebSocket load: latency, delivery accounting and connection failures against a local aiohttp server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from harness.errors import LoadError
from harness.load.results import LoadResult
from harness.load.ws import WsLoad, WsRun, WsSpec, run_ws, ws_load


async def _echo(request: web.Request) -> web.StreamResponse:
    if request.headers.get("Authorization") != "Bearer ok":
        return web.json_response({"error": "bad token"}, status=401)
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    drop_every = int(request.query.get("drop_every", "0"))
    count = 0
    async for message in ws:
        count += 1
        if drop_every and count % drop_every == 0:
            continue  # lose this one
        await ws.send_str(message.data)
    return ws


async def _push(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    request.app[SUBSCRIBERS].append(ws)
    async for _ in ws:
        pass
    return ws


async def publish(app: web.Application, jobs: list[str], skip: str = "") -> None:
    for ws in app[SUBSCRIBERS]:
        for job in jobs:
            for kind in ("job_started", "job_completed"):
                if job == skip and kind == "job_completed" and ws is app[SUBSCRIBERS][0]:
                    continue
                frame = {"type": kind, "job_id": job, "published_at": time.time()}
                await ws.send_str(json.dumps(frame))


Scenario = Callable[[str, web.Application], Awaitable[None]]
SUBSCRIBERS = web.AppKey("subscribers", list)


@pytest.fixture
def serve() -> Callable[[Scenario], None]:
    def runner(scenario: Scenario) -> None:
        async def main() -> None:
            app = web.Application()
            app[SUBSCRIBERS] = []
            app.router.add_get("/echo", _echo)
            app.router.add_get("/push", _push)
            server = web.AppRunner(app)
            await server.setup()
            site = web.TCPSite(server, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            try:
                await scenario(f"http://127.0.0.1:{port}", app)
            finally:
                await server.cleanup()

        asyncio.run(main())

    return runner


def token(ok: bool = True) -> Callable[[int], dict[str, str]]:
    return lambda conn: {"Authorization": "Bearer ok" if ok or conn else "Bearer bad"}


def test_echo_load_measures_every_reply_and_full_delivery(serve: Callable[[Scenario], None]) -> None:
    results: list[LoadResult] = []

    async def scenario(url: str, app: web.Application) -> None:
        spec = WsSpec(url + "/echo", headers=token(), message='{"id": "{id}", "n": {seq}}')
        results.append(await ws_load(spec, connections=4, duration=0.3, linger=1.0))

    serve(scenario)
    result = results[0]
    assert result.mode == "websocket" and result.extra["connections"] == 4
    assert result.extra["connection_failures"] == 0
    assert result.extra["sent"] == result.extra["replied"] == result.count > 20
    assert result.extra["delivery_ratio"] == 1.0 and result.success_rate == 1.0
    assert 0 < result.percentiles()["p99"] < 0.5 and result.throughput > 10


def test_lost_replies_and_refused_connections_are_counted(serve: Callable[[Scenario], None]) -> None:
    results: list[LoadResult] = []

    async def scenario(url: str, app: web.Application) -> None:
        spec = WsSpec(url + "/echo?drop_every=4", headers=token(ok=False), message='{"id": "{id}"}', rate=50)
        results.append(await ws_load(spec, connections=3, duration=0.4, linger=0.3))

    serve(scenario)
    extra = results[0].extra
    assert extra["connection_failures"] == 1 and extra["failures"] == ["handshake refused: HTTP 401"]
    assert extra["sent"] > 20 and extra["replied"] < extra["sent"]
    assert 0.6 < extra["delivery_ratio"] < 0.9  # every 4th message was dropped by the server
    assert results[0].error_counts["no reply"] == extra["sent"] - extra["replied"]
    assert results[0].status_counts[401] == 1


def test_subscribers_expect_ids_and_measure_publish_to_receipt(serve: Callable[[Scenario], None]) -> None:
    results: list[LoadResult] = []

    async def scenario(url: str, app: web.Application) -> None:
        spec = WsSpec(url + "/push", id_path="job_id", done_kinds=frozenset({"job_completed"}),
                      published_path="published_at")
        run = WsRun(spec, 3)
        await run.open()
        while len(app[SUBSCRIBERS]) < 3:
            await asyncio.sleep(0.01)
        await publish(app, ["j1", "j2"], skip="j2")
        run.expect([(conn, job) for conn in range(3) for job in ("j1", "j2")])
        results.append(await run.finish(linger=0.5))

    serve(scenario)
    result = results[0]
    assert result.extra["expected"] == 6 and result.extra["delivered"] == 5
    assert result.extra["delivery_ratio"] == pytest.approx(5 / 6)
    assert result.error_counts == {"not delivered": 1}
    assert result.ok_count == 11  # 3 subscribers x 4 frames, one completion withheld
    assert result.percentiles()["max"] < 1.0


def test_background_load_opens_then_finishes_from_another_thread(serve: Callable[[Scenario], None]) -> None:
    async def scenario(url: str, app: web.Application) -> None:
        spec = WsSpec(url + "/push", id_path="job_id", done_kinds=frozenset({"job_completed"}))
        load = await asyncio.to_thread(lambda: WsLoad(spec).start(connections=2))
        while len(app[SUBSCRIBERS]) < 2:
            await asyncio.sleep(0.01)
        load.expect([(0, "a"), (1, "a")])
        await publish(app, ["a"])
        result = await asyncio.to_thread(load.finish, 2.0)
        assert result.extra["delivery_ratio"] == 1.0 and result.elapsed < 2.0

    serve(scenario)


def test_a_target_outside_loopback_is_refused() -> None:
    with pytest.raises(LoadError, match="neither loopback"):
        run_ws(WsSpec("ws://8.8.8.8/x"), connections=1, duration=0.1)




def test_the_load_steps_run_senders_and_check_delivery(tmp_path: Any) -> None:
    import runpy
    import threading

    from behave.step_registry import registry

    from harness.env.config import Settings
    from harness.run.session import Environments, Session
    from tests.steps.kit import REPO, STEP_MODULES, FakeContext, FakeEnv, run

    async def open_echo(request: web.Request) -> web.StreamResponse:
        assert request.headers["Authorization"].startswith("Bearer ")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            await ws.send_str(message.data)
        return ws

    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_get("/e", open_echo)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    registry.clear()
    for name in (*STEP_MODULES, "load_steps", "ws_load_steps"):
        runpy.run_path(str(REPO / "harness" / "stepdefs" / f"{name}.py"), run_name=f"generic_steps.{name}")
    settings = Settings(root=tmp_path)
    session = Session(settings, Environments(settings, "run", {}))
    session._env = FakeEnv(f"http://127.0.0.1:{port}")  # type: ignore[assignment]
    try:
        run(FakeContext(session), '''
    When 8 WebSocket clients each send messages to "/e" on "web" as tenant "t" at 0 per second for 0.3 seconds with:
      """
      {"id": "{id}"}
      """
            Then at least 99% of the messages were delivered
            And no WebSocket connection failed
            And at least 99% succeed
            And the p99 latency is below 1000 ms
            ''')
        with pytest.raises(AssertionError, match=r"100.00% of the messages were delivered \(\d+ of \d+\), below 101%"):
            run(FakeContext(session), "Then at least 101% of the messages were delivered")
    finally:
        session.end_scenario()
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def test_a_sender_without_replies_stops_reply_timeout_after_the_end(serve: Callable[[Scenario], None]) -> None:
    results: list[LoadResult] = []

    async def scenario(url: str, app: web.Application) -> None:
        spec = WsSpec(url + "/echo?drop_every=1", headers=token(), message='{"id": "{id}"}', reply_timeout=0.3)
        started = time.monotonic()
        results.append(await ws_load(spec, connections=2, duration=0.5, linger=0.2))
        assert time.monotonic() - started < 2.0  # the run's duration + reply_timeout, not forever

    serve(scenario)
    extra = results[0].extra
    assert (extra["sent"], extra["replied"], extra["delivery_ratio"]) == (2, 0, 0.0)
    assert results[0].error_counts == {"no reply": 2}
