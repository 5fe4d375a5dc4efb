"""Bring-up and teardown of one environment, and the running handle steps and faults get.

    Environment.start(): _render -> validate (compose config) -> _spawn_watchdog -> _start_and_await
                         (`compose up -d` runs in the background while every probe is polled)
    on any failure: _save_artifacts (logs + inspect) -> down (unless keep) -> raise
    Environment.down(): `compose down -v --remove-orphans`, then the watchdog is stopped
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.analysis.redact import Redactor
from harness.compose import ComposeRunner
from harness.config import EnvironmentSpec, ProbeSpec, Settings
from harness.errors import (
    DockerUnavailable,
    HarnessError,
    ReadinessTimeout,
    ServiceExited,
    ServiceUnhealthy,
    StartupError,
)
from harness.probes import Observed, Probe, make_probe
from harness.progress import Progress
from harness.render import RunLabels, decorate, render_template, template_variables, write_compose
from harness.waiting import poll

logger = logging.getLogger(__name__)

DETACHED = 0  # owner label of environments made by `harness up`: never reaped as orphans


def new_run_id() -> str:
    """A unique, sortable run id: date-time plus random hex."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def project_name(env: str, run_id: str, instance: int = 0) -> str:
    """A valid compose project name, unique per run and per instance."""
    safe = "".join(ch if ch.isalnum() else "-" for ch in env.lower()).strip("-")[:30]
    suffix = f"-{instance}" if instance else ""
    return f"h{run_id.replace('-', '')[-12:]}-{safe}{suffix}"


def docker_client() -> Any:
    """A docker SDK client, or DockerUnavailable with a hint."""
    import docker
    import docker.errors

    try:
        client = docker.from_env(timeout=30)
        client.ping()
        return client
    except docker.errors.DockerException as exc:
        raise DockerUnavailable(f"no Docker engine answers: {exc}",
                                hint="start Docker (`make setup` starts one as root on Debian)") from exc


@dataclass
class Service:
    """A compose service of a running environment."""

    name: str
    port: int | None
    probe: Probe
    replicas: list[Observed] = field(default_factory=list)

    @property
    def host_port(self) -> int | None:
        """The 127.0.0.1 port that the service's declared port is published on."""
        if self.port is None or not self.replicas:
            return None
        return self.replicas[0].ports.get(self.port)


_RUNNING = ProbeSpec(kind="running")


class _NotReady(Exception):
    """Internal: some probe has not answered yet."""


