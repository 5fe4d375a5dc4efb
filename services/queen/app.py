"""Queen service: the public API in front of the hives."""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from services.common import sse
from services.common.auth import AuthError, Claims, verify
from services.common.config import Env
from services.common.http import (
    BodyError,
    Handler,
    client_session,
    json_error,
    read_json,
    request_id_middleware,
    route_name,
)
from services.common.logs import EventLog, current_request_id
from services.common.service import Lifecycle, serve
from services.queen.dispatch import DispatchConfig, Dispatcher, Event, JobRun, QueueFull
from services.queen.events import EventHub, Frame, encode
from services.queen.hives import HiveDirectory
from services.queen.jobs import Job, JobStore
from services.queen.metrics import Metrics
from services.queen.ratelimit import TokenBuckets
from services.queen.validation import ValidationError, unchecked, validate

log = EventLog("services.queen")
KEEPALIVE_SECONDS = 15.0
claims_var: ContextVar[Claims] = ContextVar("claims")


@dataclass(frozen=True)
class QueenConfig:
    """Everything the queen reads from its environment."""

    port: int
    jwt_secret: str
    models: tuple[str, ...]
    max_prompt_chars: int
    max_body_bytes: int
    max_tokens_limit: int
    rate_capacity: int
    rate_refill: float
    job_wait_seconds: float
    heartbeat_interval: float
    lost_after: int
    grace_seconds: float
    data_dir: Path
    dispatch: DispatchConfig
    skip_validation: bool
    routes_501: tuple[str, ...]
    events_window: int = 1000
    # mutation switches (services/README.md "Failure switches"; `make mutants`)
    forget_running: bool = False
    dispatch_to_lost: bool = False
    no_event_replay: bool = False
    buffer_stream: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> QueenConfig:
        """Build from environment variables (see services/README.md)."""
        env = Env(environ)
        return cls(
            port=env.integer("QUEEN_PORT", 8080, minimum=1),
            jwt_secret=env.text("JWT_SECRET", "dev-secret"),
            models=env.items("MODELS", "tinyllama"),
            max_prompt_chars=env.integer("MAX_PROMPT_CHARS", 4096, 1),
            max_body_bytes=env.integer("MAX_BODY_BYTES", 65536, 1),
            max_tokens_limit=env.integer("MAX_TOKENS", 2048, 1),
            rate_capacity=env.integer("RATE_LIMIT_CAPACITY", 20),
            rate_refill=env.number("RATE_LIMIT_REFILL", 10.0),
            job_wait_seconds=env.number("JOB_WAIT_SECONDS", 30.0),
            heartbeat_interval=env.number("HEARTBEAT_INTERVAL", 1.0, minimum=0.05),
            lost_after=env.integer("LOST_AFTER", 3, minimum=1),
            grace_seconds=env.number("GRACE_SECONDS", 10.0),
            data_dir=Path(env.text("DATA_DIR", "/data")),
            dispatch=DispatchConfig(
                queue_size=env.integer("QUEUE_SIZE", 32),
                queue_timeout=env.number("QUEUE_TIMEOUT_SECONDS", 60.0),
                max_attempts=env.integer("MAX_ATTEMPTS", 3, minimum=1),
                retry_interval=env.number("RETRY_INTERVAL", 0.25, minimum=0.01),
                connect_timeout=env.number("CONNECT_TIMEOUT", 2.0, minimum=0.1),
                event_timeout=env.number("EVENT_TIMEOUT", 30.0, minimum=0.1),
            ),
            skip_validation=env.flag("QUEEN_SKIP_VALIDATION"),
            routes_501=env.items("QUEEN_501_ROUTES"),
            events_window=env.integer("EVENTS_WINDOW", 1000, minimum=1),
            forget_running=env.flag("QUEEN_FORGET_RUNNING"),
            dispatch_to_lost=env.flag("QUEEN_DISPATCH_TO_LOST"),
            no_event_replay=env.flag("QUEEN_NO_EVENT_REPLAY"),
            buffer_stream=env.flag("QUEEN_BUFFER_STREAM"),
        )


