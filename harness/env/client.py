"""What an environment asks of the Docker engine, typed by Protocols that the docker SDK and fakes both satisfy.

    DockerClient (Protocol)   the parts of the SDK's ``docker.DockerClient`` the harness uses:
                              ``containers.get``, ``networks.list``, ``api`` (image and container reads)
    Clients(engine, docker=, reads=)
                              an engine's SDK client and its light reads (harness.engine.api), each
                              made on first use: constructing an environment connects to nothing
    ProjectView(project, clients)
                              one compose project as the engine shows it: its containers
                              (``observe``) and one container's state (``inspect``); what
                              Readiness and Artifacts read, instead of calling back into Environment
"""

from __future__ import annotations

from typing import Any, Protocol

from harness.engine.api import EngineReads, Filters, reads_for
from harness.engine.endpoint import Engine, current_engine
from harness.env.probes import Observed

__all__ = ["Clients", "DockerClient", "ProjectView", "docker_client"]


class ContainerLookup(Protocol):
    """``DockerClient.containers``: a container by id or name."""

    def get(self, container_id: str) -> Any: ...


class NetworkList(Protocol):
    """``DockerClient.networks``: networks matching filters."""

    def list(self, *, filters: dict[str, Any] | None = None) -> list[Any]: ...


class EngineApi(EngineReads, Protocol):
    """``DockerClient.api``, the low-level client: the light reads, and an image's inspect."""

    def inspect_image(self, image: str) -> dict[str, Any]: ...


class DockerClient(Protocol):
    """The docker SDK client as the harness uses it (``docker.DockerClient`` fits; tests pass fakes)."""

    @property
    def containers(self) -> ContainerLookup: ...

    @property
    def networks(self) -> NetworkList: ...

    @property
    def api(self) -> EngineApi: ...


def docker_client(engine: Engine | None = None) -> DockerClient:
    """A docker SDK client for ``engine`` (default: the one DOCKER_HOST or the Docker context selects)."""
    client: DockerClient = (engine or current_engine()).client()
    return client


class Clients:
    """An engine's docker SDK client and its light reads, each made on first use (a given one is used as is)."""

    def __init__(self, engine: Engine, docker: DockerClient | None = None, reads: EngineReads | None = None) -> None:
        self.engine = engine
        self._docker = docker
        self._reads = reads if reads is not None else (docker.api if docker is not None else None)

    @property
    def docker(self) -> DockerClient:
        """The SDK client (loads the SDK and connects on first use)."""
        if self._docker is None:
            self._docker = docker_client(self.engine)
        return self._docker

    @property
    def reads(self) -> EngineReads:
        """Container lists and inspects: the SDK's when a client was given, else without loading the SDK."""
        if self._reads is None:
            self._reads = reads_for(self.engine)
        return self._reads


class ProjectView:
    """One compose project's containers, as the engine reports them (published ports answer on ``host``)."""

    def __init__(self, project: str, clients: Clients) -> None:
        self.project = project
        self.clients = clients

    @property
    def filters(self) -> Filters:
        """The label every container, network and volume of the project carries."""
        return {"label": f"com.docker.compose.project={self.project}"}

    def observe(self) -> list[Observed]:
        """Every container of the project, running or not."""
        summaries = self.clients.reads.containers(all=True, filters=self.filters)
        return [Observed.from_summary(s, host=self.clients.engine.host) for s in summaries]

    def inspect(self, container: str) -> dict[str, Any]:
        """`docker inspect` of one container."""
        return self.clients.reads.inspect_container(container)
