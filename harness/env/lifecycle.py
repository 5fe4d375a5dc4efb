"""Bring-up and teardown of one environment, and the running handle steps and faults get.

    Environment.start(): _render (template or plain compose file -> decorated compose.yaml, build plan)
                         -> validate (compose config) -> _build (images of `build:` services)
                         -> _spawn_watchdog -> _start_and_await
                         (`compose up -d` runs in the background while Readiness polls every probe)
    on any failure: Artifacts.save_startup_failure (logs + inspect) -> down (unless keep) -> raise
    Environment.down(): `compose down -v --remove-orphans`, then the watchdog is stopped

Every compose call runs with ``--project-directory`` = the template's (or compose file's) folder,
so relative paths resolve as `docker compose` resolves them beside the file, and with the secret
parameters' values in its environment (the files in the run folder only hold references).
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from harness.analysis.redact import Redactor
from harness.engine.api import EngineReads, reads_for
from harness.engine.compose import ComposeRunner
from harness.engine.endpoint import Engine, current_engine
from harness.env.artifacts import Artifacts
from harness.env.builds import ServiceBuild, build_images, plan_builds, project_slug, use_built_images
from harness.env.config import Settings
from harness.env.discover import default_service_spec
from harness.env.images import BuildResult, DockerCLI, ImageBackend, from_images
from harness.env.probes import Observed, make_probe
from harness.env.progress import Progress
from harness.env.readiness import Readiness, Service
from harness.env.remote_images import ensure_images
from harness.env.render import (
    RunLabels,
    config_hash,
    decorate,
    render_template,
    secret_environment,
    template_path,
    template_variables,
    write_compose,
)
from harness.env.spec import EnvironmentSpec, ProbeSpec, ServiceSpec
from harness.env.turns import Turn
from harness.errors import ConfigError, HarnessError, StartupError
from harness.runfolder import EnvFolder, RunFolder, Startup

logger = logging.getLogger(__name__)

__all__ = ["DETACHED", "Environment", "Service", "docker_client", "forward_signals_as_interrupt", "new_run_id",
           "project_name", "running", "source_folder"]

DETACHED = 0  # owner label of environments made by `harness up`: never reaped as orphans


def new_run_id() -> str:
    """A unique, sortable run id: date-time plus random hex."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def project_name(env: str, run_id: str, instance: int = 0) -> str:
    """A valid compose project name, unique per run and per instance."""
    safe = "".join(ch if ch.isalnum() else "-" for ch in env.lower()).strip("-")[:30]
    suffix = f"-{instance}" if instance else ""
    return f"h{run_id.replace('-', '')[-12:]}-{safe}{suffix}"


def docker_client(engine: Engine | None = None) -> Any:
    """A docker SDK client for ``engine`` (default: the one DOCKER_HOST or the Docker context selects)."""
    return (engine or current_engine()).client()


def source_folder(spec: EnvironmentSpec, settings: Settings) -> Path:
    """The folder relative paths resolve from: the plain compose file's, else the template's."""
    if spec.compose_file is not None:
        return spec.compose_file.parent.resolve()
    return template_path(settings.compose_dir, spec.template).parent.resolve()


_RUNNING = ProbeSpec(kind="running")


