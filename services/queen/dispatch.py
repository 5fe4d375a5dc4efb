"""Accepted jobs: a bounded wait queue, dispatch to hives, relaying, requeueing and outcomes."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from services.common import sse
from services.common.http import REQUEST_ID
from services.common.logs import EventLog, job_id_var, request_id_var
from services.queen.hives import HiveDirectory, HiveEntry
from services.queen.jobs import Job, JobStore
from services.queen.metrics import Metrics

log = EventLog("services.queen.dispatch")
Event = tuple[str, dict[str, Any]]
Listener = Callable[[Job, str, dict[str, Any]], None]
_STREAM_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, sse.StreamStalled, ValueError)


class QueueFull(Exception):
    """The wait queue is at capacity; the caller should retry later."""


@dataclass(frozen=True)
class DispatchConfig:
    """Queueing and dispatch limits."""

    queue_size: int
    queue_timeout: float
    max_attempts: int
    retry_interval: float
    connect_timeout: float
    event_timeout: float


@dataclass(frozen=True)
class Outcome:
    """How one dispatch ended: completed, failed, or requeue (``counts`` toward max attempts)."""

    kind: str
    reason: str = ""
    counts: bool = False


class JobRun:
    """A job while it is queued or running: its event feed and completion signal."""

    def __init__(self, job: Job, accepted: float, listener: Listener | None = None) -> None:
        self.job, self.accepted, self.not_before = job, accepted, 0.0
        self.events: asyncio.Queue[Event | None] = asyncio.Queue()
        self.done = asyncio.Event()
        self.terminal_sent = False
        self._listener = listener

    def publish(self, event: str, data: dict[str, Any]) -> None:
        """Feed an event to a streaming client (and the event channel); it carries job_id and request_id."""
        payload = {**data, "job_id": self.job.job_id, "request_id": self.job.request_id}
        self.events.put_nowait((event, payload))
        self.announce(event, payload)
        self.terminal_sent = self.terminal_sent or event in {"job_completed", "job_failed"}

    def announce(self, event: str, data: dict[str, Any]) -> None:
        """Tell the event channel only (not the job's own stream)."""
        if self._listener is not None:
            self._listener(self.job, event, {**data, "job_id": self.job.job_id, "request_id": self.job.request_id})


class Dispatcher:
    """Owns queued and running jobs; never drops one without an outcome."""

    def __init__(
        self,
        config: DispatchConfig,
        hives: HiveDirectory,
        store: JobStore,
        metrics: Metrics,
        session: aiohttp.ClientSession,
        known_models: Callable[[], set[str]],
        clock: Callable[[], float] = time.monotonic,
        listener: Listener | None = None,
    ) -> None:
        self.config, self.hives, self.store, self.metrics = config, hives, store, metrics
        self.session, self.known_models, self._clock = session, known_models, clock
        self.listener = listener
        self.pending: deque[JobRun] = deque()
        self.runs: dict[str, JobRun] = {}
        self.inflight: Counter[tuple[str, str]] = Counter()
        self.accepting = True
        self._wakeup = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._calls: dict[asyncio.Future[Outcome], tuple[str, JobRun]] = {}  # hive calls in flight
        self._abandoned: set[asyncio.Future[Outcome]] = set()

    def submit(self, job: Job, recovered: bool = False) -> JobRun:
        """Accept a job: start it now if a hive has room, else queue it (QueueFull when full)."""
        if not recovered and len(self.pending) >= self.config.queue_size:
            raise QueueFull(f"{len(self.pending)} jobs already waiting")
        run = JobRun(job, self._clock(), self.listener)
        self.runs[job.job_id] = run
        job.state = "queued"
        self.store.save(job)
        log.info("job_recovered" if recovered else "job_accepted", job_id=job.job_id, model=job.model)
        if not recovered and job.model not in self.known_models():
            self._finish(run, "failed", f"no hive serves model {job.model!r}")
            return run
        hive = None if self.pending else self.hives.pick(job.model, self.inflight)
        if hive is not None:
            run.announce("job_queued", {"position": 0, "reason": "dispatched at once"})
            self._start(run, hive)
        else:
            self.pending.append(run)
            run.publish("job_queued", {"position": len(self.pending), "reason": "no worker free for the model"})
            log.info("job_queued", job_id=job.job_id, depth=len(self.pending))
        return run

    def wake(self) -> None:
        """Capacity may have changed: try queued jobs now."""
        self._wakeup.set()

    async def run_forever(self) -> None:
        """Mark lost hives, expire old queued jobs, dispatch what fits; on every wake-up or tick."""
        while True:
            try:
                await asyncio.wait_for(self._wakeup.wait(), self.config.retry_interval)
            except TimeoutError:
                pass
            self._wakeup.clear()
            self.tick()

    def tick(self) -> None:
        """One pass: mark silent hives lost (abandoning their calls), expire, dispatch."""
        for hive in self.hives.sweep():
            log.warning("hive_lost", hive_id=hive.hive_id)
            self._abandon(hive.hive_id)
        self._expire()
        self._dispatch_pending()

    def _abandon(self, hive_id: str) -> None:
        """A hive just went silent: its calls that delivered no token yet are requeued now.

        A frozen or cut-off hive still accepts connections (the kernel answers) and never sends a
        byte; without this the job would wait for the event timeout on a hive known to be lost (a
        heartbeat sent just before the freeze can even bring it back for a moment).
        """
        for call, (owner, run) in list(self._calls.items()):
            if owner == hive_id and not run.job.tokens and not call.done():
                self._abandoned.add(call)
                call.cancel()

    def _expire(self) -> None:
        now = self._clock()
        for run in [r for r in self.pending if now - r.accepted > self.config.queue_timeout]:
            self.pending.remove(run)
            self._finish(
                run,
                "failed",
                f"no worker for model {run.job.model!r} became available within {self.config.queue_timeout:g}s",
            )

    def _dispatch_pending(self) -> None:
        now = self._clock()
        for run in list(self.pending):
            hive = None if run.not_before > now else self.hives.pick(run.job.model, self.inflight)
            if hive is not None:
                self.pending.remove(run)
                self._start(run, hive)

    def _start(self, run: JobRun, hive: HiveEntry) -> None:
        self.inflight[(hive.hive_id, run.job.model)] += 1
        task = asyncio.ensure_future(self._execute(run, hive))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, run: JobRun, hive: HiveEntry) -> None:
        job = run.job
        request_id_var.set(job.request_id)
        job_id_var.set(job.job_id)
        job.state, job.hive_id = "running", hive.hive_id
        self.store.save(job)
        log.info("job_dispatched", hive_id=hive.hive_id, attempt=job.attempts + 1)
        call = asyncio.ensure_future(self._call_hive(run, hive))
        self._calls[call] = (hive.hive_id, run)
        try:
            outcome = await call
        except asyncio.CancelledError:
            if call not in self._abandoned:
                raise
            outcome = Outcome("requeue", f"hive {hive.hive_id} was lost before the first token", counts=True)
        finally:
            self._calls.pop(call, None)
            self._abandoned.discard(call)
            self.inflight[(hive.hive_id, job.model)] -= 1
            self.wake()
        self._apply(run, outcome)

    async def _call_hive(self, run: JobRun, hive: HiveEntry) -> Outcome:
        job = run.job
        payload = {
            "job_id": job.job_id,
            "model": job.model,
            "prompt": job.prompt,
            "max_tokens": job.max_tokens,
            "seed": job.seed,
            "attempt": job.attempts + 1,
        }
        timeout = aiohttp.ClientTimeout(
            total=None, connect=self.config.connect_timeout, sock_read=self.config.event_timeout
        )
        try:
            async with self.session.post(
                f"{hive.url}/v1/execute", json=payload, timeout=timeout, headers={REQUEST_ID: job.request_id}
            ) as resp:
                if resp.status == 200:
                    return await self._consume(run, hive, resp)
                detail = f"hive {hive.hive_id} answered HTTP {resp.status}: {(await resp.text())[:300]}"
        except _STREAM_ERRORS as exc:
            self.hives.mark_unreachable(hive.hive_id, self.config.retry_interval * 4)
            return Outcome("requeue", f"hive {hive.hive_id} unreachable ({type(exc).__name__}: {exc})")
        if resp.status == 502:
            return Outcome("requeue", detail, counts=True)
        if resp.status >= 500 or resp.status == 429:
            return Outcome("requeue", detail)
        return Outcome("failed", detail)

    async def _consume(self, run: JobRun, hive: HiveEntry, resp: aiohttp.ClientResponse) -> Outcome:
        job, delivered = run.job, 0
        try:
            async for event, data in sse.iter_events(resp.content, self.config.event_timeout):
                data["hive_id"] = hive.hive_id
                if event == "job_started":
                    job.worker_id = data.get("worker_id")
                elif event == "token":
                    job.text += str(data.get("text", ""))
                    job.tokens, delivered = job.tokens + 1, delivered + 1
                run.publish(event, data)
                if event == "job_completed":
                    job.usage = data.get("usage")
                    return Outcome("completed")
                if event == "job_failed":
                    return Outcome("failed", str(data.get("reason") or "worker reported a failure"))
            problem = "closed the stream before the job finished"
        except _STREAM_ERRORS as exc:
            problem = f"stream broke ({type(exc).__name__}: {exc})"
        if not delivered:
            return Outcome("requeue", f"hive {hive.hive_id} {problem}", counts=True)
        return Outcome("failed", f"hive {hive.hive_id} {problem} after {delivered} tokens (worker {job.worker_id})")

    def _apply(self, run: JobRun, outcome: Outcome) -> None:
        job = run.job
        if outcome.kind != "requeue":
            return self._finish(run, outcome.kind, outcome.reason)
        job.attempts += outcome.counts
        if job.attempts >= self.config.max_attempts:
            return self._finish(run, "failed", f"gave up after {job.attempts} attempts; last: {outcome.reason}")
        if not self.accepting:
            return self._finish(run, "failed", f"queen shutting down; last: {outcome.reason}")
        job.state, job.hive_id, job.worker_id, job.text, job.tokens = "queued", None, None, "", 0
        self.store.save(job)
        run.not_before = self._clock() + self.config.retry_interval
        self.pending.appendleft(run)
        run.publish("job_queued", {"position": 1, "reason": outcome.reason})
        log.warning("job_requeued", reason=outcome.reason, attempts=job.attempts)

    def _finish(self, run: JobRun, state: str, reason: str = "") -> None:
        job = run.job
        job.state, job.reason, job.finished = state, reason or None, time.time()
        self.store.save(job)
        latency = self._clock() - run.accepted if state == "completed" else None
        self.metrics.observe_job(state, latency)
        if state == "failed" and not run.terminal_sent:
            run.publish("job_failed", {"reason": reason, "hive_id": job.hive_id, "worker_id": job.worker_id})
        run.events.put_nowait(None)
        run.done.set()
        self.runs.pop(job.job_id, None)
        (log.info if state == "completed" else log.warning)(
            f"job_{state}", job_id=job.job_id, reason=job.reason, tokens=job.tokens, worker_id=job.worker_id
        )

    async def close(self, grace: float, fail_queued: bool) -> None:
        """Stop accepting; fail (cascade) or keep (restart) queued jobs; let running ones finish."""
        self.accepting = False
        if fail_queued:
            while self.pending:
                self._finish(self.pending.popleft(), "failed", "system shut down before a worker was free")
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
