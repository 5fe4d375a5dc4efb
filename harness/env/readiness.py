"""Readiness: one object decides whether a project's services are ready, still coming, or failed.

Used for start-up (`await_ready`, which fails fast on an exited or unhealthy container), for
`problems()` (one round of every probe) and for `settle()` (wait until the probes pass again).
It sees the engine only through ``project.observe()`` (every container of the project:
``harness.env.client.ProjectView``, or a fake), and a failure's state and logs through
``StartupErrors`` (the project's inspect and compose logs, redacted): it calls nothing back, so tests
drive it with fakes and no Docker.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.env.probes import Observed, Probe
from harness.env.progress import Progress
from harness.env.spec import Timeouts
from harness.errors import HarnessError, ReadinessTimeout, ServiceExited, ServiceUnhealthy, StartupError
from harness.waiting import poll

MAX_PROBE_THREADS = 16


class Observes(Protocol):
    """Every container of the project, as the engine reports them now (harness.env.client.ProjectView)."""

    def observe(self) -> list[Observed]: ...


class Inspects(Observes, Protocol):
    """...and one container's `docker inspect`."""

    def inspect(self, container: str) -> dict[str, Any]: ...


class Logs(Protocol):
    """A project's compose logs (harness.engine.compose.ComposeRunner)."""

    def logs(self, *services: str, tail: int | None = None, timestamps: bool = True) -> str: ...


class Explain(Protocol):
    """Makes the StartupError to raise: (class, service, message, hint) -> error with state and logs."""

    def __call__(self, cls: type[StartupError], service: str, message: str, hint: str) -> StartupError: ...


@dataclass
class Service:
    """A compose service of a running environment."""

    name: str
    port: int | None
    probe: Probe
    replicas: list[Observed] = field(default_factory=list)

    @property
    def host_port(self) -> int | None:
        """The host port the service's declared port is published on (on the engine's host; 127.0.0.1 when local)."""
        if self.port is None or not self.replicas:
            return None
        return self.replicas[0].ports.get(self.port)


class _NotReady(Exception):
    """Internal: some probe has not answered yet."""


