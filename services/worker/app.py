"""Worker service: model load, hive registration + heartbeats, SSE token streaming, graceful drain."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from services.common import sse
from services.common.config import Env, hostname
from services.common.http import BodyError, client_session, json_error, read_json, request_id_middleware
from services.common.logs import EventLog, current_request_id, job_id_var
from services.common.service import Lifecycle, serve
from services.common.tokens import generate

log = EventLog("services.worker")
FAIL_MARKER, CRASH_MARKER, CRASH_EARLY_MARKER, STALL_MARKER, ALLOC_MARKER = (
    "__fail__",
    "__crash__",
    "__crash_early__",
    "__stall__",
    "__alloc__",
)
ALLOC_FACTOR = 4  # __alloc__: the job needs this many times the model's memory on top of it
CRASH_EXIT_CODE = 70
CRASH_FLUSH_SECONDS = 0.1
STALL_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class WorkerConfig:
    """Everything the worker reads from its environment."""

    worker_id: str
    port: int
    url: str
    hive_url: str
    model: str
    load_seconds: float
    memory_mb: int
    token_rate: float
    slots: int
    heartbeat_interval: float
    grace_seconds: float
    drop_last_token: bool
    drop_after_restart: bool = False  # mutation switch WORKER_DROP_AFTER_RESTART (services/README.md)
    one_at_a_time: bool = False  # mutation switch WORKER_ONE_AT_A_TIME: slots advertised, one job runs at a time

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WorkerConfig:
        """Build from environment variables (see services/README.md)."""
        env = Env(environ)
        port = env.integer("WORKER_PORT", 8001, minimum=1)
        return cls(
            worker_id=env.text("WORKER_ID", hostname()),
            port=port,
            url=env.text("WORKER_URL", f"http://{hostname()}:{port}"),
            hive_url=env.text("HIVE_URL", "http://hive:9200").rstrip("/"),
            model=env.text("WORKER_MODEL", "tinyllama"),
            load_seconds=env.number("MODEL_LOAD_SECONDS", 0.2),
            memory_mb=env.integer("MODEL_MEMORY_MB", 16),
            token_rate=env.number("TOKEN_RATE", 100.0),
            slots=env.integer("WORKER_SLOTS", 1, minimum=1),
            heartbeat_interval=env.number("HEARTBEAT_INTERVAL", 1.0, minimum=0.05),
            grace_seconds=env.number("GRACE_SECONDS", 10.0),
            drop_last_token=env.flag("WORKER_DROP_LAST_TOKEN"),
            drop_after_restart=env.flag("WORKER_DROP_AFTER_RESTART"),
            one_at_a_time=env.flag("WORKER_ONE_AT_A_TIME"),
        )


@dataclass(frozen=True)
class ExecuteRequest:
    """A job as the hive sends it."""

    job_id: str
    model: str
    prompt: str
    max_tokens: int
    seed: int
    attempt: int

    @classmethod
    def parse(cls, body: Any) -> ExecuteRequest:
        """Read the fields leniently; the queen has already validated them."""
        if not isinstance(body, dict) or not isinstance(body.get("job_id"), str):
            raise BodyError(400, "invalid_body", "body must be an object with a string job_id")
        return cls(
            job_id=body["job_id"],
            model=str(body.get("model", "")),
            prompt=str(body.get("prompt", "")),
            max_tokens=max(0, int(body.get("max_tokens", 16))),
            seed=int(body.get("seed") or 0),
            attempt=int(body.get("attempt", 1)),
        )


class Worker:
    """One model, a few job slots, and a heartbeat to its hive."""

    def __init__(self, config: WorkerConfig, lifecycle: Lifecycle) -> None:
        self.config, self.lifecycle = config, lifecycle
        self.loaded = False
        self.active = 0
        self.memory = bytearray()
        self._idle = asyncio.Event()
        self._idle.set()
        self._abort = asyncio.Event()
        self.restarted = False
        self._model_lock = asyncio.Lock()

    @property
    def status(self) -> str:
        """loading | ready | busy | draining."""
        if self.lifecycle.stopping.is_set():
            return "draining"
        if not self.loaded:
            return "loading"
        return "busy" if self.active >= self.config.slots else "ready"

    def summary(self) -> dict[str, Any]:
        """What the hive learns on each heartbeat."""
        c = self.config
        return {
            "worker_id": c.worker_id,
            "url": c.url,
            "model": c.model,
            "status": self.status,
            "active": self.active,
            "slots": c.slots,
        }

    def app(self) -> web.Application:
        """The HTTP routes."""
        app = web.Application(middlewares=[request_id_middleware()])
        app.router.add_get("/health", self.health)
        app.router.add_get("/health/live", self.live)
        app.router.add_post("/v1/execute", self.execute)
        app.router.add_post("/v1/admin/shutdown", self.shutdown)
        return app

    async def health(self, request: web.Request) -> web.Response:
        """200 when it can take work (ready/busy), 503 while loading or draining."""
        return web.json_response(self.summary(), status=200 if self.status in {"ready", "busy"} else 503)

    async def live(self, request: web.Request) -> web.Response:
        """The process is serving HTTP."""
        return web.json_response({"status": "alive"})

    async def shutdown(self, request: web.Request) -> web.Response:
        """Drain and exit (the hive calls this during a cascading shutdown)."""
        self.lifecycle.request_stop("shutdown requested")
        return web.json_response({"status": "shutting_down", "active": self.active}, status=202)

    async def execute(self, request: web.Request) -> web.StreamResponse:
        """Stream a job's tokens as SSE: job_started, token x n, job_completed | job_failed."""
        try:
            job = ExecuteRequest.parse(await read_json(request, 1 << 20))
        except (BodyError, ValueError, TypeError) as exc:
            return json_error(getattr(exc, "status", 400), getattr(exc, "code", "invalid_body"), str(exc))
        job_id_var.set(job.job_id)
        if self.status != "ready":
            return json_error(503, f"worker_{self.status}", f"worker is {self.status}", headers={"Retry-After": "1"})
        if CRASH_EARLY_MARKER in job.prompt and job.attempt == 1:
            log.error("worker_crashing", marker=CRASH_EARLY_MARKER, attempt=job.attempt)
            os._exit(CRASH_EXIT_CODE)
        self.active += 1
        self._idle.clear()
        try:
            if self.config.one_at_a_time:  # mutation switch: every job waits for the one before it
                async with self._model_lock:
                    return await self._stream(request, job)
            return await self._stream(request, job)
        finally:
            self.active -= 1
            if self.active == 0:
                self._idle.set()

    async def _stream(self, request: web.Request, job: ExecuteRequest) -> web.StreamResponse:
        response = await sse.open_stream(request)
        try:
            await self._produce(request, response, job)
        except ConnectionResetError:
            log.warning("client_disconnected")
        return response

    async def _produce(self, request: web.Request, response: web.StreamResponse, job: ExecuteRequest) -> None:
        base = {"job_id": job.job_id, "worker_id": self.config.worker_id, "request_id": current_request_id()}
        started = time.monotonic()
        await sse.send(response, "job_started", {**base, "model": job.model, "attempt": job.attempt})
        log.info("job_started", model=job.model, max_tokens=job.max_tokens, attempt=job.attempt)
        tokens = generate(job.model, job.prompt, job.seed, job.max_tokens)
        if self.config.drop_last_token:
            tokens = tokens[:-1]
        delay = 1.0 / self.config.token_rate if self.config.token_rate > 0 else 0.0
        for index, text in enumerate(tokens):
            if self._abort.is_set():
                return await self._fail(response, base, "worker shut down before the job finished")
            await sse.send(response, "token", {**base, "index": index, "text": text})
            if index == 0:
                await self._first_token_markers(request, job.prompt)
                if FAIL_MARKER in job.prompt:
                    return await self._fail(response, base, f"simulated failure ({FAIL_MARKER} in prompt)")
                if self.restarted and self.config.drop_after_restart:
                    return await response.write_eof()  # mutation switch: the job is silently dropped
            await asyncio.sleep(delay)
        usage = {
            "prompt_tokens": len(job.prompt.split()),
            "completion_tokens": job.max_tokens,
            "total_tokens": len(job.prompt.split()) + job.max_tokens,
        }
        duration = round(time.monotonic() - started, 3)
        await sse.send(response, "job_completed", {**base, "usage": usage, "duration": duration})
        log.info("job_completed", tokens=len(tokens), duration=duration)
        await response.write_eof()

    async def _first_token_markers(self, request: web.Request, prompt: str) -> None:
        """__crash__ exits abruptly; __stall__ goes silent until the caller leaves or the grace expires;
        __alloc__ allocates (and touches) ALLOC_FACTOR x the model's memory for the rest of the job."""
        if ALLOC_MARKER in prompt:
            log.warning("job_allocating", marker=ALLOC_MARKER, memory_mb=ALLOC_FACTOR * self.config.memory_mb)
            await asyncio.sleep(CRASH_FLUSH_SECONDS)  # let the token leave the process first
            request[ALLOC_MARKER] = bytearray(b"\x01") * (ALLOC_FACTOR * self.config.memory_mb << 20)
        if CRASH_MARKER in prompt:
            log.error("worker_crashing", marker=CRASH_MARKER)
            await asyncio.sleep(CRASH_FLUSH_SECONDS)  # let the token leave the process first
            os._exit(CRASH_EXIT_CODE)
        if STALL_MARKER in prompt:
            log.warning("job_stalling", marker=STALL_MARKER)
            while not self._abort.is_set() and request.transport is not None and not request.transport.is_closing():
                await asyncio.sleep(STALL_POLL_SECONDS)

    async def _fail(self, response: web.StreamResponse, base: dict[str, Any], reason: str) -> None:
        await sse.send(response, "job_failed", {**base, "reason": reason})
        log.warning("job_failed", reason=reason)
        await response.write_eof()

    async def load_model(self) -> None:
        """Simulate loading: wait, then really allocate (and touch) the model's memory."""
        log.info(
            "model_loading",
            model=self.config.model,
            seconds=self.config.load_seconds,
            memory_mb=self.config.memory_mb,
        )
        await asyncio.sleep(self.config.load_seconds)
        self.memory = bytearray(b"\x01") * (self.config.memory_mb << 20)
        self.loaded = True
        log.info("model_loaded", model=self.config.model)

    async def heartbeat_loop(self, session: aiohttp.ClientSession) -> None:
        """Register, then heartbeat every interval; the hive treats each beat as an upsert."""
        reachable: bool | None = None
        while True:
            try:
                async with session.post(f"{self.config.hive_url}/v1/workers/heartbeat", json=self.summary()) as resp:
                    ok = resp.status == 200
            except (TimeoutError, aiohttp.ClientError):
                ok = False
            except Exception as exc:  # noqa: BLE001 - a heartbeat loop must never die silently
                log.error("heartbeat_error", error=f"{type(exc).__name__}: {exc}")
                ok = False
            if ok != reachable:
                (log.info if ok else log.warning)(
                    "hive_reachable" if ok else "hive_unreachable", hive_url=self.config.hive_url
                )
                reachable = ok
            await asyncio.sleep(self.config.heartbeat_interval)

    async def drain(self, session: aiohttp.ClientSession, beat: asyncio.Future[None]) -> None:
        """Refuse new jobs (status draining), let in-flight ones finish within grace, deregister."""
        try:
            await asyncio.wait_for(self._idle.wait(), self.config.grace_seconds)
        except TimeoutError:
            log.warning("grace_expired", active=self.active)
            self._abort.set()
            await asyncio.sleep(0.1)
        beat.cancel()
        try:
            url = f"{self.config.hive_url}/v1/workers/{self.config.worker_id}"
            async with session.delete(url) as resp:
                log.info("deregistered", status=resp.status)
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("deregister_failed", error=str(exc) or type(exc).__name__)


async def run(lifecycle: Lifecycle) -> None:
    """Start serving at once (status loading), load the model, then heartbeat until stopped."""
    config = WorkerConfig.from_env(os.environ)
    worker = Worker(config, lifecycle)
    worker.restarted = _started_before(config.worker_id)
    timeout = aiohttp.ClientTimeout(total=max(2.0, config.heartbeat_interval))
    async with client_session(timeout=timeout) as session:

        async def start_then_beat() -> None:
            await worker.load_model()
            await worker.heartbeat_loop(session)

        beat = asyncio.ensure_future(start_then_beat())

        async def drain() -> None:
            await worker.drain(session, beat)

        log.info("starting", worker_id=config.worker_id, model=config.model, hive_url=config.hive_url)
        await serve(worker.app(), "0.0.0.0", config.port, lifecycle, drain)


def _started_before(worker_id: str) -> bool:
    """True when this container ran the worker before (a marker in /tmp survives a restart)."""
    marker = Path(tempfile.gettempdir()) / f"worker-started-{worker_id}"
    seen = marker.exists()
    try:
        marker.touch()
    except OSError:
        pass
    return seen