class Environment:
    """A running (or starting) compose project made from an environment spec."""

    def __init__(self, spec: EnvironmentSpec, params: Mapping[str, Any], settings: Settings, *,
                 run_id: str, instance: int = 0, owner: int | None = None,
                 docker: Any = None, progress: Progress | None = None) -> None:
        self.spec = spec
        self.name = spec.name
        self.params = dict(params)
        self.settings = settings
        self.run_id = run_id
        self.project = project_name(spec.name, run_id, instance)
        self.run_dir = settings.runs_dir / run_id / (spec.name + (f"-{instance}" if instance else ""))
        self.compose_file = self.run_dir / "compose.yaml"
        self.owner = os.getpid() if owner is None else owner
        self.compose = ComposeRunner(self.project, [self.compose_file], timeout=spec.timeouts.compose)
        self.services: dict[str, Service] = {}
        self.ready_at: dict[str, float] = {}
        self._images: list[str] = []  # service -> wall-clock time its probe first answered
        self.secrets = [str(params[n]) for n in spec.secret_names() if params.get(n)]
        self._redact = Redactor(self.secrets).text
        self._docker = docker
        self._progress = progress or Progress(spec.name)
        self._watchdog: subprocess.Popen[bytes] | None = None
        self.up = False

    # -- public handle ------------------------------------------------------------------

    @property
    def docker(self) -> Any:
        """The docker SDK client (made on first use)."""
        if self._docker is None:
            self._docker = docker_client()
        return self._docker

    def url(self, service: str, port: int | None = None) -> str:
        """``http://127.0.0.1:<host port>`` of a service's declared (or given) port."""
        svc = self._service(service)
        wanted = port or svc.port
        host_port = svc.replicas[0].ports.get(wanted) if (svc.replicas and wanted) else None
        if host_port is None:
            self.refresh()
            host_port = svc.replicas[0].ports.get(wanted) if (svc.replicas and wanted) else None
        if host_port is None:
            raise HarnessError(f"service {service!r} publishes no port {wanted} (is it running?)",
                               hint=f"declare `port:` for it in {self.spec.file}")
        return f"http://127.0.0.1:{host_port}"

    def containers(self, service: str) -> list[Any]:
        """The docker SDK containers of a service (every replica)."""
        return [self.docker.containers.get(obs.id) for obs in self._service(service).replicas]

    def container(self, service: str) -> Any:
        """The first container of a service."""
        found = self.containers(service)
        if not found:
            raise HarnessError(f"service {service!r} has no container in project {self.project}")
        return found[0]

    def networks(self) -> list[str]:
        """The names of the project's docker networks."""
        nets = self.docker.networks.list(filters={"label": f"com.docker.compose.project={self.project}"})
        return sorted(n.name for n in nets)

    def logs(self, service: str, tail: int | None = None) -> str:
        """A service's logs (every replica), without timestamps."""
        self._service(service)
        return self.compose.logs(service, tail=tail, timestamps=False)

    def refresh(self) -> list[Observed]:
        """Observe every container of the project again (ports change after a restart)."""
        observed = self._observe()
        for svc in self.services.values():
            svc.replicas = [o for o in observed if o.service == svc.name]
        return observed

    def problems(self) -> list[str]:
        """One round of every probe: what is not healthy now (empty when all is well)."""
        observed = self.refresh()
        found = [f"{o.service}: {o.state}" for o in observed if o.state != "running" and not self._finished(o)]
        for svc in self.services.values():
            if not svc.replicas:
                found.append(f"{svc.name}: no container")
            for obs in svc.replicas:
                seen = svc.probe(obs) if obs.state == "running" else None
                if seen:
                    found.append(f"{svc.name}: {seen}")
        return found

    def settle(self, within: float) -> list[str]:
        """Wait up to ``within`` seconds for every probe to pass; return what is still wrong."""
        problems: list[str] = []

        def healthy() -> None:
            problems[:] = self.problems()
            if problems:
                raise _NotReady()

        try:
            poll(healthy, timeout=within, interval=self.spec.timeouts.probe_interval, retry_on=(_NotReady,),
                 first_interval=0.05)
        except _NotReady:
            return problems
        return []

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Environment:
        """Render, validate, start and wait until every probe answers; clean up on failure."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.up = True  # from here on, down() has something to remove
        try:
            self._render()
            with ThreadPoolExecutor(max_workers=1) as warm:
                client = warm.submit(lambda: self.docker)  # connect to the engine while compose validates
                self.compose.config()
                client.result()
            self._spawn_watchdog()
            self._start_and_await()
        except BaseException as exc:
            self._on_failure(exc)
            raise
        return self

    def down(self) -> None:
        """Remove the project's containers, networks and volumes; stop the watchdog."""
        if not self.up:
            return
        try:
            self.compose.down(self.spec.timeouts.down)
            if self._observe():  # a create that was in flight when `up` was interrupted
                logger.warning("project %s still had containers after down: removing again", self.project)
                self.compose.down(self.spec.timeouts.down)
            self.up = False
        finally:
            self._stop_watchdog()

    def __enter__(self) -> Environment:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if not (self.settings.keep and exc[0] is not None):
            self.down()

    # -- steps of start -------------------------------------------------------------------

    def _render(self) -> None:
        variables = template_variables(self.spec, self.params, self.settings.images_file, self.run_id)
        text = render_template(self.settings.compose_dir, self.spec.template, variables)
        labels = RunLabels(run_id=self.run_id, env=self.name, owner=self.owner, host=socket.gethostname(),
                           created=time.strftime("%Y-%m-%dT%H:%M:%S"))
        ports = {s.pattern: s.port for s in self.spec.services if s.port is not None}
        rendered = self.run_dir / "compose.rendered.yaml"
        rendered.write_text(text)
        doc = decorate(text, rendered_name=str(rendered), labels=labels, ports=ports)
        write_compose(doc, self.compose_file)
        self._images = sorted({str(svc["image"]) for svc in doc["services"].values() if svc.get("image")})
        for name in doc["services"]:
            spec = self.spec.service_spec(name)
            port = spec.port if spec else None
            probe = make_probe(spec.probe, port, self.spec.timeouts.probe_timeout) if spec else make_probe(
                _RUNNING, None, 0)
            self.services[name] = Service(name=name, port=port, probe=probe)

    def _pull_policy(self) -> str:
        """``never`` when every image is already local (compose then skips registry checks)."""
        import docker.errors

        try:
            for image in self._images:
                self.docker.api.inspect_image(image)
        except docker.errors.ImageNotFound:
            return "missing"
        return "never"

    def _spawn_watchdog(self) -> None:
        if self.owner == DETACHED:
            return
        log = open(self.run_dir / "watchdog.log", "ab")  # noqa: SIM115 - owned by the child
        self._watchdog = subprocess.Popen(
            [sys.executable, "-m", "harness.watchdog", "--owner", str(self.owner), "--project", self.project],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        log.close()

    def _stop_watchdog(self) -> None:
        if self._watchdog is not None and self._watchdog.poll() is None:
            self._watchdog.send_signal(signal.SIGTERM)
            self._watchdog.wait(timeout=10)
        self._watchdog = None

    def _observe(self) -> list[Observed]:
        summaries = self.docker.api.containers(
            all=True, filters={"label": f"com.docker.compose.project={self.project}"})
        return [Observed.from_summary(s) for s in summaries]

    def _start_and_await(self) -> None:
        """`compose up -d` in the background while probing: readiness overlaps container start."""
        started = self.compose.spawn_up(self.run_dir / "compose-up.log", pull=self._pull_policy())
        try:
            self._await_ready(started.result)
        except BaseException:
            started.stop()
            raise

    def _await_ready(self, up_done: Callable[[], bool | None]) -> None:
        """Poll every probe until all answer; a slow probe never holds up the others' rounds."""
        timeouts = self.spec.timeouts
        waiting: dict[str, str] = {name: "not started" for name in self.services}
        inflight: dict[str, Future[str | None]] = {}
        pool = ThreadPoolExecutor(max_workers=min(16, max(1, len(self.services))))

        def one_round() -> None:
            finished = up_done()
            self._fail_fast(self.refresh())
            for name in waiting:
                if name not in inflight:
                    inflight[name] = pool.submit(self._check_service, name)
            wait(list(inflight.values()), timeout=0.01, return_when=FIRST_COMPLETED)  # collect, never block
            for name, future in [(n, f) for n, f in inflight.items() if f.done()]:
                del inflight[name]
                seen = future.result()
                if seen is None:
                    del waiting[name]
                    self.ready_at[name] = time.time()
                else:
                    waiting[name] = seen
            self._progress.update([n for n in self.services if n not in waiting], waiting)
            if waiting or not finished:
                raise _NotReady()

        try:
            poll(one_round, timeout=timeouts.ready, interval=timeouts.probe_interval,
                 retry_on=(_NotReady,), first_interval=0.02)
        except _NotReady:
            name, seen = next(iter(waiting.items()), ("compose", "`compose up` still running"))
            raise self._startup_error(
                ReadinessTimeout, name, f"not ready after {timeouts.ready:g} s: {seen}",
                hint=f"raise `timeouts.ready` in {self.spec.file} if it is slow, or read the log lines "
                     f"above; `--keep` leaves the environment up for a look") from None
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        self._progress.done(f"ready: {len(self.services)} services")

    def _check_service(self, name: str) -> str | None:
        svc = self.services[name]
        if not svc.replicas:
            return "no container yet"
        for obs in svc.replicas:
            seen = svc.probe(obs)
            if seen:
                return seen
        return None

    def _fail_fast(self, observed: list[Observed]) -> None:
        for obs in observed:
            if obs.health == "unhealthy":
                raise self._startup_error(ServiceUnhealthy, obs.service, "its healthcheck reports unhealthy",
                                          hint="the health output and log lines above say why")
            if obs.state in ("exited", "dead", "restarting") and not self._finished(obs):
                raise self._startup_error(
                    ServiceExited, obs.service, f"container {obs.name} is {obs.state} while starting",
                    hint="the log lines above usually say why; fix the service's command or config")

    def _finished(self, obs: Observed) -> bool:
        """A one-shot service (no declared port) that exited 0 has done its job."""
        svc = self.services.get(obs.service)
        return obs.state == "exited" and obs.exit_code == 0 and svc is not None and svc.port is None

    def _startup_error(self, cls: type[StartupError], service: str, message: str, hint: str) -> StartupError:
        info = self._inspect_service(service)
        return cls(message, service=service, project=self.project, state=info.get("Status", ""),
                   exit_code=info.get("ExitCode"), oom_killed=bool(info.get("OOMKilled")),
                   health=self._redact(info.get("Health", "")),
                   log_tail=self._redact(self._log_tail(service)), hint=hint)

    def _inspect_service(self, service: str) -> dict[str, Any]:
        svc = self.services.get(service)
        if not svc or not svc.replicas:
            return {}
        try:
            state = self.docker.api.inspect_container(svc.replicas[0].id)["State"]
        except Exception:  # noqa: BLE001 - best effort while reporting another error
            return {}
        logs = (state.get("Health") or {}).get("Log") or []
        return {**state, "Health": logs[-1].get("Output", "") if logs else ""}

    def _log_tail(self, service: str) -> str:
        try:
            return self.compose.logs(service, tail=self.spec.timeouts.log_tail, timestamps=False)
        except HarnessError:
            return ""

    def _on_failure(self, exc: BaseException) -> None:
        logger.error("environment %s (%s) failed to start: %s", self.name, self.project, exc)
        self._save_artifacts()
        if self.settings.keep and not isinstance(exc, KeyboardInterrupt):
            print(f"--keep: project {self.project} left up for debugging; remove it with "
                  f"`harness down {self.run_id}`", file=sys.stderr)
            self._stop_watchdog()
            return
        try:
            self.down()
        except HarnessError as down_exc:
            logger.error("teardown after failed start also failed: %s", down_exc)

    def save_failure_logs(self, label: str, tail: int = 500) -> Path:
        """Save every service's last log lines (redacted) when a step fails; return the file."""
        folder = self.run_dir / "failures"
        folder.mkdir(parents=True, exist_ok=True)
        slug = "".join(ch if ch.isalnum() else "-" for ch in label.lower()).strip("-")[:80]
        path = folder / f"{len(list(folder.iterdir())) + 1:03d}-{slug}.log"
        path.write_text(self._redact(self.compose.logs(tail=tail)))
        return path

    def _save_artifacts(self) -> None:
        """Save compose logs and `docker inspect` of every container before any teardown."""
        try:
            logs_dir = self.run_dir / "logs"
            logs_dir.mkdir(parents=True, exist_ok=True)
            (logs_dir / "compose.log").write_text(self._redact(self.compose.logs()))
            inspect_dir = self.run_dir / "inspect"
            inspect_dir.mkdir(exist_ok=True)
            for obs in self._observe():
                data = self.docker.api.inspect_container(obs.id)
                (inspect_dir / f"{obs.name}.json").write_text(
                    self._redact(json.dumps(data, indent=2)))
        except Exception as exc:  # noqa: BLE001 - never hide the original failure
            logger.error("could not save failure artifacts of %s: %s", self.project, exc)

    def _service(self, name: str) -> Service:
        if name not in self.services:
            raise HarnessError(f"environment {self.name!r} has no service {name!r}",
                               hint=f"services: {', '.join(sorted(self.services))}")
        return self.services[name]




@contextmanager
def running(spec: EnvironmentSpec, params: Mapping[str, Any], settings: Settings,
            **kwargs: Any) -> Iterator[Environment]:
    """An environment for the duration of a ``with`` block; always taken down."""
    env = Environment(spec, params, settings, **kwargs)
    with env:
        yield env


def forward_signals_as_interrupt(signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGHUP)) -> None:
    """Turn SIGTERM/SIGHUP into KeyboardInterrupt so every `finally` and hook cleans up."""
    def handler(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    for sig in signals:
        signal.signal(sig, handler)

