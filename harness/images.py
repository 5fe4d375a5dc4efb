"""Service images: a registry of recipes, each built once per content hash.

A recipe's tag is ``harness-<name>:<hash>``; the hash covers every file of the build
context (sorted relative paths and bytes, ``__pycache__`` and ``*.pyc`` ignored), the
Dockerfile, the build args and the *id* of the base image, so rebuilding the base image
rebuilds the services. A tag that already exists is not built again. Each built image is
also tagged ``harness-<name>:latest``, and ``.harness/images.json`` maps name -> exact tag
so templates render with the image the tests will really run.

Add an image by adding an :class:`ImageRecipe` to :func:`recipes`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from harness.errors import ConfigError, DockerError, DockerUnavailable

logger = logging.getLogger(__name__)

DEFAULT_BASE_IMAGE = "harness-base:bookworm-1"
BASE_IMAGE_VARIABLE = "HARNESS_BASE_IMAGE"
IMAGES_MAP = Path(".harness") / "images.json"
HASH_LENGTH = 12
_IGNORED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
_IGNORED_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True)
class ImageRecipe:
    """How to build one image: context and Dockerfile (relative to the repo root), build args."""

    name: str
    context_dir: Path
    dockerfile: Path
    build_args: Mapping[str, str] = field(default_factory=dict)
    base_arg: str | None = "BASE"  # the build arg naming the base image; its id goes into the hash

    @property
    def repository(self) -> str:
        """The image repository, ``harness-<name>``."""
        return f"harness-{self.name}"

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
    """Every file of a build context, sorted, without bytecode and tool caches."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(context):
        dirnames[:] = [d for d in dirnames if d not in _IGNORED_DIRS]
        found += [Path(dirpath, f) for f in filenames if not f.endswith(_IGNORED_SUFFIXES)]
    return sorted(found, key=lambda p: p.relative_to(context).as_posix())


def content_hash(recipe: ImageRecipe, root: Path, base_id: str | None) -> str:
    """Hash of the recipe's context, Dockerfile, build args and base image id."""
    digest = hashlib.sha256()
    for chunk in _hash_parts(recipe, root, base_id):
        digest.update(len(chunk).to_bytes(8, "big"))
        digest.update(chunk)
    return digest.hexdigest()[:HASH_LENGTH]


def _hash_parts(recipe: ImageRecipe, root: Path, base_id: str | None) -> Iterator[bytes]:
    yield f"base-id={base_id or ''}".encode()
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
              labels: Mapping[str, str]) -> None:
        """Build an image and tag it."""

    def tag(self, source: str, target: str) -> None:
        """Give an existing image another tag."""

    def tags(self, repository: str) -> list[str]:
        """Every local ``repository:tag`` of one repository."""

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
              labels: Mapping[str, str]) -> None:
        """Build an image with ``docker build`` and tag it."""
        argv = ["build", "--quiet", "--tag", tag, "--file", str(dockerfile)]
        argv += [f"--build-arg={key}={value}" for key, value in sorted(build_args.items())]
        argv += [f"--label={key}={value}" for key, value in sorted(labels.items())]
        self._run([*argv, str(context)])

    def tag(self, source: str, target: str) -> None:
        """Give an existing image another tag."""
        self._run(["tag", source, target])

    def tags(self, repository: str) -> list[str]:
        """Every local ``repository:tag`` of one repository."""
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
                 force: bool = False) -> BuildResult:
    """Build one recipe unless its content-hash tag exists; point ``:latest`` at it."""
    _check_recipe(recipe, root)
    base_id = _base_id(recipe, backend)
    tag = image_tag(recipe, content_hash(recipe, root, base_id))
    built = force or backend.image_id(tag) is None
    if built:
        logger.info("building %s", tag)
        labels = {"harness.image": recipe.name, "harness.content-hash": tag.rpartition(":")[2]}
        backend.build(tag=tag, context=root / recipe.context_dir, dockerfile=root / recipe.dockerfile,
                      build_args=recipe.build_args, labels=labels)
    backend.tag(tag, f"{recipe.repository}:latest")
    return BuildResult(recipe.name, tag, built)


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
    if not (root / recipe.context_dir).is_dir():
        raise ConfigError(f"image {recipe.name!r}: build context {recipe.context_dir} does not exist",
                          file=str(root / recipe.context_dir), hint="check the recipe in harness/images.py")
    if not (root / recipe.dockerfile).is_file():
        raise ConfigError(f"image {recipe.name!r}: Dockerfile {recipe.dockerfile} does not exist",
                          file=str(root / recipe.dockerfile), hint="check the recipe in harness/images.py")


def _base_id(recipe: ImageRecipe, backend: ImageBackend) -> str | None:
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
