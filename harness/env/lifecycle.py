"""Bring-up and teardown of one environment, and the running handle steps and faults get.

An Environment holds what one environment is (spec, parameters, where it lives: harness.env.place)
and sequences its collaborators, each passed in or made by default:

    start(): Preparer.render (harness.env.prepare: the decorated compose.yaml, services and probes, builds)
             -> validate (`compose config`) -> ImageBuilder.build -> ImageBuilder.copy (a remote engine)
             -> Watchdog.start (harness.env.watchdog) -> bring_up (harness.env.bringup: `compose up -d` in
             the background while Readiness polls every probe) -> startup.json
    on any failure: Artifacts.save_startup_failure (logs + inspect) -> down (unless --keep) -> raise
    down():  `compose down -v --remove-orphans` (again if a create was still in flight) -> Watchdog.stop

The collaborators: the compose runner (harness.engine.compose), the Docker client and the engine reads
(harness.env.client: Protocols, both made on first use), the image builder, the watchdog. Readiness and
Artifacts read the project through a ProjectView, never through the Environment, so the whole
lifecycle runs against fakes (tests/env/test_lifecycle_fakes.py).

Every compose call runs with ``--project-directory`` = the template's (or compose file's) folder,
so relative paths resolve as `docker compose` resolves them beside the file, and with the secret
parameters' values in its environment (the files in the run folder only hold references).
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from harness.analysis.redact import Redactor
from harness.engine.api import EngineReads
from harness.engine.compose import ComposeRunner
from harness.engine.endpoint import Engine, current_engine
from harness.env.artifacts import Artifacts
from harness.env.bringup import bring_up, kept_after_failure, record_startup, validate
from harness.env.client import Clients, DockerClient, ProjectView, docker_client
from harness.env.config import Settings
from harness.env.images import BuildResult
from harness.env.parts import Services
from harness.env.place import Place, new_run_id, project_name, source_folder
from harness.env.prepare import ImageBuilder, Preparer
from harness.env.probes import Observed
from harness.env.progress import Progress
from harness.env.readiness import Readiness, Service, StartupErrors
from harness.env.render import secret_environment
from harness.env.spec import EnvironmentSpec
from harness.env.watchdog import Watchdog
from harness.errors import HarnessError, NoAddress

logger = logging.getLogger(__name__)

__all__ = ["DETACHED", "Environment", "Service", "docker_client", "forward_signals_as_interrupt", "new_run_id",
           "project_name", "running", "source_folder"]

DETACHED = 0  # owner label of environments made by `harness up`: never reaped as orphans


class Environment:
    """A running (or starting) compose project made from an environment spec."""

    def __init__(self, spec: EnvironmentSpec, params: Mapping[str, Any], settings: Settings, *,
                 run_id: str, instance: int = 0, owner: int | None = None,
                 docker: DockerClient | None = None, reads: EngineReads | None = None,
                 progress: Progress | None = None, compose: ComposeRunner | None = None,
                 engine: Engine | None = None, builder: ImageBuilder | None = None,
                 watchdog: Watchdog | None = None) -> None:
        self.spec, self.name, self.params, self.settings, self.run_id = spec, spec.name, dict(params), settings, run_id
        self.place = place = Place.of(spec, settings, run_id, instance)
        self.project, self.run_dir, self.compose_file, self.source_dir = (
            place.project, place.run_dir, place.compose_file, place.source_dir)
        self.owner = os.getpid() if owner is None else owner
        self.engine = engine or current_engine()  # where compose, the SDK and published ports live
        self.compose = compose or ComposeRunner(
            self.project, [self.compose_file], timeout=spec.timeouts.compose,
            project_directory=self.source_dir, env={**secret_environment(spec, params), **self.engine.environ()},
            setting=str(spec.file))
        self.clients = Clients(self.engine, docker, reads)
        self.builder, self.watchdog = builder or ImageBuilder(), watchdog or Watchdog()
        self.secrets = [str(params[n]) for n in spec.secret_names() if params.get(n)]
        self.services = Services(spec.name)
        self.routes: dict[tuple[str, int], str] = {}  # (service, container port) -> a client-link fault proxy
        self.built: list[BuildResult] = []  # what the last start built (or found up to date)
        progress = progress or Progress(spec.name)
        self.preparer = Preparer(spec, self.params, settings, place, run_id, self.owner, self.clients,
                                 self.builder, progress.report)
        self.view, redact = ProjectView(self.project, self.clients), Redactor(self.secrets).text
        explain = StartupErrors(self.project, self.services, self.view, self.compose, redact, spec.timeouts.log_tail)
        self.readiness = Readiness(self.services, self.view, timeouts=spec.timeouts, explain=explain,
                                   progress=progress)
        self.artifacts = Artifacts(self.run_dir, self.compose, self.view, redact)
        self.ready_at = self.readiness.ready_at  # service -> wall-clock time its probe first answered
        self.up = False

    # -- the running handle ---------------------------------------------------------------

    @property
    def docker(self) -> DockerClient:
        """The docker SDK client (made on first use)."""
        return self.clients.docker

    def url(self, service: str, port: int | None = None) -> str:
        """Where clients connect to a service's declared (or given) port: ``http://<engine host>:<host port>``
        (127.0.0.1 when local), or the loopback fault proxy routed in front of it (``route``)."""
        wanted = port or self.services.named(service).port
        routed = self.routes.get((service, wanted or 0))
        return routed if routed is not None else self.direct_url(service, port)

    def direct_url(self, service: str, port: int | None = None) -> str:
        """``http://<engine host>:<host port>`` of a service's port, never through a routed proxy."""
        svc = self.services.named(service)
        wanted = port or svc.port
        host_port = svc.replicas[0].ports.get(wanted) if (svc.replicas and wanted) else None
        if host_port is None:
            self.refresh()
            host_port = svc.replicas[0].ports.get(wanted) if (svc.replicas and wanted) else None
        if host_port is None:
            running = any(r.state == "running" for r in svc.replicas)
            raise NoAddress(f"service {service!r} publishes no port {wanted} "
                            f"({'it runs' if running else 'it is not running now'})", service=service,
                            port=wanted, transient=bool(wanted) and not running,
                            hint=f"declare `port:` for it in {self.spec.file}" if running or not wanted
                            else f"`harness logs {service}` shows why it stopped")
        return self.engine.url(host_port)

    def route(self, service: str, port: int | None, origin: str) -> None:
        """Send clients of SERVICE's port (None: its declared one) to ``origin`` instead (a fault proxy)."""
        self.routes[(service, port or self.services.named(service).port or 0)] = origin

    def unroute(self, service: str, port: int | None) -> None:
        """Send clients of SERVICE's port straight to it again."""
        self.routes.pop((service, port or self.services.named(service).port or 0), None)

    def containers(self, service: str) -> list[Any]:
        """The docker SDK containers of a service (every replica)."""
        return [self.docker.containers.get(obs.id) for obs in self.services.named(service).replicas]

    def container(self, service: str) -> Any:
        """The first container of a service."""
        found = self.containers(service)
        if not found:
            raise HarnessError(f"service {service!r} has no container in project {self.project}")
        return found[0]

    def networks(self) -> list[str]:
        """The names of the project's docker networks."""
        return sorted(n.name for n in self.docker.networks.list(filters=self.view.filters))

    def logs(self, service: str, tail: int | None = None) -> str:
        """A service's logs (every replica), without timestamps."""
        self.services.named(service)
        return self.compose.logs(service, tail=tail, timestamps=False)

    def refresh(self) -> list[Observed]:
        """Observe every container of the project again (ports change after a restart)."""
        return self.readiness.refresh()

    def problems(self) -> list[str]:
        """One round of every probe: what is not healthy now (empty when all is well)."""
        return self.readiness.problems()

    def settle(self, within: float, trust_within: float = 0.0) -> list[str]:
        """Wait up to ``within`` seconds for every probe to pass; return what is still wrong.

        ``trust_within``: a probe that passed less than that many seconds ago on the same container stands.
        """
        return self.readiness.settle(within, trust_within)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Environment:
        """Render, validate, build, start and wait until every probe answers; clean up on failure."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.up = True  # from here on, down() has something to remove
        began = time.monotonic()
        try:
            plan = self.preparer.render()
            self.services.update(plan.services)
            validate(self.compose, self.clients)
            self.built = self.builder.build(plan.builds, self.preparer.report)
            self.builder.copy(plan.images, self.clients, self.preparer.report)
            if self.owner != DETACHED:  # the watchdog reaches the same engine, even if the context changes
                self.watchdog.start(owner=self.owner, project=self.project, log=self.place.folder.watchdog_log,
                                    environ=self.engine.environ())
            turn = bring_up(self.compose, self.readiness, self.place.folder, source=str(self.spec.file),
                            pull=self.builder.pull_policy(plan.images, self.docker))
        except BaseException as exc:
            if kept_after_failure(exc, self.artifacts, keep=self.settings.keep, env=self.name,
                                  project=self.project, run_id=self.run_id):
                self.watchdog.stop()
                raise
            try:
                self.down()
            except HarnessError as down_exc:
                logger.error("teardown after failed start also failed: %s", down_exc)
            raise
        record_startup(self.place.folder, self.name, began, len(self.services), turn)
        return self

    def down(self) -> None:
        """Remove the project's containers, networks and volumes; stop the watchdog."""
        if not self.up:
            return
        try:
            self.compose.down(self.spec.timeouts.down)
            if self.view.observe():  # a create that was in flight when `up` was interrupted
                logger.warning("project %s still had containers after down: removing again", self.project)
                self.compose.down(self.spec.timeouts.down)
            self.up = False
        finally:
            self.watchdog.stop()

    def attach(self) -> Environment:
        """Take over the running project of this name (kept by `harness up`): never started, never taken down."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.services.update(self.preparer.render().services)
        self.refresh()
        return self

    def __enter__(self) -> Environment:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if not (self.settings.keep and exc[0] is not None):
            self.down()


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