class Readiness:
    """Ready, unready or failed: the one place that decides it for an environment's services."""

    def __init__(self, services: Mapping[str, Service], project: Observes, *, timeouts: Timeouts,
                 explain: Explain | None = None, progress: Progress | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.services = services
        self.project = project
        self.timeouts = timeouts
        self.explain = explain or _bare_error
        self.progress = progress
        self.sleep = sleep
        self.ready_at: dict[str, float] = {}  # service -> wall-clock time its probe first answered
        self._passed: dict[tuple[str, tuple[tuple[int, int], ...]], float] = {}  # container, ports -> monotonic time

    def refresh(self) -> list[Observed]:
        """Observe every container again and hand each service its replicas."""
        observed = self.project.observe()
        for svc in self.services.values():
            svc.replicas = [o for o in observed if o.service == svc.name]
        return observed

    def finished(self, obs: Observed) -> bool:
        """A one-shot service (no declared port) that exited 0 has done its job."""
        svc = self.services.get(obs.service)
        return obs.state == "exited" and obs.exit_code == 0 and svc is not None and svc.port is None

    def check(self, name: str) -> str | None:
        """One probe round of one service: None when every replica is ready, else what was seen."""
        svc = self.services[name]
        if not svc.replicas:
            return "no container yet"
        for obs in svc.replicas:
            seen = None if self.finished(obs) else self._probe(svc, obs)  # a one-shot that exited 0 is done
            if seen:
                return seen
        return None

    def _probe(self, svc: Service, obs: Observed, trust_within: float = 0.0) -> str | None:
        """Probe one replica; with ``trust_within``, a pass younger than that (same container, same ports) stands."""
        key = (obs.id, tuple(sorted(obs.ports.items())))
        if trust_within > 0 and time.monotonic() - self._passed.get(key, -math.inf) < trust_within:
            return None
        seen = svc.probe(obs)
        if seen is None:
            self._passed[key] = time.monotonic()
        else:
            self._passed.pop(key, None)
        return seen

    def fail_fast(self, observed: list[Observed]) -> None:
        """Raise at once for an unhealthy container or one that exited while it should run."""
        for obs in observed:
            if obs.health == "unhealthy":
                raise self.explain(ServiceUnhealthy, obs.service, "its healthcheck reports unhealthy",
                                   "the health output and log lines above say why")
            if obs.state in ("exited", "dead", "restarting") and not self.finished(obs):
                raise self.explain(ServiceExited, obs.service, f"container {obs.name} is {obs.state} while starting",
                                   "the log lines above usually say why; fix the service's command or config")

    def problems(self, trust_within: float = 0.0) -> list[str]:
        """One round of every probe: what is not healthy now (empty when all is well).

        The engine's view of every container is read each time. With ``trust_within`` > 0, a running
        container whose probe passed less than that many seconds ago, and that the engine still shows
        as the same container with the same ports, is not probed again.
        """
        observed = self.refresh()
        found = [f"{o.service}: {o.state}" for o in observed if o.state != "running" and not self.finished(o)]
        for svc in self.services.values():
            if not svc.replicas:
                found.append(f"{svc.name}: no container")
            for obs in svc.replicas:
                seen = self._probe(svc, obs, trust_within) if obs.state == "running" else None
                if seen:
                    found.append(f"{svc.name}: {seen}")
        return found

    def settle(self, within: float, trust_within: float = 0.0) -> list[str]:
        """Wait up to ``within`` seconds for every probe to pass; return what is still wrong.

        ``trust_within``: see ``problems``; it applies to the first round only (a retry probes everything).
        """
        problems: list[str] = []
        trust = trust_within

        def healthy() -> None:
            nonlocal trust
            problems[:] = self.problems(trust)
            trust = 0.0
            if problems:
                raise _NotReady()

        try:
            poll(healthy, timeout=within, interval=self.timeouts.probe_interval, retry_on=(_NotReady,),
                 first_interval=0.05, sleep=self.sleep)
        except _NotReady:
            return problems
        return []

    def await_ready(self, up_done: Callable[[], bool | None], *, source: str = "") -> None:
        """Poll every probe until all answer and ``up_done`` says `up` finished; a slow probe holds no one up."""
        waiting: dict[str, str] = {name: "not started" for name in self.services}
        inflight: dict[str, Future[str | None]] = {}
        pool = ThreadPoolExecutor(max_workers=min(MAX_PROBE_THREADS, max(1, len(self.services))))

        def one_round() -> None:
            finished = up_done()
            self.fail_fast(self.refresh())
            for name in waiting:
                if name not in inflight:
                    inflight[name] = pool.submit(self.check, name)
            wait(list(inflight.values()), timeout=0.01, return_when=FIRST_COMPLETED)  # collect, never block
            for name, future in [(n, f) for n, f in inflight.items() if f.done()]:
                del inflight[name]
                seen = future.result()
                if seen is None:
                    del waiting[name]
                    self.ready_at[name] = time.time()
                else:
                    waiting[name] = seen
            if self.progress is not None:
                self.progress.update([n for n in self.services if n not in waiting], waiting)
            if waiting or not finished:
                raise _NotReady()

        try:
            poll(one_round, timeout=self.timeouts.ready, interval=self.timeouts.probe_interval,
                 retry_on=(_NotReady,), first_interval=0.02, sleep=self.sleep)
        except _NotReady:
            name, seen = next(iter(waiting.items()), ("compose", "`compose up` still running"))
            raise self.explain(
                ReadinessTimeout, name, f"not ready after {self.timeouts.ready:g} s: {seen}",
                f"raise `timeouts.ready` in {source or 'the environment file'} if it is slow, or read the "
                "log lines above; `--keep` leaves the environment up for a look") from None
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        if self.progress is not None:
            self.progress.done(f"ready: {len(self.services)} services")


def _bare_error(cls: type[StartupError], service: str, message: str, hint: str) -> StartupError:
    return cls(message, service=service, project="", hint=hint)


@dataclass
class StartupErrors:
    """Start-up errors that carry the failing container's state, last health output and log tail, redacted."""

    project_name: str
    services: Mapping[str, Service]
    project: Inspects
    logs: Logs
    redact: Callable[[str], str]
    log_tail: int

    def __call__(self, cls: type[StartupError], service: str, message: str, hint: str) -> StartupError:
        """The error of class ``cls`` for ``service``, with what the engine and its logs say now."""
        info = self._inspect(service)
        return cls(message, service=service, project=self.project_name, state=info.get("Status", ""),
                   exit_code=info.get("ExitCode"), oom_killed=bool(info.get("OOMKilled")),
                   health=self.redact(info.get("Health", "")), log_tail=self.redact(self._tail(service)), hint=hint)

    def _inspect(self, service: str) -> dict[str, Any]:
        svc = self.services.get(service)
        if not svc or not svc.replicas:
            return {}
        try:
            state: dict[str, Any] = self.project.inspect(svc.replicas[0].id)["State"]
        except Exception:  # noqa: BLE001 - best effort while reporting another error
            return {}
        logs = (state.get("Health") or {}).get("Log") or []
        return {**state, "Health": logs[-1].get("Output", "") if logs else ""}

    def _tail(self, service: str) -> str:
        try:
            return self.logs.logs(service, tail=self.log_tail, timestamps=False)
        except HarnessError:
            return ""
