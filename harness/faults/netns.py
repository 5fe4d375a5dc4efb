"""Running iptables inside a container's network namespace.

Two ways in, both measured to work on our machines: ``nsenter -t <pid> -n`` from the host
(the harness is root on the engine's host), or a throw-away helper container sharing the
target's network namespace with NET_ADMIN (works wherever the engine is). ``docker exec
--privileged`` does not work here, so it is not offered. On a remote engine (``harness.engine``)
the target's PID means nothing here, so the helper is always used there; its image is copied to
that engine from the local one when missing (``harness.remote_images``).
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from harness.engine.endpoint import Engine, current_engine
from harness.env.remote_images import ensure_images
from harness.errors import FaultError, HarnessError
from harness.faults._docker import state

if TYPE_CHECKING:
    from docker.models.containers import Container

logger = logging.getLogger(__name__)

DEFAULT_HELPER_IMAGE = "harness-base:bookworm-1"


class NetnsRunner(Protocol):
    """Runs shell commands inside a container's network namespace."""

    def run(self, container: Container, script: str) -> str:
        """Run ``script`` (sh) in the namespace; return stdout or raise FaultError."""
        ...


class NsenterRunner:
    """Enters the namespace from the host with nsenter (needs root on the engine's host)."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout

    def run(self, container: Container, script: str) -> str:
        """Run ``script`` with ``sh -c`` inside the container's network namespace."""
        pid = int(state(container).get("Pid") or 0)
        if pid <= 0:
            raise FaultError(f"{container.name} is not running, so it has no network namespace",
                             hint="start the container before injecting a network fault")
        argv = ["nsenter", "-t", str(pid), "-n", "sh", "-c", script]
        logger.debug("netns %s: %s", container.name, script)
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=self.timeout, check=True)
        except subprocess.CalledProcessError as exc:
            raise FaultError(f"in the network namespace of {container.name}: `{script}` exited "
                             f"{exc.returncode}: {exc.stderr.strip()}",
                             hint="is iptables installed on the host and are we root?") from exc
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise FaultError(f"could not run nsenter for {container.name}: {exc}",
                             hint="install util-linux (nsenter) and iptables on the host") from exc
        return done.stdout


class HelperRunner:
    """Runs a short-lived helper container with ``network_mode=container:<id>`` and NET_ADMIN."""

    def __init__(self, image: str = DEFAULT_HELPER_IMAGE, engine: Engine | None = None) -> None:
        self.image = image
        self.engine = engine  # a remote engine gets the image copied from the local one first

    def run(self, container: Container, script: str) -> str:
        """Run ``script`` in a helper container sharing the target's network namespace."""
        # lazy: the docker SDK (~85 ms with requests) loads only where a fault, log or image needs it
        import docker.errors
        logger.debug("netns helper %s: %s", container.name, script)
        if self.engine is not None and not self.engine.local:
            try:
                ensure_images([self.image], self.engine, container.client)
            except HarnessError as exc:
                raise FaultError(f"the netns helper image is not on the engine of {container.name}: {exc}",
                                 hint=exc.hint) from exc
        try:
            output = container.client.containers.run(  # type: ignore[union-attr]
                self.image, ["sh", "-c", script], network_mode=f"container:{container.id}",
                cap_add=["NET_ADMIN"], remove=True, stdout=True, stderr=True,
                labels={"harness.role": "netns-helper"})
        except docker.errors.ContainerError as exc:
            raise FaultError(f"in the network namespace of {container.name}: `{script}` exited "
                             f"{exc.exit_status}: {exc.stderr!r}",
                             hint=f"does {self.image} have iptables?") from exc
        except docker.errors.DockerException as exc:
            raise FaultError(f"could not run the netns helper for {container.name}: {exc}",
                             hint=f"build {self.image} first (scripts/ builds the base image)") from exc
        return output.decode(errors="replace") if isinstance(output, bytes) else str(output)


def default_runner(engine: Engine | None = None) -> NetnsRunner:
    """nsenter on a local engine when we are root with nsenter and iptables, else the helper container."""
    engine = engine or current_engine()
    if engine.local and os.geteuid() == 0 and shutil.which("nsenter") and shutil.which("iptables"):
        return NsenterRunner()
    return HelperRunner(engine=engine)


def iptables_script(commands: Sequence[Sequence[str]]) -> str:
    """Join iptables argument lists into one fail-fast shell script (``-w`` waits for the lock)."""
    return " && ".join(shlex.join(["iptables", "-w", *cmd]) for cmd in commands) or "true"
