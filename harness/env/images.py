"""Service images: a registry of recipes, each built once per content hash.

A recipe's tag is ``harness-<name>:<hash>``; the hash covers every file of the build
context (sorted relative paths and bytes, ``__pycache__`` and ``*.pyc`` ignored), the
Dockerfile, the build args and the *id* of the base image, so rebuilding the base image
rebuilds the services. A tag that already exists is not built again. Each built image is
also tagged ``harness-<name>:latest``, and ``.harness/images.json`` maps name -> exact tag
so templates render with the image the tests will really run.

Add an image by adding an :class:`ImageRecipe` to :func:`recipes`. The services of a team's
compose project that have a ``build:`` section are built by this same mechanism
(harness/env/builds.py); their recipes carry ``service`` and are tagged
``harness-build/<project>-<service>:<hash>``, with the id of every local ``FROM`` image hashed.
A ``.dockerignore`` in the context is honoured by the hash as by ``docker build``.
"""

from __future__ import annotations

import argparse
import collections
import fcntl
import hashlib
import json
import logging
import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from harness.errors import BuildError, ConfigError, DockerError, DockerUnavailable

logger = logging.getLogger(__name__)

DEFAULT_BASE_IMAGE = "harness-base:bookworm-1"
BASE_IMAGE_VARIABLE = "HARNESS_BASE_IMAGE"
IMAGES_MAP = Path(".harness") / "images.json"
HASH_LENGTH = 12
# Never part of a content hash: tool caches, and `.harness` (run folders change every run; a team's
# `build: .` at its project root would otherwise rebuild every time).
_IGNORED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".harness"})
_IGNORED_SUFFIXES = (".pyc", ".pyo")
BUILD_LOG_TAIL = 25  # lines of a failed build's output carried by BuildError

Progress = Callable[[str], None]
_NOTICE = re.compile(r"DEPRECATED: The legacy builder|\s+BuildKit is currently disabled|\s+environment-variable\.|\s*$")


@dataclass(frozen=True)
class ImageRecipe:
    """How to build one image: context and Dockerfile (relative to the repo root), build args."""

    name: str
    context_dir: Path
    dockerfile: Path
    build_args: Mapping[str, str] = field(default_factory=dict)
    base_arg: str | None = "BASE"  # the build arg naming the base image; its id goes into the hash
    target: str | None = None  # the stage to build (compose's `build.target`)
    service: str = ""  # set for a team's compose service: tagged harness-build/<name>, every FROM hashed

    @property
    def repository(self) -> str:
        """The image repository: ``harness-<name>``, or ``harness-build/<name>`` for a compose service."""
        return f"harness-build/{self.name}" if self.service else f"harness-{self.name}"

    @property
    def base_image(self) -> str | None:
        """The base image this recipe builds on, if it names one."""
        return self.build_args.get(self.base_arg) if self.base_arg else None


@dataclass(frozen=True)
class BuildResult:
    """What :func:`ensure_image` did for one recipe."""

    name: str
    tag: str
    built: bool


def recipes(base_image: str = DEFAULT_BASE_IMAGE) -> list[ImageRecipe]:
    """The images the harness builds, in build order."""
    base = {"BASE": base_image}
    return [
        ImageRecipe("stack", Path("services"), Path("services/Dockerfile"), base),
        # The fault proxy (standard library only; its .dockerignore keeps just proxy.py, but the
        # hash covers the whole folder: a needless rebuild is cheap, a stale image is not).
        ImageRecipe("faultproxy", Path("harness/faults"), Path("harness/faults/Dockerfile"), base),
    ]


