"""A Docker engine and `docker compose` in memory, so an Environment's whole lifecycle runs without Docker.

    FakeEngine                 compose projects and their containers (``up`` creates what ``creates``
                               lists, ``down`` removes them), images, each container's inspect, log text
    FakeEngine.runner(env)     a ComposeRunner whose ``run``/``popen`` act on the engine; every call's
                               arguments and environment are recorded in ``calls``
    FakeEngine.reads / .docker EngineReads and a DockerClient over the same containers
    FakeWatchdog               records start/stop instead of spawning a process
    FakeBackend                an image store for builds (harness.env.images.ImageBackend)
    Answering                  a local HTTP server that answers 200: what "the service is up" looks like
                               to the real HttpOk and PortOpen probes
"""

from __future__ import annotations

import http.server
import itertools
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import docker.errors

from harness.engine.compose import ComposeRunner
from harness.errors import BuildError

BASE = "harness-base:bookworm-1"


@dataclass
class Box:
    """One container `up` creates: its service, state and what `docker inspect` tells about it."""

    service: str
    state: str = "running"
    health: str = ""  # healthy | unhealthy | starting | ""
    exit_code: int | None = None
    ports: dict[int, int] = field(default_factory=dict)  # container port -> host port
    health_output: str = ""
    env: list[str] = field(default_factory=list)  # Config.Env, as `docker inspect` shows it


@dataclass
class FakeProcess:
    """`compose up -d` in the background: running for ``polls`` polls, then exits with ``code``."""

    polls: int | None  # None: never finishes by itself
    code: int = 0
    terminated: bool = False

    def poll(self) -> int | None:
        if self.terminated:
            return -15
        if self.polls is None or self.polls > 0:
            self.polls = None if self.polls is None else self.polls - 1
            return None
        return self.code

    def terminate(self) -> None:
        self.terminated = True

    def kill(self) -> None:
        self.terminated = True

    def wait(self, timeout: float | None = None) -> int:
        return -15 if self.terminated else self.code


