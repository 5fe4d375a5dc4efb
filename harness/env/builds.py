"""Images of a team's compose project: every service with a ``build:`` section is built before `up`.

Built by harness/env/images.py's mechanism, once per content hash (context honouring
``.dockerignore``, Dockerfile, build args, target, the ids of the local ``FROM`` images), and
tagged ``harness-build/<project>-<service>:<hash>`` — a name that does not change per run, so a
second run builds nothing and no image is left per run. The decorated compose file then names
that tag as the service's ``image:`` and loses its ``build:``, so `up --no-build` just runs it.
When a build makes a new tag, the older tags of that repository beyond the newest
``KEEP_BUILDS`` are removed (one in use by a container stays): edits to a Dockerfile do not
pile up images, and switching back to a recent version still builds nothing.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.env.images import BuildResult, ImageBackend, ImageRecipe, ensure_image, planned_tag
from harness.errors import ConfigError

logger = logging.getLogger(__name__)

Report = Callable[[str], None]
KEEP_BUILDS = 3  # tags kept per built repository: the current one and the two before it


@dataclass(frozen=True)
class ServiceBuild:
    """One service's image: its recipe, the context folder it is built from, and the tag."""

    service: str
    recipe: ImageRecipe
    context: Path
    tag: str


def project_slug(folder: Path) -> str:
    """A name for the project in image tags: the folder name, lower case, letters, digits and dashes."""
    slug = re.sub(r"[^a-z0-9]+", "-", folder.resolve().name.lower()).strip("-")
    return slug or "project"


def plan_builds(doc: Mapping[str, Any], base: Path, slug: str, backend: ImageBackend,
                *, source: str = "") -> list[ServiceBuild]:
    """The builds of every service with ``build:``; relative contexts resolve from ``base``."""
    found = []
    for name, service in (doc.get("services") or {}).items():
        if isinstance(service, dict) and service.get("build") is not None:
            found.append(_plan(name, service["build"], base, slug, backend, source))
    return found


def _plan(name: str, build: Any, base: Path, slug: str, backend: ImageBackend, source: str) -> ServiceBuild:
    spec: dict[str, Any] = {"context": build} if isinstance(build, str) else dict(build)
    if "dockerfile_inline" in spec or re.match(r"^[a-z]+://|^git@", str(spec.get("context", "."))):
        raise ConfigError("only a local build context with a Dockerfile can be built", file=source,
                          key=f"services.{name}.build",
                          hint="point `context:` at a folder beside the compose file and put a Dockerfile in it")
    context = (base / str(spec.get("context", "."))).resolve()
    recipe = ImageRecipe(name=f"{slug}-{name}", context_dir=Path("."),
                         dockerfile=Path(str(spec.get("dockerfile", "Dockerfile"))),
                         build_args=_build_args(spec.get("args")), base_arg=None,
                         target=str(spec["target"]) if spec.get("target") else None, service=name)
    return ServiceBuild(name, recipe, context, planned_tag(recipe, context, backend))


def _build_args(raw: Any) -> dict[str, str]:
    """Compose's ``args`` as a mapping or a ``KEY=value`` list; a bare key takes its value from our environment."""
    pairs = raw.items() if isinstance(raw, dict) else (
        (item.partition("=")[0], item.partition("=")[2] if "=" in item else None) for item in map(str, raw or ()))
    args = {}
    for key, value in pairs:
        value = os.environ.get(str(key)) if value is None else value
        if value is not None:
            args[str(key)] = str(value)
    return args


def use_built_images(doc: dict[str, Any], builds: list[ServiceBuild]) -> None:
    """Point each built service at its tag and drop its ``build:`` (compose never builds)."""
    for build in builds:
        service = doc["services"][build.service]
        service.pop("build", None)
        service["image"] = build.tag


def build_images(builds: list[ServiceBuild], backend: ImageBackend, report: Report) -> list[BuildResult]:
    """Build each image whose tag does not exist yet, reporting steps and timings."""
    results = []
    for build in builds:
        started = time.monotonic()

        def step(line: str, service: str = build.service) -> None:
            report(f"build {service}: {line}")

        result = ensure_image(build.recipe, build.context, backend, progress=step)
        seconds = time.monotonic() - started
        report(f"build {build.service}: {'built' if result.built else 'up to date'} in {seconds:.1f} s "
               f"({result.tag})")
        if result.built:
            removed = prune_builds(result.tag, backend)
            if removed:
                report(f"build {build.service}: removed {len(removed)} older image(s): {', '.join(removed)}")
        results.append(result)
    return results


def prune_builds(current: str, backend: ImageBackend, keep: int = KEEP_BUILDS) -> list[str]:
    """Remove the tags of ``current``'s repository older than the newest ``keep`` (``:latest`` stays)."""
    repository = current.rpartition(":")[0]
    older = [ref for ref in backend.tags(repository) if ref not in {current, f"{repository}:latest"}]
    return [ref for ref in older[keep - 1:] if backend.remove(ref)]
