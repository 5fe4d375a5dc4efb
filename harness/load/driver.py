"""The aiohttp load driver: closed loop (virtual users) and open loop (constant arrival rate).

Hot path rules: one ClientSession with a bounded TCPConnector reused by every request, no
per-request objects but the record tuple, static bodies serialized once, histograms built
after the run. Open-loop latency counts from the intended send time (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import aiohttp
import yarl

from harness.errors import LoadError
from harness.load import rawhttp
from harness.load.history import Outcome
from harness.load.machine import Watch
from harness.load.results import LoadResult, RawRecord
from harness.load.spec import DEFAULT_LIMITS, Limits, RequestSpec, check_target

logger = logging.getLogger(__name__)

T = TypeVar("T")
ThinkTime = float | Callable[[int], float]
NAN = math.nan
# After the last scheduled request, stragglers get this long past their own timeout.
_GRACE = 1.0


class _Sender:
    """Sends one request as described by a spec and appends its record.

    Plain ``http://`` requests that read a whole body go through ``rawhttp`` (keep-alive protocols,
    request bytes built once); SSE streams, ``https://`` and redirects go through aiohttp.
    """

    def __init__(self, spec: RequestSpec, session: aiohttp.ClientSession, t0: float,
                 pool: rawhttp.Pool | None = None) -> None:
        self.spec = spec
        self.session = session
        self.pool = pool if not spec.stream else None
        self.t0 = t0
        self.records: list[RawRecord] = []
        self.url = yarl.URL(spec.url)
        self.method = spec.method.upper()
        self.id_path = spec.id_path()
        self.static_headers: dict[str, str] = {}
        self.headers_fn: Callable[[int, int], Any] | None = None
        if callable(spec.headers):
            self.headers_fn = spec.headers
        elif spec.headers:
            self.static_headers = dict(spec.headers)
        self.static_body = spec.static_body()
        self.body_fn: Callable[[int, int], Any] | None = spec.json if callable(spec.json) else None
        if self.static_body is not None or self.body_fn is not None:
            self.static_headers.setdefault("Content-Type", "application/json")
        host = self.url.raw_host or ""
        self.host = host if self.url.is_default_port() else f"{host}:{self.url.port}"
        self.target = self.url.raw_path_qs
        self.static_request = rawhttp.request_bytes(self.method, self.host, self.target, self.static_headers,
                                                    self.static_body)

    def _prepare(self, user: int, seq: int) -> tuple[dict[str, str], bytes | None]:
        headers = self.static_headers
        if self.headers_fn is not None:
            headers = {**headers, **self.headers_fn(user, seq)}
        body = self.static_body
        if self.body_fn is not None:
            body = json.dumps(self.body_fn(user, seq)).encode()
        return headers, body

    async def send(self, user: int, seq: int, intended: float) -> None:
        """Send one request intended at ``intended`` (seconds from t0) and record it."""
        if self.pool is not None:
            await self._send_raw(user, seq, intended)
            return
        await self._send_aiohttp(user, seq, intended)

    async def _send_raw(self, user: int, seq: int, intended: float) -> None:
        perf = time.perf_counter
        t0 = self.t0
        data = self.static_request
        if self.headers_fn is not None or self.body_fn is not None:
            headers, body = self._prepare(user, seq)
            data = rawhttp.request_bytes(self.method, self.host, self.target, headers, body)
        start = perf() - t0
        status = 0
        error: str | None = None
        job_id: str | None = None
        outcome: Outcome
        try:
            status, payload = await self.pool.request(data, self.spec.timeout)  # type: ignore[union-attr]
            if status in _REDIRECTS:  # aiohttp follows redirects: send it again that way
                await self._send_aiohttp(user, seq, intended, start)
                return
            outcome = "ok" if self.spec.ok(status) else "fail"
            if self.id_path and outcome == "ok":
                job_id, error = _extract_id(payload, self.id_path)
        except rawhttp.ConnectFailed as exc:
            # Refused or unreachable before anything was sent: definitely not done.
            outcome, error = "fail", f"connect failed: {type(exc.cause).__name__}"
        except TimeoutError:
            outcome, error = "info", "timeout"
        except (rawhttp.Disconnected, rawhttp.BadResponse, OSError) as exc:
            # Sent, then reset or cut: the system may or may not have acted on it.
            outcome, error = "info", _RAW_ERRORS.get(type(exc), type(exc).__name__)
        except asyncio.CancelledError:
            self.records.append((user, seq, intended, start, perf() - t0, NAN, status, "info",
                                 "cancelled at the run's hard stop", None))
            raise
        self.records.append((user, seq, intended, start, perf() - t0, NAN, status, outcome, error, job_id))

    async def _send_aiohttp(self, user: int, seq: int, intended: float, start: float | None = None) -> None:
        headers, body = self._prepare(user, seq)
        perf = time.perf_counter
        t0 = self.t0
        start = perf() - t0 if start is None else start
        status = 0
        first = NAN
        error: str | None = None
        job_id: str | None = None
        outcome: Outcome
        try:
            async with self.session.request(self.method, self.url, headers=headers, data=body) as resp:
                status = resp.status
                outcome = "ok" if self.spec.ok(status) else "fail"
                if self.spec.stream:
                    first = await _first_event(resp.content) - t0
                    while await resp.content.readany():
                        pass
                elif self.id_path and outcome == "ok":
                    job_id, error = _extract_id(await resp.read(), self.id_path)
                else:
                    await resp.read()
        except aiohttp.ClientConnectorError as exc:
            # Refused or unreachable before anything was sent: definitely not done.
            outcome, error = "fail", _describe(exc)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            # Sent, then timed out or reset: the system may or may not have acted on it.
            outcome, error = "info", _describe(exc)
        except asyncio.CancelledError:
            self.records.append((user, seq, intended, start, perf() - t0, first, status, "info",
                                 "cancelled at the run's hard stop", None))
            raise
        self.records.append((user, seq, intended, start, perf() - t0, first, status, outcome, error,
                             job_id))


_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# the names aiohttp gives the same failures, so error counts read the same on both paths
_RAW_ERRORS: dict[type, str] = {rawhttp.Disconnected: "ServerDisconnectedError",
                                rawhttp.BadResponse: "ClientResponseError"}


async def _first_event(content: aiohttp.StreamReader) -> float:
    """Read SSE lines until the first event line arrives; return its perf_counter time."""
    while True:
        line = await content.readline()
        if not line:
            return NAN
        if line.strip() and not line.startswith(b":"):
            return time.perf_counter()


def _extract_id(body: bytes, path: tuple[str, ...]) -> tuple[str | None, str | None]:
    """The id at ``path`` in a JSON body, or None with the reason."""
    try:
        value: Any = json.loads(body)
        for key in path:
            value = value[key]
    except (ValueError, KeyError, TypeError, IndexError):
        return None, f"no {'.'.join(path)!r} in the response"
    return str(value), None


def _describe(exc: BaseException) -> str:
    """A short, stable error description for counting (type name plus errno reason)."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connect failed: {type(exc.os_error).__name__}"
    return type(exc).__name__


