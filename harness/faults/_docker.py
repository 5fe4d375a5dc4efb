"""Small helpers shared by the faults: docker error translation and container facts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from harness.errors import FaultError

if TYPE_CHECKING:
    from docker.models.containers import Container


@contextmanager
def translate(what: str, hint: str = "") -> Iterator[None]:
    """Turn docker SDK errors raised inside the block into one FaultError."""
    # lazy: the docker SDK (~85 ms with requests) loads only where a fault, log or image needs it
    import docker.errors
    try:
        yield
    except docker.errors.DockerException as exc:
        raise FaultError(f"{what} failed: {exc}",
                         hint=hint or "check the container with `docker inspect` and `docker logs`") from exc


def names(containers: Iterable[Container]) -> str:
    """Comma-separated container names for descriptions and the timeline."""
    return ",".join(str(c.name) for c in containers)


def fresh(container: Container) -> Container:
    """Reload a container's attributes from the engine and return it."""
    with translate(f"inspecting {container.name}"):
        container.reload()
    return container


def state(container: Container) -> dict[str, Any]:
    """The container's current State block."""
    result: dict[str, Any] = fresh(container).attrs["State"]
    return result


def networks(container: Container) -> dict[str, dict[str, Any]]:
    """Network name -> endpoint settings, as last reloaded."""
    result: dict[str, dict[str, Any]] = container.attrs["NetworkSettings"]["Networks"] or {}
    return result


def ips(container: Container) -> list[str]:
    """Every IPv4 address the container has on its user networks, as last reloaded."""
    return sorted({ep["IPAddress"] for ep in networks(container).values() if ep.get("IPAddress")})


def ensure_running(container: Container) -> None:
    """Unpause or start the container unless it already runs."""
    current = state(container)
    with translate(f"bringing {container.name} back"):
        if current.get("Paused"):
            container.unpause()
        elif not current.get("Running"):
            container.start()


def exec_sh(container: Container, script: str) -> tuple[int, str]:
    """Run ``sh -c script`` in the container; return (exit code, stdout+stderr)."""
    with translate(f"running `{script}` in {container.name}"):
        result = container.exec_run(["sh", "-c", script])
    raw = result.output if isinstance(result.output, bytes) else b"".join(result.output)
    return int(result.exit_code or 0), raw.decode(errors="replace")
