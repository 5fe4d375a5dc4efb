"""Regression: a worker registered with the wrong hive after two hives restarted and swapped addresses.

aiohttp's DNS cache (10 s) kept the old address of `hive-1`, which the restarted `hive-2` now held.
Later, under load, a heartbeat that once reached `hive-2` kept going there over its kept-alive
connection (features/workers.registration.feature:90 failed in a parallel run). Every service's
client session must resolve names and connect anew for each request.
"""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from services.common.http import client_session


def test_client_sessions_do_not_cache_name_resolution() -> None:
    async def connector_caches() -> bool:
        async with client_session(aiohttp.ClientTimeout(total=1.0)) as session:
            connector = session.connector
            assert isinstance(connector, aiohttp.TCPConnector)
            return connector.use_dns_cache

    assert asyncio.run(connector_caches()) is False


def test_each_request_opens_its_own_connection() -> None:
    async def peers_of_three_requests() -> list[object]:
        peers: list[object] = []

        async def handle(request: web.Request) -> web.Response:
            peers.append(request.transport.get_extra_info("peername") if request.transport else None)
            return web.json_response({"ok": True})

        app = web.Application()
        app.router.add_post("/beat", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            async with client_session(aiohttp.ClientTimeout(total=2.0)) as session:
                for _ in range(3):
                    async with session.post(f"http://localhost:{port}/beat", json={}) as resp:
                        assert resp.status == 200
        finally:
            await runner.cleanup()
        return peers

    peers = asyncio.run(peers_of_three_requests())
    assert len(peers) == 3 and len(set(peers)) == 3, peers
