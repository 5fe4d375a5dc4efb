"""Regression: a worker registered with the wrong hive after two hives restarted and swapped addresses.

aiohttp's DNS cache (10 s) kept the old address of `hive-1`, which the restarted `hive-2` now held.
Every service's client session must resolve names on each new connection.
"""

from __future__ import annotations

import asyncio

import aiohttp

from services.common.http import client_session


def test_client_sessions_do_not_cache_name_resolution() -> None:
    async def connector_caches() -> bool:
        async with client_session(aiohttp.ClientTimeout(total=1.0)) as session:
            connector = session.connector
            assert isinstance(connector, aiohttp.TCPConnector)
            return connector.use_dns_cache

    assert asyncio.run(connector_caches()) is False