@contextmanager
def _quiet_gc() -> Iterator[None]:
    """Move existing objects out of the collector's way and collect rarely during a run."""
    threshold = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


class _Run:
    """One run's session, clock and sender; closes the session on exit."""

    def __init__(self, spec: RequestSpec, connections: int, limits: Limits) -> None:
        check_target(spec.url, limits.allowed_networks)
        self.spec = spec
        self.connector = aiohttp.TCPConnector(limit=connections, limit_per_host=0, ttl_dns_cache=None)
        self.session = aiohttp.ClientSession(
            connector=self.connector, cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=spec.timeout), raise_for_status=False)
        url = yarl.URL(spec.url)
        self.pool = rawhttp.Pool(url.raw_host or "", url.port or 80, connections) if url.scheme == "http" else None
        self.t0 = time.perf_counter()
        self.wall0 = time.time()
        self.watch = Watch()
        self.sender = _Sender(spec, self.session, self.t0, self.pool)

    def now(self) -> float:
        """Seconds since the run started."""
        return time.perf_counter() - self.t0

    async def gather(self, workers: list[Coroutine[Any, Any, None]], hard_stop: float) -> None:
        """Run the workers; cancel what is left at ``hard_stop`` seconds or when one crashes."""
        tasks = [asyncio.ensure_future(worker) for worker in workers]
        try:
            done, pending = await asyncio.wait(tasks, timeout=max(0.0, hard_stop - self.now()),
                                               return_when=asyncio.FIRST_EXCEPTION)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
            crashed = [task.exception() for task in done if task.exception() is not None]
            if crashed:
                raise LoadError(f"a load worker crashed: {crashed[0]!r}",
                                hint="check the spec's headers/json callables") from crashed[0]
            if pending:
                logger.warning("load run hit its hard stop; cancelled %d workers", len(pending))
        finally:
            # When the run itself is cancelled (a background run stopped early), stop its workers too.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.pool is not None:
                self.pool.close()
            await self.session.close()

    def result(self, mode: str, users: int, **extra: Any) -> LoadResult:
        """Package the records."""
        records = self.sender.records
        elapsed = max((r[4] for r in records), default=self.now())
        return LoadResult(mode=mode, method=self.spec.method.upper(), url=self.spec.url, users=users,
                          started_at=self.wall0, elapsed=elapsed, raw=records, loop=_loop_name(),
                          extra={"machine": self.watch.state().as_dict()}, **extra)


