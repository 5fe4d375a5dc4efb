"""The queen's job event channel: the hub's numbering and window, and GET /v1/events over a real WebSocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from services.common.auth import mint
from services.queen.app import Queen
from services.queen.events import EventHub
from tests.services.stack import SECRET as STACK_SECRET
from tests.services.stack import Stack
from tests.services.test_queen_api import BODY, SECRET, auth, run


def test_seq_is_per_tenant_and_increasing_and_tenants_are_isolated() -> None:
    async def main() -> None:
        hub = EventHub(window=10)
        _, acme = hub.subscribe("acme", None)
        _, other = hub.subscribe("other", None)
        hub.publish("acme", "job_queued", {"job_id": "j1"})
        hub.publish("other", "job_queued", {"job_id": "j2"})
        hub.publish("acme", "job_started", {"job_id": "j1"})
        got = [acme.get_nowait(), acme.get_nowait()]
        assert [(f["type"], f["seq"]) for f in got] == [("job_queued", 1), ("job_started", 2)]
        assert acme.empty()
        assert other.get_nowait()["seq"] == 1 and other.empty()

    asyncio.run(main())


def test_replay_after_since_and_a_gap_beyond_the_window_is_named() -> None:
    hub = EventHub(window=3)
    for i in range(5):
        hub.publish("acme", "token", {"index": i})
    assert [f["seq"] for f in hub.replay("acme", 3)] == [4, 5]
    assert hub.replay("acme", 5) == []
    lost, *kept = hub.replay("acme", 0)
    assert lost["type"] == "events_lost" and lost["missing"] == 2 and lost["first_kept"] == 3
    assert [f["seq"] for f in kept] == [3, 4, 5]


def test_a_slow_subscriber_is_cut_off_instead_of_growing_without_bound() -> None:
    async def main() -> None:
        hub = EventHub(queue_limit=2)
        _, queue = hub.subscribe("acme", None)
        for i in range(4):
            hub.publish("acme", "token", {"index": i})
        assert [queue.get_nowait() for _ in range(3)][-1] is None
        assert hub.subscribers("acme") == 0

    asyncio.run(main())


def test_handshake_refuses_bad_tokens_with_401_and_a_reason(tmp_path: Path) -> None:
    async def scenario(client: TestClient, queen: Queen) -> None:
        for headers, code in (({}, "missing_token"), (auth(ttl=-5), "token_expired"),
                              ({"Authorization": "Bearer nope"}, "malformed_token")):
            with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
                await client.ws_connect("/v1/events", headers=headers)
            assert caught.value.status == 401
            resp = await client.get("/v1/events", headers=headers)
            assert (await resp.json())["error"]["code"] == code
        resp = await client.get("/v1/events?since=x", headers=auth())
        assert resp.status == 400

    run(tmp_path, scenario)


def test_a_tenant_sees_its_own_jobs_only_and_resumes_with_since(tmp_path: Path) -> None:
    async def scenario(client: TestClient, queen: Queen) -> None:
        acme = await client.ws_connect("/v1/events", headers=auth("acme"))
        token = mint(SECRET, "bob", "other")
        other = await client.ws_connect(f"/v1/events?access_token={token}")
        await _until(lambda: queen.events.subscribers("acme") == 1 and queen.events.subscribers("other") == 1)
        resp = await client.post("/v1/inference", json=BODY, headers=auth("acme"))
        job_id = (await resp.json())["job_id"]
        frame = json.loads((await acme.receive(timeout=2)).data)
        assert frame["type"] == "job_queued" and frame["job_id"] == job_id and frame["seq"] == 1
        assert frame["request_id"] == resp.headers["X-Request-ID"]
        with pytest.raises(asyncio.TimeoutError):
            await other.receive(timeout=0.3)
        await acme.close()
        queen.events.publish("acme", "job_started", {"job_id": job_id})
        again = await client.ws_connect("/v1/events?since=1", headers=auth("acme"))
        replayed = json.loads((await again.receive(timeout=2)).data)
        assert (replayed["type"], replayed["seq"]) == ("job_started", 2)
        await again.close()
        await other.close()

    run(tmp_path, scenario, QUEUE_SIZE="4")


async def _until(check: Any, timeout: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path)
    try:
        yield running.up(workers=1)
    finally:
        running.close()


def test_real_jobs_publish_the_five_events_in_order_with_their_fields(stack: Stack) -> None:
    async def main() -> list[dict[str, Any]]:
        url = stack.queen.replace("http", "ws") + "/v1/events"
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(url, headers={"Authorization": f"Bearer {mint(STACK_SECRET, 'a', 'acme')}"})
            body = {"model": "tinyllama", "prompt": "hi", "max_tokens": 3}
            async with session.post(f"{stack.queen}/v1/inference", json=body, headers=stack.headers()) as resp:
                assert resp.status == 200
            frames: list[dict[str, Any]] = []
            while not frames or frames[-1]["type"] != "job_completed":
                frames.append(json.loads((await ws.receive(timeout=5)).data))
            await ws.close()
            return frames

    frames = asyncio.run(main())
    assert [f["type"] for f in frames] == ["job_queued", "job_started", "token", "token", "token", "job_completed"]
    assert [f["seq"] for f in frames] == list(range(1, 7))
    assert len({f["job_id"] for f in frames}) == 1 and all(f["request_id"] for f in frames)
