"""The load driver bound to a behave scenario: targets, tokens per client, runs, and their checks.

``load_state(session)`` is the scenario's ``LoadState`` (a ``Session.extension``): the target
(``inference_target`` of the reference stack unless a step set another), the job lookup, the
runs so far and a background run. Runs print their latency table (captured into the scenario's
output and the run record) and write their summary to ``<run folder>/load/NNN-<mode>.json``.

Which steps drive and which check: the runs (closed, open, background start) and the memory
snapshot are drivers; everything in ``harness.load.checks`` verifies through ``harness.expect`` and says what
it saw. The report step is a check too: a load run must exist and have completed requests.
"""

from __future__ import annotations

import itertools
import logging
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.clients import tokens
from harness.clients.scope import Scope
from harness.env.config import seconds_settings
from harness.errors import HarnessError, LoadError
from harness.load.background import BackgroundLoad
from harness.load.driver import open_loop, run_closed, run_open
from harness.load.lookup import Fetch, JobState, Query, look_up
from harness.load.results import LoadResult
from harness.load.spec import RequestSpec
from harness.load.target import BodyTemplate, ClientAuth, JobLookup, LoadTarget, inference_target
from harness.load.ws import WsLoad, WsSpec, run_ws
from harness.runfolder import EnvFolder, LoadRecord, LoadSecond

logger = logging.getLogger(__name__)

_SAVED = itertools.count(1)
MAX_IN_FLIGHT = 1024


@dataclass(frozen=True)
class LoadSettings:
    """Request timeout and lookup bounds of load steps, from ``-D`` or ``HARNESS_*``."""

    request_timeout: float = 60.0
    lookup_within: float = 60.0
    lookup_interval: float = 0.5

    @classmethod
    def build(cls, userdata: Mapping[str, str], environ: Mapping[str, str] | None = None) -> LoadSettings:
        """From ``-D load_timeout=…``, ``-D load_lookup_within=…`` or ``HARNESS_LOAD_TIMEOUT`` etc."""
        keys = {"request_timeout": "load_timeout", "lookup_within": "load_lookup_within",
                "lookup_interval": "load_lookup_interval"}
        return cls(**seconds_settings(keys, userdata, environ))


