"""Before `compose up`: render the compose file, then build and copy the images it needs.

    source_text(spec, params, settings, run_id)   the compose text: a plain compose file as written,
                                                  or the rendered template
    Preparer(...).render() -> Plan                writes compose.rendered.yaml and the decorated
                                                  compose.yaml (labels, published ports, built tags);
                                                  the Plan holds each service's probe, the images, the builds
    ImageBuilder(backend)                         the images of `build:` services (harness.env.builds) and,
                                                  on a remote engine, the images it lacks (harness.env.remote_images)
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.env.builds import ServiceBuild, build_images, plan_builds, project_slug, use_built_images
from harness.env.client import Clients, DockerClient
from harness.env.config import Settings
from harness.env.discover import default_service_spec
from harness.env.images import BuildResult, DockerCLI, ImageBackend, from_images
from harness.env.parts import Plan
from harness.env.place import Place
from harness.env.probes import make_probe
from harness.env.readiness import Service
from harness.env.remote_images import ensure_images
from harness.env.render import (
    RunLabels,
    config_hash,
    decorate,
    render_template,
    template_variables,
    write_compose,
)
from harness.env.spec import EnvironmentSpec, ProbeSpec, ServiceSpec
from harness.errors import ConfigError

__all__ = ["ImageBuilder", "Preparer", "source_text"]

Report = Callable[[str], None]
_RUNNING = ProbeSpec(kind="running")


class ImageBuilder:
    """Builds the images of `build:` services once per content hash, and copies images to a remote engine."""

    def __init__(self, backend: ImageBackend | None = None) -> None:
        self.backend: ImageBackend = backend or DockerCLI()

    def plan(self, doc: dict[str, Any], *, base: Path, slug: str, source: str, clients: Clients,
             report: Report) -> list[ServiceBuild]:
        """The `build:` services' images; on a remote engine their FROM images are copied there first."""
        builds = plan_builds(doc, base, slug, self.backend, source=source)
        if builds and not clients.engine.local:
            bases = [image for build in builds for image in _from_images(build)]
            if ensure_images(bases, clients.engine, clients.docker, report=report, required=False):
                # the FROM images' ids are part of the tags: plan again now that the engine has them
                builds = plan_builds(doc, base, slug, self.backend, source=source)
        return builds

    def build(self, builds: list[ServiceBuild], report: Report) -> list[BuildResult]:
        """Build each image whose content-hash tag does not exist yet."""
        return build_images(builds, self.backend, report) if builds else []

    def copy(self, images: list[str], clients: Clients, report: Report) -> None:
        """On a remote engine, copy the images it lacks from the local engine."""
        if not clients.engine.local:
            ensure_images(images, clients.engine, clients.docker, report=report)

    def pull_policy(self, images: list[str], client: DockerClient) -> str:
        """``never`` when every image is already on the engine (compose then skips registry checks)."""
        # lazy: the docker SDK (~85 ms with requests) loads only where a fault, log or image needs it
        import docker.errors

        try:
            for image in images:
                client.api.inspect_image(image)
        except docker.errors.ImageNotFound:
            return "missing"
        return "never"


def source_text(spec: EnvironmentSpec, params: Mapping[str, Any], settings: Settings, run_id: str) -> str:
    """The compose text: a plain compose file as written, or the rendered template."""
    if spec.compose_file is None:
        variables = template_variables(spec, params, settings.images_file, run_id)
        return render_template(settings.compose_dir, spec.template, variables)
    try:
        return spec.compose_file.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read the compose file: {exc}", file=str(spec.compose_file),
                          key="compose", hint=f"check `compose:` in {spec.file}") from exc


@dataclass(frozen=True)
class Preparer:
    """Renders one environment's compose files into its run folder and plans its builds."""

    spec: EnvironmentSpec
    params: Mapping[str, Any]
    settings: Settings
    place: Place
    run_id: str
    owner: int
    clients: Clients
    builder: ImageBuilder
    report: Report

    def text(self) -> str:
        """The compose text this environment is made of (before the harness decorates it)."""
        return source_text(self.spec, self.params, self.settings, self.run_id)

    def render(self) -> Plan:
        """Write the rendered and the decorated compose file; the services, images and builds they name."""
        text = self.text()
        rendered = self.place.folder.rendered
        rendered.write_text(text)
        found = _service_specs(self.spec, text)
        labels = RunLabels(run_id=self.run_id, env=self.spec.name, owner=self.owner, host=socket.gethostname(),
                           created=time.strftime("%Y-%m-%dT%H:%M:%S"), config=config_hash(text, self.params))
        ports = {s.pattern: s.port for s in (*self.spec.services, *found.values()) if s is not None and s.port}
        doc = decorate(text, rendered_name=str(rendered), labels=labels, ports=ports,
                       host_ip=self.clients.engine.publish_ip)
        builds = self.builder.plan(doc, base=self.place.source_dir, slug=self._slug(), clients=self.clients,
                                   source=str(self.spec.compose_file or rendered), report=self.report)
        use_built_images(doc, builds)
        source_dir, compose_file = self.place.source_dir, self.place.compose_file
        write_compose(doc, compose_file, header=(
            f"decorated by the harness; relative paths resolve from {source_dir}:\n"
            f"docker compose -p {self.place.project} --project-directory {source_dir} -f {compose_file} ..."))
        images = sorted({str(svc["image"]) for svc in doc["services"].values() if svc.get("image")})
        services = {name: self._service(name, found.get(name)) for name in doc["services"]}
        return Plan(services, images, builds)

    def _service(self, name: str, found: ServiceSpec | None) -> Service:
        spec = self.spec.service_spec(name) or found
        if spec is None:
            return Service(name=name, port=None, probe=make_probe(_RUNNING, None, 0))
        return Service(name=name, port=spec.port, probe=make_probe(spec.probe, spec.port,
                                                                   self.spec.timeouts.probe_timeout))

    def _slug(self) -> str:
        """The project's name in image tags: the compose file's folder, or the harness project's root."""
        return project_slug(self.place.source_dir if self.spec.compose_file is not None else self.settings.root)


def _service_specs(spec: EnvironmentSpec, text: str) -> dict[str, ServiceSpec | None]:
    """Defaults from the compose file (healthcheck, ports) for a `compose:` environment's services."""
    if spec.compose_file is None and not Path(spec.template).is_absolute():
        return {}  # a template of compose/ lists its services in the environment file
    try:
        services = (yaml.safe_load(text) or {}).get("services") or {}
    except (yaml.YAMLError, AttributeError):
        return {}  # decorate() reports the parse error with its line
    return {str(name): default_service_spec(str(name), svc if isinstance(svc, dict) else {})
            for name, svc in services.items() if spec.service_spec(str(name)) is None}


def _from_images(build: ServiceBuild) -> list[str]:
    """The images a build's Dockerfile starts FROM (none when it cannot be read: the build says why)."""
    try:
        return from_images((build.context / build.recipe.dockerfile).read_text(), build.recipe.build_args)
    except OSError:
        return []