class Environment:
    """A running (or starting) compose project made from an environment spec."""

    def __init__(self, spec: EnvironmentSpec, params: Mapping[str, Any], settings: Settings, *,
                 run_id: str, instance: int = 0, owner: int | None = None,
                 docker: Any = None, reads: EngineReads | None = None, progress: Progress | None = None,
                 compose: ComposeRunner | None = None, images: ImageBackend | None = None,
                 engine: Engine | None = None) -> None:
        self.spec = spec
        self.name = spec.name
        self.params = dict(params)
        self.settings = settings
        self.run_id = run_id
        self.project = project_name(spec.name, run_id, instance)
        self.run_dir = RunFolder(settings.runs_dir / run_id).env(spec.name + (f"-{instance}" if instance else "")).path
        self.compose_file = EnvFolder(self.run_dir).compose_file
        self.source_dir = source_folder(spec, settings)
        self.owner = os.getpid() if owner is None else owner
        self.engine = engine or current_engine()  # where compose, the SDK and published ports live
        self.compose = compose or ComposeRunner(
            self.project, [self.compose_file], timeout=spec.timeouts.compose,
            project_directory=self.source_dir, env={**secret_environment(spec, params), **self.engine.environ()})
        self.services: dict[str, Service] = {}
        self.secrets = [str(params[n]) for n in spec.secret_names() if params.get(n)]
        self._redact = Redactor(self.secrets).text
        self._docker = docker
        self._reads = reads if reads is not None else (docker.api if docker is not None else None)
        self._image_backend: ImageBackend = images or DockerCLI()
        self._progress = progress or Progress(spec.name)
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._turn: Turn | None = None  # its last turn at compose up (harness.env.turns), for startup.json
        self._images: list[str] = []
        self._builds: list[ServiceBuild] = []
        self.built: list[BuildResult] = []  # what the last start built (or found up to date)
        self.readiness = Readiness(self.services, self._observe, timeouts=spec.timeouts,
                                   explain=self._startup_error, progress=self._progress)
        self.artifacts = Artifacts(self.run_dir, self.compose, lambda: self.reads, self._observe, self._redact)
        self.up = False

    # -- public handle ------------------------------------------------------------------

    @property
    def docker(self) -> Any:
        """The docker SDK client (made on first use)."""
        if self._docker is None:
            self._docker = docker_client(self.engine)
        return self._docker

    @property
    def reads(self) -> EngineReads:
        """Container lists and inspects: the SDK's when a client was given, else without loading the SDK."""
        if self._reads is None:
            self._reads = reads_for(self.engine)
        return self._reads

    @property
    def ready_at(self) -> dict[str, float]:
        """Service -> wall-clock time its probe first answered during start-up."""
        return self.readiness.ready_at

    def url(self, service: str, port: int | None = None) -> str:
        """``http://<engine host>:<host port>`` of a service's declared (or given) port (127.0.0.1 when local)."""
        svc = self._service(service)
        wanted = port or svc.port
        host_port = svc.replicas[0].ports.get(wanted) if (svc.replicas and wanted) else None
        if host_port is None:
            self.refresh()
            host_port = svc.replicas[0].ports.get(wanted) if (svc.replicas and wanted) else None
        if host_port is None:
            raise HarnessError(f"service {service!r} publishes no port {wanted} (is it running?)",
                               hint=f"declare `port:` for it in {self.spec.file}")
        return self.engine.url(host_port)

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
        return self.readiness.refresh()

    def problems(self) -> list[str]:
        """One round of every probe: what is not healthy now (empty when all is well)."""
        return self.readiness.problems()

    def settle(self, within: float) -> list[str]:
        """Wait up to ``within`` seconds for every probe to pass; return what is still wrong."""
        return self.readiness.settle(within)

    def save_failure_logs(self, label: str, tail: int = 500) -> Path:
        """Save every service's last log lines (redacted) when a step fails; return the file."""
        return self.artifacts.save_failure_logs(label, tail)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Environment:
        """Render, validate, build, start and wait until every probe answers; clean up on failure."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.up = True  # from here on, down() has something to remove
        began = time.monotonic()
        try:
            self._render()
            with ThreadPoolExecutor(max_workers=1) as warm:
                client = warm.submit(lambda: self.docker)  # connect to the engine while compose validates
                self.compose.config()
                client.result()
            self._build()
            self._copy_images()
            self._spawn_watchdog()
            self._start_and_await()
        except BaseException as exc:
            self._on_failure(exc)
            raise
        turn = self._turn.summary() if self._turn is not None else None
        EnvFolder(self.run_dir).write_startup(Startup(self.spec.name, round(time.monotonic() - began, 3),
                                                      len(self.services), round(time.time(), 3), turn))
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

    def rendered(self) -> str:
        """The compose text this environment is made of (before the harness decorates it)."""
        return self._source_text()

    def attach(self) -> Environment:
        """Take over the running project of this name (kept by `harness up`): never started, never taken down."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._render()
        self.refresh()
        return self

    def __enter__(self) -> Environment:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if not (self.settings.keep and exc[0] is not None):
            self.down()

    # -- steps of start -------------------------------------------------------------------

    def _render(self) -> None:
        text = self._source_text()
        rendered = EnvFolder(self.run_dir).rendered
        rendered.write_text(text)
        specs = self._service_specs(text)
        labels = RunLabels(run_id=self.run_id, env=self.name, owner=self.owner, host=socket.gethostname(),
                           created=time.strftime("%Y-%m-%dT%H:%M:%S"), config=config_hash(text, self.params))
        ports = {s.pattern: s.port for s in (*self.spec.services, *specs.values()) if s is not None and s.port}
        doc = decorate(text, rendered_name=str(rendered), labels=labels, ports=ports,
                       host_ip=self.engine.publish_ip)
        self._builds = self._plan_builds(doc, str(self.spec.compose_file or rendered))
        use_built_images(doc, self._builds)
        write_compose(doc, self.compose_file, header=(
            f"decorated by the harness; relative paths resolve from {self.source_dir}:\n"
            f"docker compose -p {self.project} --project-directory {self.source_dir} -f {self.compose_file} ..."))
        self._images = sorted({str(svc["image"]) for svc in doc["services"].values() if svc.get("image")})
        for name in doc["services"]:
            spec = self.spec.service_spec(name) or specs.get(name)
            port = spec.port if spec else None
            probe = make_probe(spec.probe, port, self.spec.timeouts.probe_timeout) if spec else make_probe(
                _RUNNING, None, 0)
            self.services[name] = Service(name=name, port=port, probe=probe)

    def _source_text(self) -> str:
        """The compose text: a plain compose file as written, or the rendered template."""
        if self.spec.compose_file is None:
            variables = template_variables(self.spec, self.params, self.settings.images_file, self.run_id)
            return render_template(self.settings.compose_dir, self.spec.template, variables)
        try:
            return self.spec.compose_file.read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read the compose file: {exc}", file=str(self.spec.compose_file),
                              key="compose", hint=f"check `compose:` in {self.spec.file}") from exc

    def _service_specs(self, text: str) -> dict[str, ServiceSpec | None]:
        """Defaults from the compose file (healthcheck, ports) for a `compose:` environment's services."""
        if self.spec.compose_file is None and not Path(self.spec.template).is_absolute():
            return {}  # a template of compose/ lists its services in the environment file
        try:
            services = (yaml.safe_load(text) or {}).get("services") or {}
        except (yaml.YAMLError, AttributeError):
            return {}  # decorate() reports the parse error with its line
        return {str(name): default_service_spec(str(name), svc if isinstance(svc, dict) else {})
                for name, svc in services.items() if self.spec.service_spec(str(name)) is None}

    def _project_slug(self) -> str:
        """The project's name in image tags: the compose file's folder, or the harness project's root."""
        return project_slug(self.source_dir if self.spec.compose_file is not None else self.settings.root)

    def _plan_builds(self, doc: dict[str, Any], source: str) -> list[ServiceBuild]:
        """The `build:` services' images; on a remote engine their FROM images are copied there first."""
        builds = plan_builds(doc, self.source_dir, self._project_slug(), self._image_backend, source=source)
        if builds and not self.engine.local:
            bases = [image for build in builds for image in _from_images(build)]
            if ensure_images(bases, self.engine, self.docker, report=self._report, required=False):
                # the FROM images' ids are part of the tags: plan again now that the engine has them
                builds = plan_builds(doc, self.source_dir, self._project_slug(), self._image_backend, source=source)
        return builds

    def _build(self) -> None:
        """Build the images of the services with `build:` whose content-hash tag does not exist yet."""
        if self._builds:
            self.built = build_images(self._builds, self._image_backend, self._report)

    def _copy_images(self) -> None:
        """On a remote engine, copy the images it lacks from the local engine (harness.env.remote_images)."""
        if not self.engine.local:
            ensure_images(self._images, self.engine, self.docker, report=self._report)

    def _report(self, line: str) -> None:
        stream = self._progress.stream
        stream.write(f"[{self.name}] {line}\n")
        stream.flush()

    def _pull_policy(self) -> str:
        """``never`` when every image is already local (compose then skips registry checks)."""
        # lazy: the docker SDK (~85 ms with requests) loads only where a fault, log or image needs it
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
        log = open(EnvFolder(self.run_dir).watchdog_log, "ab")  # noqa: SIM115 - owned by the child
        self._watchdog = subprocess.Popen(
            [sys.executable, "-m", "harness.env.watchdog", "--owner", str(self.owner), "--project", self.project],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            env={**os.environ, **self.engine.environ()})  # the same engine, even if the context changes
        log.close()

    def _stop_watchdog(self) -> None:
        if self._watchdog is not None and self._watchdog.poll() is None:
            self._watchdog.send_signal(signal.SIGTERM)
            self._watchdog.wait(timeout=10)
        self._watchdog = None

    def _observe(self) -> list[Observed]:
        summaries = self.reads.containers(
            all=True, filters={"label": f"com.docker.compose.project={self.project}"})
        return [Observed.from_summary(s, host=self.engine.host) for s in summaries]

    def _start_and_await(self) -> None:
        """`compose up -d` in the background while probing: readiness overlaps container start."""
        turn = self._turn = Turn.take()  # a split run's workers start containers one compose up at a time
        try:
            started = self.compose.spawn_up(EnvFolder(self.run_dir).compose_up_log, pull=self._pull_policy())
            try:
                self.readiness.await_ready(turn.until_done(started.result), source=str(self.spec.file))
            except BaseException:
                started.stop()
                raise
        finally:
            turn.end()

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
            state = self.reads.inspect_container(svc.replicas[0].id)["State"]
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
        self.artifacts.save_startup_failure()
        if self.settings.keep and not isinstance(exc, KeyboardInterrupt):
            print(f"--keep: project {self.project} left up for debugging; remove it with "
                  f"`harness down {self.run_id}`", file=sys.stderr)
            self._stop_watchdog()
            return
        try:
            self.down()
        except HarnessError as down_exc:
            logger.error("teardown after failed start also failed: %s", down_exc)

    def _service(self, name: str) -> Service:
        if name not in self.services:
            raise HarnessError(f"environment {self.name!r} has no service {name!r}",
                               hint=f"services: {', '.join(sorted(self.services))}")
        return self.services[name]


def _from_images(build: ServiceBuild) -> list[str]:
    """The images a build's Dockerfile starts FROM (none when it cannot be read: the build says why)."""
    try:
        return from_images((build.context / build.recipe.dockerfile).read_text(), build.recipe.build_args)
    except OSError:
        return []


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

