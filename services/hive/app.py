"""Hive service: worker registry, least-loaded relaying with retries, provisioning, cascading stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from services.common import sse
from services.common.config import Env, hostname
from services.common.http import (
    REQUEST_ID,
    BodyError,
    client_session,
    json_error,
    read_json,
    request_id_middleware,
)
from services.common.logs import EventLog, current_request_id, job_id_var
from services.common.service import Lifecycle, serve
from services.hive.provision import Provisioner
from services.hive.registry import WorkerRecord, WorkerRegistry, open_registry
from services.hive.scheduler import least_loaded

log = EventLog("services.hive")
TERMINAL = frozenset({"job_completed", "job_failed"})
_UPSTREAM_ERRORS = (
    aiohttp.ClientError,
    asyncio.TimeoutError,
    sse.StreamStalled,
    ConnectionResetError,
    ValueError,
)


@dataclass(frozen=True)
class HiveConfig:
    """Everything the hive reads from its environment."""

    hive_id: str
    port: int
    url: str
    queen_url: str
    data_dir: Path
    heartbeat_interval: float
    lost_after: int
    connect_timeout: float
    event_timeout: float
    grace_seconds: float
    provision_seconds: float
    provision_steps: int
    never_remove_lost: bool
    # mutation switches (services/README.md "Failure switches"; `make mutants`)
    no_retry: bool = False
    keep_partitioned: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> HiveConfig:
        """Build from environment variables (see services/README.md)."""
        env = Env(environ)
        port = env.integer("HIVE_PORT", 9200, minimum=1)
        return cls(
            hive_id=env.text("HIVE_ID", hostname()),
            port=port,
            url=env.text("HIVE_URL", f"http://{hostname()}:{port}"),
            queen_url=env.text("QUEEN_URL", "http://queen:8080").rstrip("/"),
            data_dir=Path(env.text("DATA_DIR", "/data")),
            heartbeat_interval=env.number("HEARTBEAT_INTERVAL", 1.0, minimum=0.05),
            lost_after=env.integer("LOST_AFTER", 3, minimum=1),
            connect_timeout=env.number("CONNECT_TIMEOUT", 2.0, minimum=0.1),
            event_timeout=env.number("EVENT_TIMEOUT", 10.0, minimum=0.1),
            grace_seconds=env.number("GRACE_SECONDS", 10.0),
            provision_seconds=env.number("PROVISION_SECONDS", 2.0),
            provision_steps=env.integer("PROVISION_STEPS", 10, minimum=1),
            never_remove_lost=env.flag("HIVE_NEVER_REMOVE_LOST"),
            no_retry=env.flag("HIVE_NO_RETRY"),
            keep_partitioned=env.flag("HIVE_KEEP_PARTITIONED"),
        )


class Hive:
    """Routes and background loops of one hive."""

    def __init__(
        self,
        config: HiveConfig,
        lifecycle: Lifecycle,
        registry: WorkerRegistry,
        session: aiohttp.ClientSession,
    ) -> None:
        self.config, self.lifecycle, self.registry, self.session = config, lifecycle, registry, session
        self.provisioner = Provisioner(config.provision_seconds, config.provision_steps)
        self.inflight: Counter[str] = Counter()
        self.queen_reachable: bool | None = None
        self.beat_now = asyncio.Event()  # set when the queen should hear of a change before the next beat
        self.cascade = False
        self.running = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.registry_problem: str | None = None
        self._known: list[WorkerRecord] = []

    def workers(self) -> list[WorkerRecord]:
        """Registered workers; while the registry is unavailable, the last list read from it."""
        try:
            self._known = self.registry.all()
        except sqlite3.Error as exc:
            self.registry_failed(exc)
        else:
            self.registry_ok()
        return list(self._known)

    def registry_failed(self, exc: sqlite3.Error) -> None:
        """Log one error per outage; the hive keeps serving from the last known workers."""
        if self.registry_problem is None:
            log.error(
                "registry_unavailable",
                path=str(self.config.data_dir / "hive-registry.db"),
                problem=f"{type(exc).__name__}: {exc}",
                action="serving the last known workers; retrying on every heartbeat",
            )
        self.registry_problem = f"{type(exc).__name__}: {exc}"

    def registry_ok(self) -> None:
        """The registry answers again after an outage."""
        if self.registry_problem is not None:
            log.info("registry_available", path=str(self.config.data_dir / "hive-registry.db"))
            self.registry_problem = None

    def app(self) -> web.Application:
        """The HTTP routes."""
        app = web.Application(middlewares=[request_id_middleware()])
        r = app.router
        r.add_get("/health", self.health)
        r.add_get("/health/live", self.live)
        r.add_get("/v1/workers", self.list_workers)
        r.add_post("/v1/workers/heartbeat", self.heartbeat)
        r.add_delete("/v1/workers/{worker_id}", self.deregister)
        r.add_post("/v1/execute", self.execute)
        r.add_get("/v1/models", self.models)
        r.add_post("/v1/models/{name}/provision", self.provision)
        r.add_post("/v1/admin/shutdown", self.shutdown)
        return app

    def summary(self) -> dict[str, Any]:
        """What the queen learns on each heartbeat."""
        workers = [w.as_dict() for w in self.workers()]
        models = sorted(
            {w["model"] for w in workers}
            | {m["name"] for m in self.provisioner.catalogue() if m["state"] == "available"}
        )
        return {
            "hive_id": self.config.hive_id,
            "url": self.config.url,
            "workers": workers,
            "models": models,
            "status": "draining" if self.lifecycle.stopping.is_set() else "ready",
        }

    async def health(self, request: web.Request) -> web.Response:
        """ok, or degraded with reasons (no ready worker, queen unreachable, draining)."""
        workers = self.workers()
        reasons = []
        if not any(w.status in {"ready", "busy"} for w in workers):
            reasons.append("no ready worker")
        if self.queen_reachable is False:
            reasons.append(f"queen unreachable at {self.config.queen_url}")
        if self.lifecycle.stopping.is_set():
            reasons.append("draining")
        if self.registry_problem is not None:
            reasons.append(f"registry unavailable ({self.registry_problem})")
        return web.json_response(
            {
                "status": "degraded" if reasons else "ok",
                "reasons": reasons,
                "hive_id": self.config.hive_id,
                "workers": dict(Counter(w.status for w in workers)),
            }
        )

    async def live(self, request: web.Request) -> web.Response:
        """The process is serving HTTP."""
        return web.json_response({"status": "alive"})

    async def list_workers(self, request: web.Request) -> web.Response:
        """Registered workers with their last heartbeat."""
        workers = [
            {**w.as_dict(), "hive_id": self.config.hive_id, "inflight": self.inflight[w.worker_id]}
            for w in self.workers()
        ]
        return web.json_response({"hive_id": self.config.hive_id, "workers": workers})

    async def heartbeat(self, request: web.Request) -> web.Response:
        """A worker registers or heartbeats (an upsert)."""
        try:
            body = await read_json(request, 1 << 16)
            if self.registry.upsert(body):
                log.info("worker_registered", worker_id=body["worker_id"], url=body["url"], model=body["model"])
                self.beat_now.set()
        except (BodyError, KeyError, TypeError, ValueError) as exc:
            return json_error(400, "invalid_heartbeat", f"bad heartbeat: {exc}")
        except sqlite3.Error as exc:
            self.registry_failed(exc)
            return json_error(503, "registry_unavailable", f"worker registry unavailable: {exc}")
        self.registry_ok()
        return web.json_response({"ok": True, "hive_id": self.config.hive_id})

    async def deregister(self, request: web.Request) -> web.Response:
        """A worker leaves (graceful stop)."""
        worker_id = request.match_info["worker_id"]
        try:
            removed = self.registry.remove(worker_id)
        except sqlite3.Error as exc:
            self.registry_failed(exc)
            return json_error(503, "registry_unavailable", f"worker registry unavailable: {exc}")
        if not removed:
            return json_error(404, "unknown_worker", f"worker {worker_id} is not registered")
        log.info("worker_deregistered", worker_id=worker_id)
        return web.json_response({"ok": True})

    async def models(self, request: web.Request) -> web.Response:
        """Models served by workers, provisioned models, and download counters."""
        served = sorted({w.model for w in self.workers()})
        p = self.provisioner
        return web.json_response(
            {
                "served": served,
                "models": p.catalogue(),
                "downloads_started": p.started_total,
                "downloads_joined": p.joined_total,
            }
        )

    async def provision(self, request: web.Request) -> web.StreamResponse:
        """Stream a (shared) simulated download: download_started, progress x n, download_completed."""
        name = request.match_info["name"]
        download, joined = self.provisioner.start_or_join(name)
        response = await sse.open_stream(request)
        rid = {"request_id": current_request_id(), "hive_id": self.config.hive_id}
        await sse.send(
            response,
            "download_started",
            {"download_id": download.download_id, "model": name, "shared": joined, **rid},
        )
        async for event, data in download.follow():
            await sse.send(response, event, {**data, **rid})
        await response.write_eof()
        return response

    async def shutdown(self, request: web.Request) -> web.Response:
        """Cascading stop from the queen: stop workers (they finish in-flight jobs), then exit."""
        self.cascade = True
        self.lifecycle.request_stop("shutdown requested by queen")
        workers = [w.worker_id for w in self.workers()]
        return web.json_response({"status": "shutting_down", "workers": workers}, status=202)

    async def execute(self, request: web.Request) -> web.StreamResponse:
        """Run a job on the least-loaded ready worker; retry others until the first token."""
        try:
            body = await read_json(request, 1 << 20)
            model, job_id, base_attempt = str(body["model"]), str(body["job_id"]), int(body.get("attempt", 1))
        except (BodyError, KeyError, TypeError, ValueError) as exc:
            return json_error(400, "invalid_body", f"bad execute request: {exc}")
        job_id_var.set(job_id)
        if self.lifecycle.stopping.is_set():
            return json_error(503, "hive_draining", "hive is shutting down", headers={"Retry-After": "1"})
        self.running += 1
        self._idle.clear()
        try:
            return await self._run_job(request, body, model, base_attempt)
        finally:
            self.running -= 1
            if not self.running:
                self._idle.set()

    async def _run_job(
        self, request: web.Request, body: dict[str, Any], model: str, base_attempt: int
    ) -> web.StreamResponse:
        tried: list[str] = []
        failures: list[str] = []
        while (worker := least_loaded(self.workers(), model, self.inflight, tried)) is not None:
            tried.append(worker.worker_id)
            self.inflight[worker.worker_id] += 1
            try:
                outcome = await self._relay(request, worker, {**body, "attempt": base_attempt + len(tried) - 1})
            finally:
                self.inflight[worker.worker_id] -= 1
            if isinstance(outcome, web.StreamResponse):
                return outcome
            failures.append(f"{worker.worker_id}: {outcome}")
            log.warning("attempt_failed", worker_id=worker.worker_id, reason=outcome, attempt=len(tried))
            if self.config.no_retry:
                break  # mutation switch HIVE_NO_RETRY: no next worker; the queen gets 502 worker_failed
        if not tried:
            return json_error(
                503,
                "no_worker",
                f"no ready worker for model {model!r} on {self.config.hive_id}",
                headers={"Retry-After": "1"},
            )
        return json_error(502, "worker_failed", "every worker failed before the first token: " + "; ".join(failures))

    async def _relay(
        self, request: web.Request, worker: WorkerRecord, payload: dict[str, Any]
    ) -> web.StreamResponse | str:
        """Relay one worker's stream; a str result means it failed before the first token."""
        timeout = aiohttp.ClientTimeout(
            total=None, connect=self.config.connect_timeout, sock_read=self.config.event_timeout
        )
        try:
            async with self.session.post(
                f"{worker.url}/v1/execute",
                json=payload,
                timeout=timeout,
                headers={REQUEST_ID: current_request_id()},
            ) as upstream:
                if upstream.status != 200:
                    return f"worker answered HTTP {upstream.status}"
                return await self._pump(request, worker, upstream)
        except _UPSTREAM_ERRORS as exc:
            return f"{type(exc).__name__}: {exc}"

    async def _pump(
        self, request: web.Request, worker: WorkerRecord, upstream: aiohttp.ClientResponse
    ) -> web.StreamResponse | str:
        held: list[tuple[str, dict[str, Any]]] = []
        response: web.StreamResponse | None = None
        delivered = 0
        try:
            async for event, data in sse.iter_events(upstream.content, self.config.event_timeout):
                data["hive_id"] = self.config.hive_id
                if response is None and event == "job_started":
                    held.append((event, data))
                    continue
                if response is None:
                    response = await sse.open_stream(request)
                    for item in held:
                        await sse.send(response, *item)
                await sse.send(response, event, data)
                delivered += event == "token"
                if event in TERMINAL:
                    await response.write_eof()
                    return response
            reason = "closed its stream before the job finished"
        except _UPSTREAM_ERRORS as exc:
            if request.transport is None or request.transport.is_closing():
                log.warning("client_disconnected", worker_id=worker.worker_id)
                return response or "client disconnected"
            reason = f"stream broke ({type(exc).__name__}: {exc})"
        if response is None:
            return reason
        reason = f"worker {worker.worker_id} {reason} after {delivered} tokens"
        log.error("job_failed", worker_id=worker.worker_id, reason=reason)
        await sse.send(
            response,
            "job_failed",
            {
                "job_id": job_id_var.get(),
                "worker_id": worker.worker_id,
                "hive_id": self.config.hive_id,
                "reason": reason,
                "request_id": current_request_id(),
            },
        )
        await response.write_eof()
        return response

    async def sweep_loop(self) -> None:
        """Remove workers that missed ``lost_after`` heartbeats, every quarter interval.

        A sweep that comes a heartbeat interval late (the hive itself stalled: CPU starved, frozen) means
        the hive heard nothing meanwhile: no worker is lost until it has had ``lost_after`` intervals of
        a listening hive again. A sweep right after the stall called workers silent whose beats sat
        unread in its sockets, or whose beat was in flight when it froze and who wait for the answer
        before beating again (they re-registered at once, counted twice).
        """
        period = self.config.heartbeat_interval / 4
        loop = asyncio.get_running_loop()
        hold_until = 0.0
        while True:
            due = loop.time() + period
            await asyncio.sleep(period)
            now = loop.time()
            late = now - due
            if late >= self.config.heartbeat_interval:
                log.info("sweep_deferred", late_s=round(late, 3))
                hold_until = now + self.max_silence()
            if now < hold_until:
                continue
            try:
                self.sweep()
            except sqlite3.Error as exc:
                self.registry_failed(exc)
                await asyncio.sleep(self.config.heartbeat_interval)

    def unconfirm_workers(self) -> None:
        """At start, before the first heartbeat: the workers of the registry file are unconfirmed.

        They have not beaten since the hive went down; a first heartbeat counting them as ready sent
        jobs to a hive that then expired them (answered 503, the job queued) before they beat again.
        """
        try:
            listed = self.registry.unconfirm()
        except sqlite3.Error as exc:
            self.registry_failed(exc)
            return
        if listed:
            log.info("workers_unconfirmed", workers=[w.worker_id for w in listed])

    def max_silence(self) -> float:
        """Seconds without a heartbeat after which a worker is lost: ``lost_after`` intervals."""
        max_age = self.config.lost_after * self.config.heartbeat_interval
        if self.config.keep_partitioned:
            max_age *= 60  # mutation switch HIVE_KEEP_PARTITIONED: LOST_AFTER read as minutes
        return max_age

    def sweep(self) -> None:
        """Remove the workers that missed ``lost_after`` heartbeats (unless the failure switch is on)."""
        if self.config.never_remove_lost:
            return
        for worker in self.registry.expire(self.max_silence()):
            log.warning("worker_lost", worker_id=worker.worker_id, missed_heartbeats=self.config.lost_after)

    async def queen_loop(self) -> None:
        """Register with the queen and heartbeat (with the workers' summary)."""
        url = f"{self.config.queen_url}/internal/hives/heartbeat"
        while True:
            try:
                async with self.session.post(url, json=self.summary()) as resp:
                    ok = resp.status == 200
            except (TimeoutError, aiohttp.ClientError):
                ok = False
            except Exception as exc:  # noqa: BLE001 - a heartbeat loop must never die silently
                log.error("heartbeat_error", error=f"{type(exc).__name__}: {exc}")
                ok = False
            if ok != self.queen_reachable:
                (log.info if ok else log.warning)("queen_reachable" if ok else "queen_unreachable", url=url)
                self.queen_reachable = ok
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.beat_now.wait(), self.config.heartbeat_interval)
            self.beat_now.clear()

    async def drain(self, loops: Sequence[asyncio.Future[None]]) -> None:
        """Finish relays; on a cascade first stop every worker and wait for them to leave."""
        if self.cascade:
            await asyncio.gather(*(self._stop_worker(w) for w in self.workers()))
        deadline = self.config.grace_seconds + 2 * self.config.heartbeat_interval
        try:
            await asyncio.wait_for(self._quiet(), deadline)
        except TimeoutError:
            log.warning("grace_expired", workers=[w.worker_id for w in self.workers()])
        for loop in loops:
            loop.cancel()
        try:
            async with self.session.delete(f"{self.config.queen_url}/internal/hives/{self.config.hive_id}") as r:
                log.info("deregistered", status=r.status)
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("deregister_failed", error=str(exc) or type(exc).__name__)

    async def _quiet(self) -> None:
        """Relays done and, on a cascade, every worker deregistered."""
        await self._idle.wait()
        while self.cascade and self.workers():
            await asyncio.sleep(0.05)

    async def _stop_worker(self, worker: WorkerRecord) -> None:
        try:
            async with self.session.post(f"{worker.url}/v1/admin/shutdown") as resp:
                log.info("worker_stopping", worker_id=worker.worker_id, status=resp.status)
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("worker_stop_failed", worker_id=worker.worker_id, error=str(exc) or type(exc).__name__)
            with contextlib.suppress(sqlite3.Error):
                self.registry.remove(worker.worker_id)


async def run(lifecycle: Lifecycle) -> None:
    """Open the registry, start heartbeats and expiry, serve until stopped."""
    config = HiveConfig.from_env(os.environ)
    registry = open_registry(config.data_dir)
    timeout = aiohttp.ClientTimeout(total=max(2.0, config.heartbeat_interval))
    async with client_session(timeout=timeout) as session:
        hive = Hive(config, lifecycle, registry, session)
        hive.unconfirm_workers()
        loops = [asyncio.ensure_future(hive.sweep_loop()), asyncio.ensure_future(hive.queen_loop())]
        log.info("starting", hive_id=config.hive_id, queen_url=config.queen_url, data_dir=str(config.data_dir))
        await serve(hive.app(), "0.0.0.0", config.port, lifecycle, lambda: hive.drain(loops))