class FakeEngine:
    """Compose projects and containers in memory; what `up` creates is set by the test (``creates``)."""

    def __init__(self, images: set[str] | None = None) -> None:
        self.images = {BASE} if images is None else images
        self.creates: list[Box] = []  # what the next `compose up` creates
        self.projects: dict[str, list[tuple[str, Box]]] = {}
        self.up_polls: int | None = 0  # polls of the background `up` before it finishes (None: never)
        self.up_code = 0
        self.log_text = ""
        self.leftover_downs = 0  # this many `down`s leave the containers (a create still in flight)
        self.interrupt_after: int | None = None  # container lists until a KeyboardInterrupt (a Ctrl-C)
        self.calls: list[dict[str, Any]] = []
        self.processes: list[FakeProcess] = []
        self._ids = itertools.count(1)
        self.reads = FakeApi(self)
        self.docker = FakeDocker(self)  # its ``api`` is ``reads``

    # -- compose ---------------------------------------------------------------------------

    def runner(self, project: str, files: list[Path], project_directory: Path | None = None,
               env: Mapping[str, str] | None = None) -> ComposeRunner:
        """A ComposeRunner acting on this engine."""
        return ComposeRunner(project, files, project_directory=project_directory, env=env or {},
                             run=self.run, popen=self.popen, sleep=lambda _s: None)

    def commands(self, project: str | None = None) -> list[str]:
        """The compose subcommands run so far (``config``, ``up``, ``logs``, ``down``), in order."""
        return [c["args"][0] for c in self.calls if project is None or c["project"] == project]

    def run(self, argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        project, args = self._record(argv, kw)
        if args[0] == "down":
            if self.leftover_downs:
                self.leftover_downs -= 1
            else:
                self.projects.pop(project, None)
        out = self.log_text if args[0] == "logs" else ""
        return subprocess.CompletedProcess(argv, 0, out, "")

    def popen(self, argv: list[str], **kw: Any) -> FakeProcess:
        project, _args = self._record(argv, kw)
        self.projects[project] = [(f"c{next(self._ids)}", box) for box in self.creates]
        process = FakeProcess(self.up_polls, self.up_code)
        self.processes.append(process)
        return process

    def _record(self, argv: list[str], kw: Mapping[str, Any]) -> tuple[str, list[str]]:
        project, rest = argv[3], argv[4:]
        while rest and rest[0] in ("--project-directory", "-f"):
            rest = rest[2:]
        self.calls.append({"project": project, "args": rest, "env": kw.get("env") or {}})
        return project, rest

    # -- what the engine reports -------------------------------------------------------------

    def containers_of(self, project: str) -> list[tuple[str, Box]]:
        return self.projects.get(project, [])

    def summary(self, project: str, cid: str, box: Box) -> dict[str, Any]:
        states = {"running": "Up 1 second", "exited": f"Exited ({box.exit_code}) 1 second ago"}
        status = states.get(box.state, box.state)
        if box.health:
            status += f" ({'health: starting' if box.health == 'starting' else box.health})"
        return {"Id": cid, "Names": [f"/{project}-{box.service}-1"], "State": box.state, "Status": status,
                "Labels": {"com.docker.compose.project": project, "com.docker.compose.service": box.service},
                "Ports": [{"PrivatePort": p, "PublicPort": h, "IP": "127.0.0.1"} for p, h in box.ports.items()]}

    def inspect(self, cid: str) -> dict[str, Any]:
        for project, boxes in self.projects.items():
            for found, box in boxes:
                if found == cid:
                    health = {"Status": box.health, "Log": [{"Output": box.health_output}]} if box.health else None
                    return {"Id": cid, "Name": f"/{project}-{box.service}-1", "Config": {"Env": box.env},
                            "State": {"Status": box.state, "ExitCode": box.exit_code or 0, "OOMKilled": False,
                                      "Health": health}}
        raise docker.errors.NotFound(f"no such container: {cid}")


class FakeApi:
    """The engine reads (harness.engine.api.EngineReads) and an image's inspect, as the SDK's APIClient has them."""

    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.lists = 0

    def containers(self, *, all: bool = False, filters: Any = None) -> list[dict[str, Any]]:  # noqa: A002
        self.lists += 1
        if self.engine.interrupt_after is not None and self.lists > self.engine.interrupt_after:
            self.engine.interrupt_after = None
            raise KeyboardInterrupt("Ctrl-C")
        project = str((filters or {}).get("label", "")).partition("=")[2]
        return [self.engine.summary(project, cid, box) for cid, box in self.engine.containers_of(project)
                if all or box.state == "running"]

    def inspect_container(self, container: str) -> dict[str, Any]:
        return self.engine.inspect(container)

    def networks(self, *, filters: Any = None) -> list[dict[str, Any]]:
        return []

    def volumes(self, *, filters: Any = None) -> dict[str, Any]:
        return {"Volumes": []}

    def inspect_image(self, image: str) -> dict[str, Any]:
        if image not in self.engine.images:
            raise docker.errors.ImageNotFound(f"No such image: {image}")
        return {"Id": f"sha256:{image}"}


class FakeDocker:
    """The docker SDK client over the fake engine: containers by id, the project's networks, the api."""

    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.api = engine.reads
        self.containers = SimpleNamespace(get=self._container)
        self.networks = SimpleNamespace(list=self._networks)

    def _container(self, cid: str) -> Any:
        data = self.engine.inspect(cid)
        return SimpleNamespace(id=cid, name=data["Name"].lstrip("/"), attrs=data)

    def _networks(self, *, filters: Any = None) -> list[Any]:
        project = str((filters or {}).get("label", "")).partition("=")[2]
        return [SimpleNamespace(name=f"{project}_default")] if self.engine.containers_of(project) else []


@dataclass
class FakeWatchdog:
    """harness.env.watchdog.Watchdog without a process: records what it was asked."""

    started: list[dict[str, Any]] = field(default_factory=list)
    stops: int = 0
    running: bool = False

    def start(self, *, owner: int, project: str, log: Path, environ: Mapping[str, str]) -> None:
        self.started.append({"owner": owner, "project": project, "log": log, "environ": dict(environ)})
        self.running = True

    def stop(self) -> None:
        self.stops += 1
        self.running = False


class FakeBackend:
    """An image store for `build:` services: records builds; ``broken`` services fail to build."""

    def __init__(self, images: set[str] | None = None, broken: set[str] | None = None) -> None:
        self.images: dict[str, str] = {ref: f"sha256:{ref}" for ref in (images if images is not None else {BASE})}
        self.broken = broken or set()
        self.builds: list[str] = []
        self._lock = threading.Lock()

    def image_id(self, ref: str) -> str | None:
        return self.images.get(ref)

    def build(self, *, tag: str, context: Path, dockerfile: Path, build_args: Mapping[str, str],
              labels: Mapping[str, str], target: str | None = None,
              progress: Callable[[str], None] | None = None) -> None:
        service = labels.get("harness.service", "")
        if service in self.broken:
            raise BuildError("failed at Step 2/3", service=service, dockerfile=str(dockerfile),
                             log_tail="error: missing semicolon at main.c:3", hint="fix the Dockerfile")
        with self._lock:
            self.builds.append(tag)
            self.images[tag] = f"sha256:built{len(self.builds)}"

    def tag(self, source: str, target: str) -> None:
        self.images[target] = self.images[source]

    def tags(self, repository: str) -> list[str]:
        return [ref for ref in reversed(self.images) if ref.startswith(f"{repository}:")]

    def remove(self, ref: str) -> bool:
        return self.images.pop(ref, None) is not None


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


class Answering:
    """A local HTTP server answering 200 to every GET: a published port with a live service behind it."""

    def __init__(self) -> None:
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> Answering:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def answering() -> Iterator[Answering]:
    """A pytest fixture body: an Answering server for the test."""
    with Answering() as server:
        yield server
