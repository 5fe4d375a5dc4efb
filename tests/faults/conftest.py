"""Docker fixtures for the fault tests: three echo containers (a, b, c) on their own bridge network, shared."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import docker
import pytest
from docker.models.containers import Container
from docker.models.networks import Network
from faultkit import BASE_IMAGE, ECHO_SERVER, FAULTS_DIR, Trio, trio_problems

logger = logging.getLogger(__name__)


def _docker() -> docker.DockerClient:
    try:
        client = docker.from_env()
        client.ping()
        client.images.get(BASE_IMAGE)
    except Exception as exc:  # noqa: BLE001 - any failure here means "cannot run docker tests"
        pytest.fail(f"docker or {BASE_IMAGE} unavailable: {exc}\n"
                    "Hint: `make setup` starts Docker and builds the base image")
    return client


@pytest.fixture
def docker_client() -> docker.DockerClient:
    """A docker client, or a failed test (a Docker test never skips what it exists to check)."""
    return _docker()


class _SharedTrio:
    """One trio per test process, made on first use and shared by the fault tests.

    Every test undoes its faults (FaultStack); before each test the trio is checked as the harness checks
    an environment after a scenario — running, unpaused, no limit, no fault chain, every echo reachable —
    and replaced when anything is left. A test that must see a fresh trio never sees another test's state.
    """

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.current: Trio | None = None
        self._network: Network | None = None
        self.made = 0

    def get(self) -> Trio:
        """A clean trio: the current one when nothing is left in it, else a new one."""
        if self.current is not None:
            left = trio_problems(self.current)
            if not left:
                return self.current
            logger.info("trio %s replaced: %s", self.current.network, "; ".join(left))
            self.close()
        self.current = self._make()
        return self.current

    def _make(self) -> Trio:
        tag = uuid.uuid4().hex[:10]
        labels = {"harness.test": tag}
        name = f"harness-faults-{tag}"
        self._network = self.client.networks.create(name, driver="bridge", labels=labels)
        containers = []
        try:
            for alias in "abc":
                containers.append(self.client.containers.run(
                    BASE_IMAGE, ["python3", "-c", ECHO_SERVER], name=f"{name}-{alias}", detach=True,
                    labels=labels, init=True, restart_policy={"Name": "on-failure"},
                    tmpfs={"/data": "size=8m"}, ports={"7000/tcp": ("127.0.0.1", None)} if alias == "a" else None,
                    network=name,
                    networking_config={name: self.client.api.create_endpoint_config(aliases=[alias])}))
            trio = Trio(self.client, name, tag, *containers)
            for container in containers:
                _wait_echo(trio, container)
        except BaseException:
            for container in containers:
                container.remove(force=True)
            self._network.remove()
            self._network = None
            raise
        self.made += 1
        return trio

    def close(self) -> None:
        """Remove the trio's containers (and any other container a test left on its network) and the network."""
        trio, network, self.current, self._network = self.current, self._network, None, None
        if trio is None or network is None:
            return
        for container in self.client.containers.list(all=True, filters={"label": f"harness.test={trio.label}"}):
            container.remove(force=True)
        network.reload()
        for container in network.containers:  # e.g. a proxy a failed test could not remove
            container.remove(force=True)
        network.remove()


@pytest.fixture(scope="session")
def _shared_trio() -> Iterator[_SharedTrio]:
    shared = _SharedTrio(_docker())
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture
def trio(_shared_trio: _SharedTrio) -> Trio:
    """Containers a, b, c (init, restart on-failure, tmpfs /data of 8 MB) on their own bridge network,
    clean: shared between tests, checked before each and replaced when a test left anything in it."""
    return _shared_trio.get()


def _wait_echo(trio: Trio, container: Container) -> None:
    from harness.waiting import poll

    def check() -> None:
        assert trio.probe(container, "127.0.0.1") == "ok"
    poll(check, timeout=15, interval=0.3, retry_on=(AssertionError,))


@pytest.fixture(scope="module")
def proxy_image() -> Iterator[str]:
    """The fault proxy image, built from harness/faults/Dockerfile, removed afterwards."""
    client = _docker()
    tag = f"harness-fault-proxy:test-{uuid.uuid4().hex[:8]}"
    client.images.build(path=str(FAULTS_DIR), dockerfile="Dockerfile", tag=tag, rm=True,
                        labels={"harness.test": "proxy-image"})
    try:
        yield tag
    finally:
        client.images.remove(tag, force=True)
