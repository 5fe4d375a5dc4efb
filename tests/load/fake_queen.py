"""A fake queen on 127.0.0.1 for the load steps' tests: tenants from JWTs, jobs, lookups, SSE."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web

from tests.steps.kit import SECRET


@dataclass
class Behaviour:
    """What the fake does; tests change it between runs."""

    fail_every: int = 0          # every Nth inference answers 503
    same_id: bool = False        # every inference answers the same job id
    lost: bool = False           # lookups answer 404 for every job
    running_lookups: int = 0     # a job reads "running" for its first N lookups
    delay: float = 0.0           # seconds an inference takes
    stream_gap: float = 0.0      # seconds a stream waits after its first event (a whole answer = delay + gap)


@dataclass
class Seen:
    """What the fake saw."""

    inferences: list[tuple[str | None, Any]] = field(default_factory=list)
    lookups: list[tuple[str | None, str]] = field(default_factory=list)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakeQueen:
    """State and routes of the fake."""

    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.seen = Seen()
        self._ids = itertools.count(1)
        self._lookups: dict[str, int] = {}

    def reset(self) -> None:
        self.behaviour, self.seen, self._lookups = Behaviour(), Seen(), {}

    @staticmethod
    def _tenant(request: web.Request) -> str | None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return None
        return str(jwt.decode(auth[7:], SECRET, algorithms=["HS256"])["tenant"])

    async def inference(self, request: web.Request) -> web.StreamResponse:
        tenant = self._tenant(request)
        body = await request.json() if request.can_read_body else None
        self.seen.inferences.append((tenant, body))
        n = next(self._ids)
        if self.behaviour.delay:
            await asyncio.sleep(self.behaviour.delay)
        if self.behaviour.fail_every and n % self.behaviour.fail_every == 0:
            return web.json_response({"error": {"code": "queue_full"}}, status=503)
        job_id = "job-same" if self.behaviour.same_id else f"job-{n}"
        self.seen.jobs[job_id] = {"tenant": tenant, "finished": time.time()}
        if isinstance(body, dict) and body.get("stream"):
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            for event in ("job_started", "token", "job_completed"):
                await response.write(f'event: {event}\ndata: {{"job_id": "{job_id}"}}\n\n'.encode())
                if event == "job_started" and self.behaviour.stream_gap:
                    await asyncio.sleep(self.behaviour.stream_gap)
            await response.write_eof()
            return response
        return web.json_response({"job_id": job_id, "state": "completed"})

    async def job(self, request: web.Request) -> web.Response:
        tenant, job_id = self._tenant(request), request.match_info["job_id"]
        self.seen.lookups.append((tenant, job_id))
        job = self.seen.jobs.get(job_id)
        if self.behaviour.lost or job is None or job["tenant"] != tenant:
            return web.json_response({"error": {"code": "not_found"}}, status=404)
        count = self._lookups[job_id] = self._lookups.get(job_id, 0) + 1
        state = "running" if count <= self.behaviour.running_lookups else "completed"
        return web.json_response({"job_id": job_id, "state": state, "finished": job["finished"]})

    async def echo(self, request: web.Request) -> web.Response:
        self.seen.inferences.append((self._tenant(request), await request.json()))
        return web.json_response({"order": {"id": f"order-{next(self._ids)}"}})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/inference", self.inference)
        app.router.add_get("/v1/jobs/{job_id}", self.job)
        app.router.add_post("/orders", self.echo)
        return app


@contextmanager
def serving(fake: FakeQueen) -> Iterator[str]:
    """Serve the fake on an ephemeral loopback port in a thread; yield its base URL."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def start() -> None:
        runner = web.AppRunner(fake.app(), access_log=None, shutdown_timeout=0.2)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        holder["runner"], holder["port"] = runner, runner.addresses[0][1]
        ready.set()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()
        loop.run_until_complete(holder["runner"].cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name="fake-queen", daemon=True)
    thread.start()
    assert ready.wait(10), "fake queen did not start"
    try:
        yield f"http://127.0.0.1:{holder['port']}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