async def closed_loop(spec: RequestSpec, *, users: int, requests_per_user: int | None = None,
                      duration: float | None = None, think_time: ThinkTime = 0.0,
                      connections: int | None = None, limits: Limits = DEFAULT_LIMITS) -> LoadResult:
    """``users`` virtual users send back to back (or with a think time) for a count and/or duration."""
    count = requests_per_user * users if requests_per_user is not None else None
    limits.check_run(count=count, duration=duration, users=users)
    run = _Run(spec, connections or users, limits)
    deadline = duration if duration is not None else limits.max_duration
    seq = itertools.count()

    async def user(index: int) -> None:
        send, now, left = run.sender.send, run.now, requests_per_user
        # wait: a closed-model user's think time between requests (load pacing, not a poll of a condition)
        while left is None or left > 0:
            at = now()
            if at >= deadline:
                return
            await send(index, next(seq), at)
            if left is not None:
                left -= 1
            if think_time:
                await asyncio.sleep(think_time(index) if callable(think_time) else think_time)

    await run.gather([user(i) for i in range(users)], deadline + spec.timeout + _GRACE)
    return run.result("closed", users, planned=count)


async def open_loop(spec: RequestSpec, *, rate: float, duration: float | None = None,
                    count: int | None = None, max_in_flight: int = 64, connections: int | None = None,
                    limits: Limits = DEFAULT_LIMITS) -> LoadResult:
    """Send at a constant ``rate`` per second; latency counts from each intended send time."""
    if not 0 < rate <= limits.max_rate:
        raise LoadError(f"rate {rate}/s is outside (0, {limits.max_rate}]", hint="pick a lower rate")
    limits.check_run(count=count, duration=duration, users=max_in_flight)
    planned = count if count is not None else 0
    if duration is not None:
        by_time = max(1, math.ceil(rate * duration))
        planned = min(planned, by_time) if count is not None else by_time
    interval = 1.0 / rate
    run = _Run(spec, connections or max_in_flight, limits)
    seq = itertools.count()

    async def worker(index: int) -> None:
        send, now, sleep = run.sender.send, run.now, asyncio.sleep
        # wait: the open model's schedule: each request waits for its intended send time (pacing, not a poll)
        for i in seq:
            if i >= planned:
                return
            intended = i * interval
            delay = intended - now()
            if delay > 0:
                await sleep(delay)
            await send(index, i, intended)

    last = (planned - 1) * interval
    hard_stop = min(last, limits.max_duration) + spec.timeout + _GRACE
    await run.gather([worker(i) for i in range(max_in_flight)], hard_stop)
    return run.result("open", max_in_flight, planned=planned, rate=rate)


def _loop_name() -> str:
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


def _run_sync(make: Callable[[], Awaitable[T]], use_uvloop: bool | None) -> T:
    """Run a coroutine to completion on a fresh event loop in this thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise LoadError("run_closed/run_open called from inside a running event loop",
                        hint="await closed_loop(...)/open_loop(...) instead")

    async def main() -> T:
        return await make()

    factory = _uvloop_factory(use_uvloop)
    with _quiet_gc():
        if factory is None:
            return asyncio.run(main())
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(main())


def _uvloop_factory(use_uvloop: bool | None) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory when wanted and installed; None for the standard loop."""
    if use_uvloop is False:
        return None
    try:
        # lazy: optional: not on every platform
        import uvloop
    except ImportError:
        if use_uvloop:
            raise LoadError("uvloop was asked for but is not installed",
                            hint=".venv/bin/pip install uvloop, or pass use_uvloop=None") from None
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run_closed(spec: RequestSpec, *, users: int, requests_per_user: int | None = None,
               duration: float | None = None, think_time: ThinkTime = 0.0,
               connections: int | None = None, limits: Limits = DEFAULT_LIMITS,
               use_uvloop: bool | None = None) -> LoadResult:
    """Synchronous closed loop for behave steps: see ``closed_loop``."""
    return _run_sync(lambda: closed_loop(spec, users=users, requests_per_user=requests_per_user,
                                         duration=duration, think_time=think_time,
                                         connections=connections, limits=limits), use_uvloop)


def run_open(spec: RequestSpec, *, rate: float, duration: float | None = None, count: int | None = None,
             max_in_flight: int = 64, connections: int | None = None, limits: Limits = DEFAULT_LIMITS,
             use_uvloop: bool | None = None) -> LoadResult:
    """Synchronous open loop for behave steps: see ``open_loop``."""
    return _run_sync(lambda: open_loop(spec, rate=rate, duration=duration, count=count,
                                       max_in_flight=max_in_flight, connections=connections,
                                       limits=limits), use_uvloop)
