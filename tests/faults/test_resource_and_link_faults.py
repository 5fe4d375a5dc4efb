"""Resource faults, the proxy image in Docker, and a sweep that nothing is left after revert."""

from __future__ import annotations

import socket
import statistics
import time
from collections.abc import Iterator

import pytest
from docker import DockerClient
from docker.models.containers import Container
from faultkit import Trio

from harness.faults import (
    CHAIN,
    CpuSqueeze,
    DiskFull,
    FaultStack,
    Latency,
    MemoryLimit,
    PacketLoss,
    Partition,
    Pause,
    ProxyClient,
    Refuse,
    default_runner,
)
from harness.faults.resources import cpu_quota, memory_limit, oom_killed
from harness.waiting import poll

pytestmark = pytest.mark.docker
MiB = 2**20


def test_memory_limit_sets_both_limits_and_revert_lifts_them(trio: Trio) -> None:
    assert memory_limit(trio.b) is None
    with FaultStack() as stack:
        stack.inject(MemoryLimit(trio.b, 64 * MiB))
        trio.b.reload()
        assert trio.b.attrs["HostConfig"]["Memory"] == 64 * MiB
        assert trio.b.attrs["HostConfig"]["MemorySwap"] == 64 * MiB
    assert memory_limit(trio.b) is None
    assert not oom_killed(trio.b)


def test_memory_limit_restores_an_existing_limit(trio: Trio) -> None:
    trio.c.update(mem_limit=200 * MiB, memswap_limit=300 * MiB)
    with FaultStack() as stack:
        stack.inject(MemoryLimit(trio.c, 32 * MiB))
        assert memory_limit(trio.c) == 32 * MiB
    trio.c.reload()
    assert (trio.c.attrs["HostConfig"]["Memory"], trio.c.attrs["HostConfig"]["MemorySwap"]) == (
        200 * MiB, 300 * MiB)


def test_cpu_squeeze_sets_a_quota_and_revert_lifts_it(trio: Trio) -> None:
    with FaultStack() as stack:
        stack.inject(CpuSqueeze(trio.b, cpus=0.2))
        assert cpu_quota(trio.b) == pytest.approx(0.2)
    assert cpu_quota(trio.b) is None


def test_disk_full_fills_a_tmpfs_and_revert_empties_it(trio: Trio) -> None:
    fault = DiskFull(trio.b, "/data")
    before = fault.free_bytes()
    with FaultStack() as stack:
        stack.inject(fault)
        assert fault.free_bytes() == 0
        write = trio.b.exec_run(["python3", "-c", "open('/data/more', 'w').write('x' * 8192)"])
        assert write.exit_code != 0 and b"No space left" in write.output
    assert fault.free_bytes() == before


def test_disk_full_refuses_a_path_that_is_not_a_tmpfs(trio: Trio) -> None:
    from harness.errors import FaultError
    with pytest.raises(FaultError, match="not a tmpfs"):
        DiskFull(trio.b, "/tmp").inject()


@pytest.fixture
def proxy(trio: Trio, proxy_image: str) -> Iterator[tuple[ProxyClient, int]]:
    """The proxy image on the trio's network, forwarding to b's echo; (client, published echo port)."""
    container = trio.client.containers.run(
        proxy_image, detach=True, name=f"{trio.network}-proxy", network=trio.network, init=True,
        labels={"harness.test": trio.label}, environment={"PROXIES": "b-echo=0.0.0.0:19000>b:7000"},
        ports={"19000/tcp": ("127.0.0.1", None), "8474/tcp": ("127.0.0.1", None)})
    try:
        container.reload()
        ports = container.attrs["NetworkSettings"]["Ports"]
        client = ProxyClient(f"http://127.0.0.1:{ports['8474/tcp'][0]['HostPort']}", timeout=2)
        poll(client.version, timeout=15, interval=0.3, retry_on=(Exception,))
        yield client, int(ports["19000/tcp"][0]["HostPort"])
    finally:
        container.remove(force=True)


def _round_trip(port: int, times: int = 5) -> float:
    """Median seconds of ``times`` echo round trips on one warm connection (one stall of a loaded machine
    is not the toxic)."""
    took = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"warm")
        assert sock.recv(16) == b"warm"
        for _ in range(times):
            started = time.monotonic()
            sock.sendall(b"ping")
            assert sock.recv(16) == b"ping"
            took.append(time.monotonic() - started)
    return statistics.median(took)


def test_latency_toxic_adds_300ms_to_a_round_trip_through_the_proxy_image(
        proxy: tuple[ProxyClient, int]) -> None:
    client, port = proxy
    assert set(client.proxies()) == {"b-echo"}
    base = _round_trip(port)
    with FaultStack() as stack:
        stack.inject(Latency(client, "b-echo", 300))
        slowed = _round_trip(port)
    assert 0.25 <= slowed - base <= 0.35, (base, slowed)
    assert _round_trip(port) < 0.1
    assert client.toxics("b-echo") == []


def _leftovers(trio: Trio, client: ProxyClient) -> list[str]:
    found = []
    for container in (trio.a, trio.b, trio.c):
        container.reload()
        if container.status != "running":
            found.append(f"{container.name} is {container.status}")
        if CHAIN in default_runner().run(container, "iptables -w -S"):
            found.append(f"{container.name} still has the {CHAIN} chain")
        if memory_limit(container) is not None or cpu_quota(container) is not None:
            found.append(f"{container.name} still has a resource limit")
    found += [f"toxic {t['name']} on b-echo" for t in client.toxics("b-echo")]
    return found


def test_after_revert_no_rule_toxic_limit_or_paused_container_remains(
        trio: Trio, proxy: tuple[ProxyClient, int]) -> None:
    client, _ = proxy
    stack = FaultStack()
    try:
        stack.inject(Partition(trio.a, [trio.b, trio.c]))
        stack.inject(Refuse(trio.c, clients=[trio.b]))
        stack.inject(PacketLoss(trio.b, 30))
        stack.inject(Latency(client, "b-echo", 50, 10))
        stack.inject(MemoryLimit(trio.c, 64 * MiB))
        stack.inject(CpuSqueeze(trio.a, cpus=0.5))
        stack.inject(Pause(trio.b))
        assert len(_leftovers(trio, client)) >= 6
    finally:
        stack.revert_all()
    assert _leftovers(trio, client) == []
    assert [e.action for e in stack.timeline.events].count("revert") == 7


def test_an_oom_kill_is_seen_in_the_state_and_in_the_engine_events(docker_client: DockerClient, trio: Trio) -> None:
    """The first start allocates past its limit and is OOM-killed; started again it sleeps. The engine's oom event
    since the first start tells of the kill whatever the state says later (the step checks both)."""
    from faultkit import BASE_IMAGE
    script = ("if [ -f /tmp/once ]; then exec sleep 60; fi; touch /tmp/once; "
              "exec python3 -c 'x = bytearray(256 * 2**20); import time; time.sleep(60)'")
    since = time.time()
    container = docker_client.containers.run(BASE_IMAGE, ["sh", "-c", script], detach=True, mem_limit="32m",
                                             memswap_limit="32m", labels={"harness.test": "oom"})
    try:
        _wait_status(container, "exited")
        assert oom_killed(container)
        container.start()
        _wait_status(container, "running")
        assert oom_killed(container, since=since)
        assert not oom_killed(trio.b, since=since)
    finally:
        container.remove(force=True)


def _wait_status(container: Container, status: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while container.reload() or container.status != status:
        assert time.monotonic() < deadline, f"{container.name} is {container.status}, not {status}"
        time.sleep(0.2)