def base_image_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The base image tag: ``$HARNESS_BASE_IMAGE`` or the default."""
    env = os.environ if environ is None else environ
    return env.get(BASE_IMAGE_VARIABLE) or DEFAULT_BASE_IMAGE


# --- content hash ----------------------------------------------------------------------------


def context_files(context: Path) -> list[Path]:
    """Every file of a build context, sorted, without bytecode, tool caches and `.dockerignore`d paths."""
    rules = ignore_rules(context)
    prune = not any(negated for negated, _ in rules)  # with `!` exceptions a folder cannot be skipped whole
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(context):
        here = Path(dirpath).relative_to(context)
        dirnames[:] = [d for d in dirnames if d not in _IGNORED_DIRS
                       and not (prune and is_ignored((here / d).as_posix(), rules))]
        found += [Path(dirpath, f) for f in filenames if not f.endswith(_IGNORED_SUFFIXES)
                  and not is_ignored((here / f).as_posix(), rules)]
    return sorted(found, key=lambda p: p.relative_to(context).as_posix())


def ignore_rules(context: Path) -> list[tuple[bool, re.Pattern[str]]]:
    """The patterns of ``context/.dockerignore`` as (negated, regex), in order; empty without one."""
    try:
        lines = (context / ".dockerignore").read_text().splitlines()
    except FileNotFoundError:
        return []
    rules = []
    for line in (raw.strip() for raw in lines):
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip().lstrip("/")).replace(os.sep, "/")
        rules.append((negated, re.compile(_glob_regex(pattern))))
    return rules


def _glob_regex(pattern: str) -> str:
    """A `.dockerignore` pattern as a regex: ``**`` any folders, ``*``/``?`` within one name."""
    out = []
    for part in re.split(r"(\*\*/?|\*|\?)", pattern):
        out.append({"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(part, re.escape(part)))
    return "".join(out) + "(?:/.*)?$"  # a pattern that names a folder covers what is inside it


def is_ignored(relative: str, rules: Sequence[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether `.dockerignore` rules leave ``relative`` out of the context (the last match wins)."""
    ignored = False
    for negated, regex in rules:
        if regex.match(relative):
            ignored = not negated
    return ignored


def from_images(dockerfile: str, build_args: Mapping[str, str]) -> list[str]:
    """The images a Dockerfile's ``FROM`` lines name (not earlier stages, not ``scratch``)."""
    args: dict[str, str] = {}
    stages: set[str] = set()
    found: list[str] = []
    for words in (line.split() for line in re.sub(r"\\\n", " ", dockerfile).splitlines()):
        if not words or words[0].startswith("#"):
            continue
        if words[0].upper() == "ARG" and len(words) > 1:
            name, _, default = words[1].partition("=")
            args[name] = build_args.get(name, default.strip("\"'"))
        elif words[0].upper() == "FROM":
            rest = [word for word in words[1:] if not word.startswith("--")]
            image = _substitute(rest[0], args) if rest else ""
            if len(rest) >= 3 and rest[1].lower() == "as":
                stages.add(rest[2].lower())
            if image and image.lower() not in stages and image != "scratch" and image not in found:
                found.append(image)
    return found


def _substitute(word: str, args: Mapping[str, str]) -> str:
    """``$NAME``, ``${NAME}`` and ``${NAME:-default}`` from the Dockerfile's ARGs."""
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        return args.get(name) or (match.group(2) or "")

    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)", value, word)


def content_hash(recipe: ImageRecipe, root: Path, base_id: str | None) -> str:
    """Hash of the recipe's context, Dockerfile, build args and base image id."""
    digest = hashlib.sha256()
    for chunk in _hash_parts(recipe, root, base_id):
        digest.update(len(chunk).to_bytes(8, "big"))
        digest.update(chunk)
    return digest.hexdigest()[:HASH_LENGTH]


def _hash_parts(recipe: ImageRecipe, root: Path, base_id: str | None) -> Iterator[bytes]:
    yield f"base-id={base_id or ''}".encode()
    if recipe.target:
        yield f"target={recipe.target}".encode()
    for key in sorted(recipe.build_args):
        yield f"arg:{key}={recipe.build_args[key]}".encode()
    yield f"dockerfile={recipe.dockerfile.as_posix()}".encode()
    yield (root / recipe.dockerfile).read_bytes()
    context = root / recipe.context_dir
    for path in context_files(context):
        mode = "x" if path.stat().st_mode & 0o111 else "-"
        yield f"file:{path.relative_to(context).as_posix()}:{mode}".encode()
        yield path.read_bytes()


def image_tag(recipe: ImageRecipe, digest: str) -> str:
    """The exact tag of a recipe at one content hash."""
    return f"{recipe.repository}:{digest}"


# --- the docker boundary ---------------------------------------------------------------------