class Queen:
    """Routes of the public API plus the internal hive heartbeat endpoints."""

    def __init__(self, config: QueenConfig, lifecycle: Lifecycle, session: aiohttp.ClientSession) -> None:
        self.config, self.lifecycle, self.session = config, lifecycle, session
        self.metrics = Metrics()
        self.hives = HiveDirectory(config.lost_after * config.heartbeat_interval)
        self.hives.dispatch_to_lost = config.dispatch_to_lost
        self.store = JobStore(config.data_dir / "queen-jobs.db")
        self.limiter = TokenBuckets(config.rate_capacity, config.rate_refill)
        self.events = EventHub(config.events_window)
        self.events.replay_enabled = not config.no_event_replay
        self.dispatcher = Dispatcher(config.dispatch, self.hives, self.store, self.metrics, session, self.known_models,
                                     listener=lambda job, kind, data: self.events.publish(job.tenant, kind, data))
        self.cascade = False

    def known_models(self) -> set[str]:
        """The configured catalogue plus whatever live hives advertise."""
        return set(self.config.models) | self.hives.models()

    def app(self) -> web.Application:
        """The HTTP routes and middlewares."""
        observe = lambda req, status, _: self.metrics.observe_request(route_name(req), req.method, status)  # noqa: E731
        app = web.Application(
            client_max_size=self.config.max_body_bytes * 16,
            middlewares=[request_id_middleware(observe, self.config.routes_501), self._auth],
        )
        r = app.router
        r.add_get("/health", self.health)
        r.add_get("/health/live", self.live)
        r.add_get("/metrics", self.render_metrics)
        r.add_post("/internal/hives/heartbeat", self.hive_heartbeat)
        r.add_delete("/internal/hives/{hive_id}", self.hive_deregister)
        r.add_post("/v1/inference", self.inference)
        r.add_get("/v1/jobs", self.list_jobs)
        r.add_get("/v1/events", self.job_events)
        r.add_get("/v1/jobs/{job_id}", self.get_job)
        r.add_get("/v1/hives", self.list_hives)
        r.add_get("/v1/workers", self.list_workers)
        r.add_post("/v1/admin/shutdown", self.shutdown)
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every /v1/ route needs a valid bearer token; /v1/admin/ routes also the admin claim."""
        if not request.path.startswith("/v1/"):
            return await handler(request)
        authorization = request.headers.get("Authorization")
        if authorization is None and request.path == "/v1/events" and "access_token" in request.query:
            authorization = f"Bearer {request.query['access_token']}"  # browsers cannot set WebSocket headers
        try:
            claims = verify(authorization, self.config.jwt_secret)
        except AuthError as exc:
            return json_error(401, exc.code, exc.message, headers={"WWW-Authenticate": f'Bearer error="{exc.code}"'})
        if request.path.startswith("/v1/admin/") and not claims.admin:
            return json_error(403, "forbidden", "this endpoint needs a token with the admin claim")
        claims_var.set(claims)
        return await handler(request)

    async def health(self, request: web.Request) -> web.Response:
        """ok | degraded | unhealthy (503) with reasons."""
        status, reasons = self.hives.health()
        if self.lifecycle.stopping.is_set():
            status, reasons = "unhealthy", ["shutting down", *reasons]
        body = {"status": status, "reasons": reasons, "queue_depth": len(self.dispatcher.pending)}
        return web.json_response(body, status=503 if status == "unhealthy" else 200)

    async def live(self, request: web.Request) -> web.Response:
        """The process is serving HTTP."""
        return web.json_response({"status": "alive"})

    async def render_metrics(self, request: web.Request) -> web.Response:
        """Prometheus text."""
        workers, hives = self.hives.counts()
        text = self.metrics.render(len(self.dispatcher.pending), workers, hives)
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    async def hive_heartbeat(self, request: web.Request) -> web.Response:
        """A hive registers or heartbeats with its workers' summary."""
        try:
            body = await read_json(request, 1 << 20)
            change = self.hives.heartbeat(body)
        except (BodyError, KeyError, TypeError, AttributeError) as exc:
            return json_error(400, "invalid_heartbeat", f"bad heartbeat: {exc}")
        if change:
            log.info(f"hive_{change}", hive_id=body["hive_id"], url=body["url"])
        self.dispatcher.wake()
        return web.json_response({"ok": True})

    async def hive_deregister(self, request: web.Request) -> web.Response:
        """A hive leaves (graceful stop)."""
        hive_id = request.match_info["hive_id"]
        if not self.hives.remove(hive_id):
            return json_error(404, "unknown_hive", f"hive {hive_id} is not registered")
        log.info("hive_deregistered", hive_id=hive_id)
        return web.json_response({"ok": True})

    async def inference(self, request: web.Request) -> web.StreamResponse:
        """Accept, validate and run (or queue) one inference job."""
        if not self.dispatcher.accepting:
            return json_error(503, "shutting_down", "the queen is shutting down", headers={"Retry-After": "5"})
        claims = claims_var.get()
        wait = self.limiter.take(claims.tenant)
        if wait:
            self.metrics.observe_job("rejected", None)
            retry = str(max(1, math.ceil(min(wait, 3600.0))))
            return json_error(
                429,
                "rate_limited",
                f"tenant {claims.tenant} is over its rate limit",
                headers={"Retry-After": retry},
            )
        try:
            body = await read_json(request, self.config.max_body_bytes)
        except BodyError as exc:
            if not (self.config.skip_validation and exc.status == 400):
                return json_error(exc.status, exc.code, exc.message)
            body = {}
        try:
            req = (
                unchecked(body)
                if self.config.skip_validation
                else validate(body, self.known_models(), self.config.max_prompt_chars, self.config.max_tokens_limit)
            )
        except ValidationError as exc:
            return json_error(400, exc.code, exc.message, field=exc.field)
        job = Job(
            tenant=claims.tenant,
            sub=claims.sub,
            model=req.model,
            prompt=req.prompt,
            max_tokens=req.max_tokens,
            seed=req.seed,
            request_id=current_request_id(),
        )
        try:
            run = self.dispatcher.submit(job)
        except QueueFull as exc:
            self.metrics.observe_job("rejected", None)
            return json_error(503, "queue_full", f"queue is full ({exc})", headers={"Retry-After": "2"})
        if req.run_async:
            return web.json_response(
                {"job_id": job.job_id, "state": job.state},
                status=202,
                headers={"Location": f"/v1/jobs/{job.job_id}"},
            )
        return await (self._stream(request, run) if req.stream else self._wait(run))

    async def _wait(self, run: JobRun) -> web.Response:
        try:
            await asyncio.wait_for(asyncio.shield(run.done.wait()), self.config.job_wait_seconds)
        except TimeoutError:
            return web.json_response(
                {
                    "job_id": run.job.job_id,
                    "state": run.job.state,
                    "message": f"still {run.job.state}; poll GET /v1/jobs/{run.job.job_id}",
                },
                status=202,
                headers={"Location": f"/v1/jobs/{run.job.job_id}"},
            )
        job = run.job
        if job.state == "completed":
            return web.json_response(
                {
                    "job_id": job.job_id,
                    "state": job.state,
                    "text": job.text,
                    "tokens": job.tokens,
                    "worker_id": job.worker_id,
                    "hive_id": job.hive_id,
                    "usage": job.usage,
                }
            )
        return json_error(
            502,
            "job_failed",
            job.reason or "job failed",
            job_id=job.job_id,
            state=job.state,
            worker_id=job.worker_id,
            hive_id=job.hive_id,
        )

    async def _stream(self, request: web.Request, run: JobRun) -> web.StreamResponse:
        response = await sse.open_stream(request)
        held: list[Event] = []  # mutation switch QUEEN_BUFFER_STREAM: events are held until the job ends
        try:
            while True:
                try:
                    item = await asyncio.wait_for(run.events.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    await response.write(b": keepalive\n\n")
                    continue
                if item is None:
                    break
                if self.config.buffer_stream:
                    held.append(item)
                    continue
                await sse.send(response, *item)
            for item in held:
                await sse.send(response, *item)
            await response.write_eof()
        except ConnectionResetError:
            log.warning("client_disconnected", job_id=run.job.job_id)
        return response

    def _find_job(self, request: web.Request) -> Job | None:
        job_id = request.match_info["job_id"]
        run = self.dispatcher.runs.get(job_id)
        job = run.job if run else self.store.get(job_id)
        return job if job is not None and job.tenant == claims_var.get().tenant else None

    async def get_job(self, request: web.Request) -> web.Response:
        """One job of the caller's tenant; any other tenant's job is a 404."""
        job = self._find_job(request)
        if job is None:
            return json_error(404, "not_found", f"no job {request.match_info['job_id']}")
        return web.json_response(job.public())

    async def list_jobs(self, request: web.Request) -> web.Response:
        """The caller's tenant's recent jobs."""
        jobs = self.store.for_tenant(claims_var.get().tenant)
        return web.json_response(
            {
                "jobs": [
                    (self.dispatcher.runs[j.job_id].job if j.job_id in self.dispatcher.runs else j).public()
                    for j in jobs
                ]
            }
        )

    async def job_events(self, request: web.Request) -> web.StreamResponse:
        """WebSocket of the caller's tenant's job events; ``?since=<seq>`` replays the kept ones after it."""
        since_text = request.query.get("since")
        if since_text is not None and not since_text.isdigit():
            return json_error(400, "invalid_since", f"since must be a sequence number, got {since_text!r}",
                              field="since")
        tenant = claims_var.get().tenant
        ws = web.WebSocketResponse(heartbeat=KEEPALIVE_SECONDS)
        # Subscribe before the 101 goes out: whatever the client causes after its handshake is seen.
        replay, queue = self.events.subscribe(tenant, int(since_text) if since_text is not None else None)
        reader: asyncio.Future[None] | None = None
        try:
            await ws.prepare(request)
            log.info("events_subscribed", tenant=tenant, since=since_text, replayed=len(replay))
            reader = asyncio.ensure_future(self._drain_client(ws))
            for frame in replay:
                await ws.send_str(encode(frame))
            await self._forward(ws, queue, reader)
        except ConnectionResetError:
            pass
        finally:
            self.events.unsubscribe(tenant, queue)
            if reader is not None:
                reader.cancel()
            await ws.close()
        return ws

    async def _forward(self, ws: web.WebSocketResponse, queue: asyncio.Queue[Frame | None],
                       reader: asyncio.Future[None]) -> None:
        while not ws.closed and not reader.done():
            getter = asyncio.ensure_future(queue.get())
            await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                return
            frame = getter.result()
            if frame is None:
                await ws.close(code=1013, message=b"subscriber too slow; reconnect with since=<last seq>")
                return
            await ws.send_str(encode(frame))

    @staticmethod
    async def _drain_client(ws: web.WebSocketResponse) -> None:
        """Read (and ignore) what the client sends, until it closes."""
        async for _message in ws:
            pass

    async def list_hives(self, request: web.Request) -> web.Response:
        """Registered hives with state and worker counts."""
        return web.json_response({"hives": self.hives.describe()})

    async def list_workers(self, request: web.Request) -> web.Response:
        """Workers across all hives, each with hive_id and state."""
        return web.json_response({"workers": self.hives.workers()})

    async def shutdown(self, request: web.Request) -> web.Response:
        """Cascading shutdown: hives stop their workers, then themselves, then the queen."""
        self.cascade = True
        self.lifecycle.request_stop(f"shutdown requested by {claims_var.get().sub}")
        return web.json_response({"status": "shutting_down", "hives": list(self.hives.hives)}, status=202)

    async def drain(self, loop: asyncio.Future[None]) -> None:
        """Stop accepting; on a cascade stop the hives first; let running jobs finish."""
        self.dispatcher.accepting = False
        if self.cascade:
            await asyncio.gather(
                *(self._stop_hive(h.hive_id, h.url) for h in list(self.hives.hives.values()) if not h.lost)
            )
        await self.dispatcher.close(self.config.grace_seconds, fail_queued=self.cascade)
        if self.cascade:
            await self._await_hives_gone(self.config.grace_seconds + 2 * self.config.heartbeat_interval)
        loop.cancel()

    async def _stop_hive(self, hive_id: str, url: str) -> None:
        try:
            async with self.session.post(f"{url}/v1/admin/shutdown") as resp:
                log.info("hive_stopping", hive_id=hive_id, status=resp.status)
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("hive_stop_failed", hive_id=hive_id, error=str(exc) or type(exc).__name__)

    async def _await_hives_gone(self, limit: float) -> None:
        deadline = asyncio.get_running_loop().time() + limit
        while any(not h.lost for h in self.hives.hives.values()) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)

    def recover(self) -> None:
        """Re-queue jobs a previous run accepted but never finished."""
        for job in self.store.unfinished():
            if self.config.forget_running and job.state == "running":
                continue  # mutation switch QUEEN_FORGET_RUNNING: the running job stays "running" forever
            self.dispatcher.submit(job, recovered=True)


async def run(lifecycle: Lifecycle) -> None:
    """Open the job store, recover unfinished jobs, dispatch and serve until stopped."""
    config = QueenConfig.from_env(os.environ)
    async with client_session(timeout=aiohttp.ClientTimeout(total=5.0)) as session:
        queen = Queen(config, lifecycle, session)
        queen.recover()
        loop = asyncio.ensure_future(queen.dispatcher.run_forever())
        log.info("starting", models=list(config.models), data_dir=str(config.data_dir))
        await serve(queen.app(), "0.0.0.0", config.port, lifecycle, lambda: queen.drain(loop))
