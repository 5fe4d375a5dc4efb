"""The fault proxy as an on-demand container on a compose project's network.

The image is built on first use from the files shipped in this package (``Dockerfile`` and
``proxy.py``) on the base image (``$HARNESS_BASE_IMAGE``), once per content hash. The container
carries the project's compose labels, so ``docker compose down --remove-orphans`` (and with it the
janitor) removes it together with the network, and the harness labels of the project's own
containers. Its control API is published on 127.0.0.1 (on a remote engine: on every address of the
engine's host, reached at that host's address; see ``harness.engine``). On a remote engine the
image is built there (the docker CLI follows DOCKER_HOST or the context), on the base image the
harness copies there first when missing (``harness.remote_images``).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.engine.endpoint import Engine, current_engine
from harness.env.images import DockerCLI, ImageRecipe, base_image_from_env, ensure_image
from harness.env.remote_images import ensure_images
from harness.errors import FaultError, HarnessError
from harness.faults._docker import networks, translate
from harness.faults.proxy_client import ProxyClient
from harness.faults.waits import PROXY_READY

if TYPE_CHECKING:
    from docker.models.containers import Container

logger = logging.getLogger(__name__)

SERVICE = "harness-faultproxy"
CONTROL_PORT = 8474
PROXY_ROLE = "faultproxy"
_PACKAGE_FILES = ("Dockerfile", "proxy.py")
_COPIED_LABELS = ("com.docker.compose.project", "com.docker.compose.project.working_dir",
                  "com.docker.compose.project.config_files", "com.docker.compose.version")
_built: dict[str, str] = {}
_build_lock = threading.Lock()


def proxy_image(base: str | None = None, backend: Any = None, *, engine: Engine | None = None,
                docker_client: Any = None) -> str:
    """The fault proxy's image tag, built from this package on ``base`` unless that hash exists.

    On a remote ``engine`` (with its ``docker_client``) the base image is copied there first when missing.
    """

    base = base or base_image_from_env()
    engine = engine or current_engine()
    key = f"{engine.endpoint} {base}"
    with _build_lock:
        if key in _built:
            return _built[key]
        if not engine.local and docker_client is not None:
            try:
                ensure_images([base], engine, docker_client)
            except HarnessError as exc:
                raise FaultError(f"the fault proxy image builds on {base}: {exc}", hint=exc.hint) from exc
        backend = backend if backend is not None else DockerCLI()
        if backend.image_id(base) is None:
            raise FaultError(f"the fault proxy image builds on {base}, which is not a local image",
                             hint="build the base image (`make setup` in the harness repository), or set "
                                  "HARNESS_BASE_IMAGE to a local Debian-based image that has python3")
        with tempfile.TemporaryDirectory(prefix="harness-faultproxy-") as tmp:
            for name in _PACKAGE_FILES:  # only these two: the tag changes when the proxy does
                shutil.copyfile(Path(__file__).with_name(name), Path(tmp, name))
            recipe = ImageRecipe("faultproxy", Path("."), Path("Dockerfile"), {"BASE": base})
            try:
                result = ensure_image(recipe, Path(tmp), backend)
            except HarnessError as exc:
                raise FaultError(f"could not build the fault proxy image on {base}: {exc}",
                                 hint="`docker build` of harness/faults/Dockerfile shows the full error") from exc
        logger.info("fault proxy image %s (%s)", result.tag, "built" if result.built else "cached")
        _built[key] = result.tag
        return result.tag


def proxy_labels(like: Container) -> dict[str, str]:
    """Compose project labels and harness labels copied from a project container, as a service of it."""
    source: dict[str, str] = like.attrs["Config"].get("Labels") or {}
    labels = {k: v for k, v in source.items() if k in _COPIED_LABELS or k.startswith("harness.")}
    labels.pop("harness.role", None)
    labels.update({"com.docker.compose.service": SERVICE, "com.docker.compose.oneoff": "False",
                   "com.docker.compose.container-number": "1", "com.docker.compose.config-hash": SERVICE,
                   "harness.role": PROXY_ROLE})
    return labels


class ProxyContainer:
    """One running fault proxy container of a compose project, and its control client."""

    def __init__(self, container: Container, client: ProxyClient) -> None:
        self.container = container
        self.client = client

    @classmethod
    def start(cls, like: Container, network: str, *, image: str | None = None) -> ProxyContainer:
        """Start the proxy on ``network`` with labels copied from ``like``; wait for its control API."""
        labels = proxy_labels(like)
        project = labels.get("com.docker.compose.project")
        if not project:
            raise FaultError(f"{like.name} is not part of a compose project",
                             hint="link faults act on the services of a running environment")
        docker_client: Any = like.client
        engine = current_engine()
        image = image or proxy_image(engine=engine, docker_client=docker_client)
        name = f"{project}-{SERVICE}-1"
        _remove_stale(docker_client, name)
        with translate(f"starting the fault proxy {name}", hint=f"`docker logs {name}`"):
            container = docker_client.containers.run(
                image, name=name, detach=True, labels=labels, network=network, init=True,
                ports={f"{CONTROL_PORT}/tcp": (engine.publish_ip, None)})
        proxy = cls(container, ProxyClient(engine.url(_host_port(container))))
        try:
            proxy.await_ready()
        except BaseException:
            proxy.remove()
            raise
        logger.info("fault proxy %s started on %s", name, network)
        return proxy

    @property
    def name(self) -> str:
        """The container's name."""
        return str(self.container.name)

    def await_ready(self) -> None:
        """Poll the control API until it answers."""
        PROXY_READY.poll(self.client.version, retry_on=(FaultError,))

    def ip_on(self, network: str) -> str:
        """The proxy's address on ``network``, connecting it to that network first if needed."""
        with translate(f"inspecting {self.name}"):
            self.container.reload()
        if network not in networks(self.container):
            with translate(f"connecting {self.name} to {network}"):
                self.container.client.networks.get(network).connect(self.container)  # type: ignore[union-attr]
                self.container.reload()
        address = str(networks(self.container).get(network, {}).get("IPAddress") or "")
        if not address:
            raise FaultError(f"the fault proxy {self.name} has no address on {network}",
                             hint=f"`docker inspect {self.name}`")
        return address

    def state(self) -> str:
        """The container's state now: ``running``, ``exited (137)``, ``gone``..."""
        # lazy: the docker SDK (~85 ms with requests) loads only where a fault, log or image needs it
        import docker.errors
        try:
            self.container.reload()
        except docker.errors.NotFound:
            return "gone"
        except docker.errors.DockerException as exc:
            return f"unknown: {exc}"
        status = str(self.container.status)
        code = (self.container.attrs.get("State") or {}).get("ExitCode")
        return status if status == "running" or code is None else f"{status} ({code})"

    def remove(self) -> None:
        """Remove the container (already gone is fine)."""
        # lazy: the docker SDK (~85 ms with requests) loads only where a fault, log or image needs it
        import docker.errors
        try:
            self.container.remove(force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.DockerException as exc:
            raise FaultError(f"could not remove the fault proxy {self.name}: {exc}",
                             hint=f"`docker rm -f {self.name}`; `harness gc` removes it with the project") from exc
        logger.info("fault proxy %s removed", self.name)


def _host_port(container: Container) -> int:
    with translate(f"inspecting {container.name}"):
        container.reload()
    bindings = (container.attrs["NetworkSettings"].get("Ports") or {}).get(f"{CONTROL_PORT}/tcp") or []
    if not bindings:
        raise FaultError(f"the fault proxy {container.name} publishes no control port",
                         hint=f"`docker logs {container.name}`")
    return int(bindings[0]["HostPort"])


def _remove_stale(docker_client: Any, name: str) -> None:
    """A proxy left by an earlier scenario of the same project whose revert failed."""
    # lazy: the docker SDK (~85 ms with requests) loads only where a fault, log or image needs it
    import docker.errors
    try:
        stale = docker_client.containers.get(name)
    except docker.errors.NotFound:
        return
    logger.warning("removing a stale fault proxy %s", name)
    with translate(f"removing the stale fault proxy {name}"):
        stale.remove(force=True)