@dataclass
class LoadState:
    """One scenario's load: its target, lookup, runs, background run and memory snapshots."""

    session: Scope
    settings: LoadSettings
    target: LoadTarget | None = None
    lookup: JobLookup = field(default_factory=JobLookup)
    run_tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    results: list[LoadResult] = field(default_factory=list)
    background: BackgroundLoad | None = None
    background_bound: float = 120.0
    memory: dict[str, dict[str, float]] = field(default_factory=dict)
    fetch: Fetch | None = None
    subscribers: WsLoad | None = None
    baseline: float | None = None
    _tokens: dict[int, dict[str, str]] = field(default_factory=dict)

    # -- the target ---------------------------------------------------------------------------

    def current_target(self) -> LoadTarget:
        """The target set by a step, else the reference stack's inference request."""
        return self.target or inference_target(self.session.env.params)

    def set_target(self, method: str, path: str, service: str, body: str | None,
                   auth: ClientAuth | None = None) -> LoadTarget:
        """Point later runs at SERVICE's PATH; ``body`` is a JSON template (see harness.load.target)."""
        env = self.session.env
        if service not in env.services:
            raise HarnessError(f"environment {env.name!r} has no service {service!r}",
                               hint=f"services: {', '.join(sorted(env.services))}")
        template = None
        if body is not None:
            template = BodyTemplate.parse(body, lambda name: str(self.session.recall(name)))
        self.target = LoadTarget(service=service, path=self.session.interpolate(path), method=method.upper(),
                                 body=template, auth=auth or ClientAuth(), id_key=None)
        return self.target

    def update_target(self, **changes: Any) -> LoadTarget:
        """Change one aspect of the current target (``id_key``, ``auth``, ``stream``)."""
        self.target = replace(self.current_target(), **changes)
        return self.target

    # -- building the driver's spec -----------------------------------------------------------

    def token_headers(self, client: int, auth: ClientAuth) -> dict[str, str]:
        """The Authorization header of one client (minted once per client and scenario)."""
        if client not in self._tokens:
            tenant = auth.tenant_of(client, self.run_tag)
            if tenant is None:
                self._tokens[client] = {}
            else:
                env = self.session.env
                token = tokens.mint(env.name, env.params, tokens.TokenSpec(tenant=tenant, subject=f"load-{client}"))
                self._tokens[client] = {"Authorization": f"Bearer {token}"}
        return self._tokens[client]

    def spec(self, clients: int, *, stream: bool | None = None) -> RequestSpec:
        """The driver's request spec for ``clients`` clients, tokens minted up front."""
        target = self.current_target()
        if stream is not None and stream != target.stream:
            target = (inference_target(self.session.env.params, stream=stream) if self.target is None
                      else replace(target, stream=stream))
        headers = [self.token_headers(client, target.auth) for client in range(clients)]
        body: Callable[[int, int], Any] | None = None
        if target.body is not None:
            template, tag = target.body, self.run_tag
            body = lambda client, seq: template.render(client, seq, tag)  # noqa: E731
        return RequestSpec(url=self.session.env.url(target.service) + target.path, method=target.method,
                           headers=lambda client, seq: headers[client], json=body, id_key=target.id_key,
                           ok=target.succeeded,
                           stream=target.stream, timeout=self.settings.request_timeout)

    # -- runs ---------------------------------------------------------------------------------

    def run_clients(self, clients: int, requests: int, *, think_ms: float = 0.0,
                    stream: bool | None = None) -> LoadResult:
        """Closed loop: CLIENTS clients each send REQUESTS requests back to back (or with think time)."""
        spec = self.spec(clients, stream=stream)
        return self._keep(run_closed(spec, users=clients, requests_per_user=requests, think_time=think_ms / 1e3))

    def measure_baseline(self, count: int) -> float:
        """One client sends COUNT requests back to back; the median latency (s) is the baseline."""
        result = self.run_clients(1, count)
        if result.ok_count == 0:
            raise LoadError(f"no baseline request succeeded: statuses {result.status_counts}, "
                            f"errors {result.error_counts or 'none'}",
                            hint="the baseline needs the target to answer with a success")
        self.baseline = result.percentiles()["p50"]
        print(f"baseline: median of {count} single requests {self.baseline * 1e3:.1f} ms")
        return self.baseline

    def run_rate(self, rate: float, duration: float) -> LoadResult:
        """Open loop: RATE requests per second for DURATION seconds (latency from intended send)."""
        workers = in_flight(rate)
        return self._keep(run_open(self.spec(workers), rate=rate, duration=duration, max_in_flight=workers))

    def start_background(self, rate: float, duration: float) -> BackgroundLoad:
        """Start an open loop on a thread; its stop is registered as a cleanup before it starts."""
        if self.background is not None and self.background.running:
            raise LoadError("a background load is already running in this scenario",
                            hint="wait for it ('Then the background load finished') before starting another")
        workers = in_flight(rate)
        spec = self.spec(workers)
        run = BackgroundLoad(lambda: open_loop(spec, rate=rate, duration=duration, max_in_flight=workers))
        self.session.cleanup(run.stop, "stop the background load")
        self.background = run.start()
        self.background_bound = duration + self.settings.request_timeout + 5.0
        return run

    def finish_background(self) -> LoadResult:
        """Wait for the background run (its duration plus the request timeout at most) and keep it."""
        if self.background is None:
            raise HarnessError("no background load was started in this scenario",
                               hint="start one: When steady load of 20 requests per second runs in the "
                                    "background for 30 seconds")
        result = self.background.wait(self.background_bound)
        if result not in self.results:
            self._keep(result)
        return result

    # -- WebSocket load ---------------------------------------------------------------------

    def ws_spec(self, path: str, service: str, auth: ClientAuth, **options: Any) -> WsSpec:
        """A WebSocket load spec to SERVICE's PATH with one token per connection (``auth``)."""
        url = self.session.env.url(service) + self.session.interpolate(path)
        return WsSpec(url, headers=lambda conn: self.token_headers(conn, auth),
                      connect_timeout=self.settings.request_timeout, **options)

    def start_subscribers(self, count: int, spec: WsSpec) -> WsLoad:
        """Open COUNT subscriber connections on a thread; they listen while other steps act."""
        if self.subscribers is not None:
            raise LoadError("WebSocket subscribers are already listening in this scenario",
                            hint="finish them first: When the subscribers wait up to N seconds for ...")
        load = WsLoad(spec)
        self.session.cleanup(load.stop, "close the WebSocket load's connections")
        self.subscribers = load.start(count)
        return load

    def finish_subscribers(self, within: float) -> LoadResult:
        """Expect every acknowledged job of the last HTTP run on its client's subscriber; wait; keep the result."""
        if self.subscribers is None:
            raise HarnessError("no WebSocket subscribers are listening in this scenario",
                               hint='open them first: When 50 subscribers open WebSockets to "/v1/events" on '
                                    '"queen" as a tenant per client')
        http_runs = [r for r in self.results if r.mode != "websocket"]
        if http_runs:
            self.subscribers.expect((op.process, op.job_id or "") for op in http_runs[-1].history().acknowledged())
        load, self.subscribers = self.subscribers, None
        return self.keep(load.finish(within))

    def run_ws_clients(self, count: int, spec: WsSpec, duration: float) -> LoadResult:
        """COUNT connections each send the spec's message for DURATION seconds; keep the result."""
        return self.keep(run_ws(spec, connections=count, duration=duration,
                                linger=min(self.settings.request_timeout, 10.0)))

    def keep(self, result: LoadResult) -> LoadResult:
        """Add a finished run (printed and saved) as the scenario's latest."""
        return self._keep(result)

    def last(self) -> LoadResult:
        """The scenario's most recent load run."""
        if not self.results:
            hint = ("the background load is still running: add 'Then the background load finished' first"
                    if self.background is not None else
                    "run one first, e.g. When 10 clients each send 5 inference requests concurrently")
            raise HarnessError("no load run has finished in this scenario", hint=hint)
        return self.results[-1]

    def _keep(self, result: LoadResult) -> LoadResult:
        target = result.url if result.mode == "websocket" else self.current_target().describe()
        result.extra.setdefault("target", target)
        self.results.append(result)
        print(result.format_table(f"{result.mode} {target}"))
        print(f"status counts: {result.status_counts}; errors: {result.error_counts or 'none'}")
        self._save(result)
        return result

    def _save(self, result: LoadResult) -> Path | None:
        run_dir = getattr(self.session.env, "run_dir", None)
        if run_dir is None:
            return None
        seconds = tuple(LoadSecond(s.second, s.completed, s.ok, round(s.p50 * 1e3, 1), round(s.p99 * 1e3, 1))
                        for s in result.timeline)
        record = LoadRecord(result.summary(), round(result.started_at, 3), seconds)
        path = EnvFolder(Path(run_dir)).write_load(next(_SAVED), record)
        return path

    # -- looking jobs up ----------------------------------------------------------------------

    def look_up_jobs(self, result: LoadResult) -> dict[str, JobState]:
        """Every acknowledged job of ``result`` as its own client's tenant sees it, polled until final."""
        target = self.current_target()
        base = self.session.env.url(target.service)
        queries: list[Query] = [(op.job_id or "", base + self.lookup.url_path(op.job_id or ""),
                                 self.token_headers(op.process, target.auth))
                                for op in result.history().acknowledged()]
        return look_up(queries, self.lookup, within=self.settings.lookup_within,
                       interval=self.settings.lookup_interval, fetch=self.fetch)


def in_flight(rate: float) -> int:
    """Open-loop concurrency: one in-flight slot per request per second (≥ 64, ≤ 1024).

    The driver falls behind only when responses take longer than a second on average; even
    then latency counts from each intended send time, so the delay is measured, not hidden.
    """
    return max(64, min(MAX_IN_FLIGHT, math.ceil(rate)))


def load_state(session: Scope) -> LoadState:
    """The scenario's load state (made on first use, dropped at scenario end)."""
    found: LoadState = session.extension(
        "load", lambda: LoadState(session, LoadSettings.build(session.userdata)))
    return found
