"""Docker fixtures for the fault tests: three echo containers (a, b, c) on their own bridge network."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import docker
import pytest
from docker.models.containers import Container
from faultkit import BASE_IMAGE, ECHO_SERVER, FAULTS_DIR, Trio


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


@pytest.fixture
def trio(docker_client: docker.DockerClient) -> Iterator[Trio]:
    """Containers a, b, c (init, restart on-failure, tmpfs /data of 8 MB) on a fresh bridge network."""
    client = docker_client
    tag = uuid.uuid4().hex[:10]
    labels = {"harness.test": tag}
    name = f"harness-faults-{tag}"
    network = client.networks.create(name, driver="bridge", labels=labels)
    containers = []
    try:
        for alias in "abc":
            containers.append(client.containers.run(
                BASE_IMAGE, ["python3", "-c", ECHO_SERVER], name=f"{name}-{alias}", detach=True,
                labels=labels, init=True, restart_policy={"Name": "on-failure"},
                tmpfs={"/data": "size=8m"}, ports={"7000/tcp": ("127.0.0.1", None)} if alias == "a" else None,
                network=name,
                networking_config={name: client.api.create_endpoint_config(aliases=[alias])}))
        trio = Trio(client, name, tag, *containers)
        for container in containers:
            _wait_echo(trio, container)
        yield trio
    finally:
        for container in containers:
            container.remove(force=True)
        network.remove()


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