class ImageBackend(Protocol):
    """What the image builder needs from Docker; the CLI in real runs, a fake in tests."""

    def image_id(self, ref: str) -> str | None:
        """The id of a local image, or None when it does not exist."""

    def build(self, *, tag: str, context: Path, dockerfile: Path, build_args: Mapping[str, str],
              labels: Mapping[str, str], target: str | None = None, progress: Progress | None = None) -> None:
        """Build an image and tag it; BuildError (with the log's tail) when it fails."""

    def tag(self, source: str, target: str) -> None:
        """Give an existing image another tag."""

    def tags(self, repository: str) -> list[str]:
        """Every local ``repository:tag`` of one repository, newest first."""

    def remove(self, ref: str) -> bool:
        """Untag/remove an image; False when Docker refuses (for example, a container uses it)."""


class DockerCLI:
    """:class:`ImageBackend` on the ``docker`` command line."""

    def __init__(self, docker: str = "docker") -> None:
        self.docker = docker

    def image_id(self, ref: str) -> str | None:
        """The id of a local image, or None when it does not exist."""
        proc = self._run(["image", "inspect", "--format", "{{.Id}}", ref], check=False)
        if proc.returncode == 0:
            return proc.stdout.strip()
        if "no such image" in proc.stderr.lower():
            return None
        raise self._error(["image", "inspect", ref], proc)

    def build(self, *, tag: str, context: Path, dockerfile: Path, build_args: Mapping[str, str],
              labels: Mapping[str, str], target: str | None = None, progress: Progress | None = None) -> None:
        """Build with the classic builder (a local ``FROM`` works offline); report each ``Step``."""
        argv = [self.docker, "build", "--force-rm", "--tag", tag, "--file", str(dockerfile)]
        argv += [f"--build-arg={key}={value}" for key, value in sorted(build_args.items())]
        argv += [f"--label={key}={value}" for key, value in sorted(labels.items())]
        argv += ["--target", target] if target else []
        logger.debug("running %s", argv)
        tail: collections.deque[str] = collections.deque(maxlen=BUILD_LOG_TAIL)
        step = ""
        try:
            with subprocess.Popen([*argv, str(context)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, text=True, errors="replace",
                                  env={**os.environ, "DOCKER_BUILDKIT": "0"}) as proc:
                for line in proc.stdout or ():
                    if not step and _NOTICE.match(line):
                        continue  # the classic builder's deprecation notice says nothing about this build
                    tail.append(line.rstrip())
                    if line.startswith("Step "):
                        step = line.strip()
                        if progress is not None:
                            progress(step)
        except FileNotFoundError as exc:
            raise DockerUnavailable(f"`{self.docker}` is not installed",
                                    hint="run `make setup` (installs Docker on Debian as root)") from exc
        if proc.returncode != 0:
            raise self._build_error(labels, dockerfile, build_args, step, "\n".join(tail))

    def _build_error(self, labels: Mapping[str, str], dockerfile: Path, build_args: Mapping[str, str],
                     step: str, tail: str) -> BuildError:
        service = labels.get("harness.service") or labels.get("harness.image", "?")
        missing = [image for image in _from_images_of(dockerfile, build_args) if self.image_id(image) is None]
        if "cannot connect to the docker daemon" in tail.lower():
            hint = "start Docker, or run `make setup`"
        elif missing:
            hint = (f"base image {', '.join(missing)} is not on this machine and no registry answers: "
                    "build or load it first (`docker build -t NAME ...` or `docker load`), then run again")
        else:
            hint = f"the failing instruction's output is above: fix {dockerfile} (or its context) and run again"
        return BuildError(f"failed at {step or 'the start'}", service=service, dockerfile=str(dockerfile),
                          log_tail=tail, hint=hint)

    def tag(self, source: str, target: str) -> None:
        """Give an existing image another tag."""
        self._run(["tag", source, target])

    def tags(self, repository: str) -> list[str]:
        """Every local ``repository:tag`` of one repository, newest first (docker's order)."""
        proc = self._run(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", repository])
        return [line for line in proc.stdout.split() if not line.endswith(":<none>")]

    def remove(self, ref: str) -> bool:
        """Untag/remove an image; False when Docker refuses (for example, a container uses it)."""
        proc = self._run(["image", "rm", ref], check=False)
        if proc.returncode != 0:
            logger.warning("could not remove %s: %s", ref, proc.stderr.strip())
        return proc.returncode == 0

    def _run(self, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [self.docker, *args]
        logger.debug("running %s", argv)
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        except FileNotFoundError as exc:
            raise DockerUnavailable(f"`{self.docker}` is not installed",
                                    hint="run `make setup` (installs Docker on Debian as root)") from exc
        if check and proc.returncode != 0:
            raise self._error(args, proc)
        return proc

    def _error(self, args: list[str], proc: subprocess.CompletedProcess[str]) -> DockerError:
        logger.error("docker %s exited %d: %s", " ".join(args), proc.returncode, proc.stderr.strip())
        tail = "\n".join(proc.stderr.strip().splitlines()[-20:])
        message = f"`docker {' '.join(args)}` exited {proc.returncode}:\n{tail}"
        if "cannot connect to the docker daemon" in proc.stderr.lower():
            return DockerUnavailable(message, hint="start Docker, or run `make setup`")
        return DockerError(message, hint="read the docker output above; fix the recipe and run "
                                         "`harness images` again")


# --- building --------------------------------------------------------------------------------


def ensure_image(recipe: ImageRecipe, root: Path, backend: ImageBackend, *,
                 force: bool = False, progress: Progress | None = None) -> BuildResult:
    """Build one recipe unless its content-hash tag exists; point ``:latest`` at it (not for services)."""
    tag = planned_tag(recipe, root, backend)
    with build_lock(tag):  # a second process waits, then finds the tag: no double build, no error
        built = force or backend.image_id(tag) is None
        if built:
            logger.info("building %s", tag)
            labels = {"harness.image": recipe.name, "harness.content-hash": tag.rpartition(":")[2]}
            labels.update({"harness.service": recipe.service} if recipe.service else {})
            backend.build(tag=tag, context=root / recipe.context_dir, dockerfile=root / recipe.dockerfile,
                          build_args=recipe.build_args, labels=labels, target=recipe.target, progress=progress)
    if not recipe.service:
        backend.tag(tag, f"{recipe.repository}:latest")
    return BuildResult(recipe.name, tag, built)


def planned_tag(recipe: ImageRecipe, root: Path, backend: ImageBackend) -> str:
    """The content-hash tag a recipe builds to now (asks the engine for base image ids)."""
    _check_recipe(recipe, root)
    return image_tag(recipe, content_hash(recipe, root, _base_id(recipe, root, backend)))


@contextmanager
def build_lock(tag: str) -> Iterator[None]:
    """An exclusive lock per tag, machine-wide, so two processes never build the same tag at once."""
    folder = Path(tempfile.gettempdir()) / "harness-build-locks"
    folder.mkdir(exist_ok=True)
    with open(folder / (hashlib.sha256(tag.encode()).hexdigest()[:16] + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_all(root: Path, selected: Iterable[ImageRecipe], backend: ImageBackend, *,
              force: bool = False, skip_missing: bool = False) -> list[BuildResult]:
    """Ensure every selected recipe and merge their tags into ``.harness/images.json``.

    With ``skip_missing``, a recipe whose Dockerfile is not there (yet) is left out with a warning.
    """
    present = [recipe for recipe in selected if not (skip_missing and _missing(recipe, root))]
    results = [ensure_image(recipe, root, backend, force=force) for recipe in present]
    tags = load_map(root)
    tags.update({result.name: result.tag for result in results})
    write_map(root, tags)
    return results


def prune(root: Path, backend: ImageBackend) -> list[str]:
    """Remove the outdated ``harness-<name>:<hash>`` tags of the images in images.json."""
    removed: list[str] = []
    for current in sorted(load_map(root).values()):
        repository = current.rpartition(":")[0]
        keep = {current, f"{repository}:latest"}
        stale = [ref for ref in backend.tags(repository) if ref not in keep]
        removed += [ref for ref in stale if backend.remove(ref)]
    return removed


def _missing(recipe: ImageRecipe, root: Path) -> bool:
    if (root / recipe.dockerfile).is_file():
        return False
    logger.warning("image %s: skipped, %s does not exist", recipe.name, recipe.dockerfile)
    return True


def _check_recipe(recipe: ImageRecipe, root: Path) -> None:
    where = f"service {recipe.service!r}" if recipe.service else f"image {recipe.name!r}"
    fix = "check the service's `build:` in the compose file" if recipe.service else \
        "check the recipe in harness/env/images.py"
    if not (root / recipe.context_dir).is_dir():
        raise ConfigError(f"{where}: build context {root / recipe.context_dir} does not exist",
                          file=str(root / recipe.context_dir), hint=fix)
    if not (root / recipe.dockerfile).is_file():
        raise ConfigError(f"{where}: Dockerfile {root / recipe.dockerfile} does not exist",
                          file=str(root / recipe.dockerfile), hint=fix)


def _from_images_of(dockerfile: Path, build_args: Mapping[str, str]) -> list[str]:
    try:
        return from_images(dockerfile.read_text(), build_args)
    except OSError:
        return []


def _base_id(recipe: ImageRecipe, root: Path, backend: ImageBackend) -> str | None:
    if recipe.service:  # every FROM image that exists locally; a missing one fails the build with a Hint
        bases = _from_images_of(root / recipe.dockerfile, recipe.build_args)
        return ",".join(f"{image}={backend.image_id(image) or ''}" for image in bases)
    base = recipe.base_image
    if base is None:
        return None
    base_id = backend.image_id(base)
    if base_id is None:
        raise DockerError(f"image {recipe.name!r}: base image {base} does not exist",
                          hint="run `make setup` (or scripts/base-image.sh) to build it")
    return base_id


# --- the map file ----------------------------------------------------------------------------


def load_map(root: Path) -> dict[str, str]:
    """Read ``.harness/images.json`` (name -> exact tag); empty when it does not exist."""
    path = root / IMAGES_MAP
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"unreadable: {exc}", file=str(path),
                          hint="delete it and run `harness images`") from exc
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ConfigError("expected a JSON object of name -> tag", file=str(path),
                          hint="delete it and run `harness images`")
    return {str(key): value for key, value in data.items()}


def write_map(root: Path, tags: Mapping[str, str]) -> Path:
    """Write ``.harness/images.json`` atomically."""
    path = root / IMAGES_MAP
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(dict(sorted(tags.items())), indent=2) + "\n")
    tmp.replace(path)
    return path


# --- CLI -------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    """`harness images`: build the service images that changed and write .harness/images.json."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    available = recipes(args.base or base_image_from_env())
    if args.list:
        for recipe in available:
            print(f"{recipe.name:<12} {recipe.dockerfile}  (context {recipe.context_dir})")
        return 0
    root = Path(args.root).resolve()
    if args.prune:
        for ref in prune(root, DockerCLI()):
            print(f"removed {ref}")
        return 0
    selected = _select(available, args.names)
    results = build_all(root, selected, DockerCLI(), force=args.force,
                        skip_missing=args.skip_missing)
    for result in results:
        print(f"image {result.name}: {result.tag} ({'built' if result.built else 'cached'})")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness images", description=main.__doc__)
    parser.add_argument("names", nargs="*", help="recipes to build (default: all)")
    parser.add_argument("--root", default=".", help="repository root (default: .)")
    parser.add_argument("--base",
                        help=f"base image (default: ${BASE_IMAGE_VARIABLE} or {DEFAULT_BASE_IMAGE})")
    parser.add_argument("--force", action="store_true", help="build even when the tag exists")
    parser.add_argument("--skip-missing", action="store_true",
                        help="leave out (with a warning) recipes whose Dockerfile does not exist yet")
    parser.add_argument("--prune", action="store_true",
                        help="remove outdated content-hash tags of the images in .harness/images.json")
    parser.add_argument("--list", action="store_true", help="list the recipes and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="log docker commands")
    return parser


def _select(available: Sequence[ImageRecipe], names: Sequence[str]) -> list[ImageRecipe]:
    if not names:
        return list(available)
    by_name = {recipe.name: recipe for recipe in available}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ConfigError(f"unknown image {', '.join(unknown)}; known: {', '.join(by_name)}",
                          hint="`harness images --list` shows the recipes")
    return [by_name[name] for name in names]
