"""Link faults on an edge nobody wired: a plain compose project whose file never mentions a proxy."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from edgekit import ComposeEnv, compose_env

from harness.faults import Bandwidth, Blackhole, FaultStack, ResetPeer, binding
from harness.faults.edge import LINK_CHAIN, EdgeFault
from harness.waiting import poll

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeEnv]:
    """The plain project (client + web on :8000), up for the whole module."""
    with compose_env(tmp_path_factory.mktemp("edge")) as running:
        yield running


def _assert_nothing_left(env: ComposeEnv) -> None:
    assert env.proxies() == [], "a fault proxy container is left"
    assert LINK_CHAIN not in env.nat_rules(), "a DNAT rule (or its chain) is left in the client"
    assert "DNAT" not in "".join(line for line in env.nat_rules().splitlines() if "127.0.0.11" not in line)


def test_300_ms_of_latency_on_an_unwired_edge_adds_300_ms_and_the_undo_leaves_nothing(env: ComposeEnv) -> None:
    before, error = env.timed()
    assert before is not None, error
    with FaultStack() as stack:
        started = time.monotonic()
        fault = stack.inject(binding.latency(env, "client", "web", 300))  # type: ignore[arg-type]
        inject_s = time.monotonic() - started
        during, error = env.timed()
        assert during is not None, error
        assert len(env.proxies()) == 1
        assert LINK_CHAIN in env.nat_rules()
        assert fault.proxy is not None
        toxics = [t for p in fault.proxy.client.proxies().values() for t in p["toxics"]]
        assert [t["type"] for t in toxics] == ["latency"]
        started = time.monotonic()
    revert_s = time.monotonic() - started
    after, error = env.timed()
    assert after is not None, error
    print(f"\nlatency: before {before:.1f} ms, during {during:.1f} ms (+{during - before:.1f}), after {after:.1f} ms;"
          f" inject {inject_s:.2f} s, revert {revert_s:.2f} s")
    assert 250 <= during - before <= 350, f"added {during - before:.0f} ms, want 300 ± 50"
    assert after - before < 50
    _assert_nothing_left(env)


def test_two_faults_share_one_proxy_and_each_undo_removes_only_its_own_toxic(env: ComposeEnv) -> None:
    with FaultStack() as stack:
        slow = stack.inject(binding.latency(env, "client", "web", 100))  # type: ignore[arg-type]
        throttle = stack.inject(binding.link(env, "client", "web",  # type: ignore[arg-type]
                                             lambda c, r: Bandwidth(c, r, 500), "bandwidth 500 KB/s"))
        assert len(env.proxies()) == 1
        assert isinstance(throttle, EdgeFault) and throttle.proxy is not None
        client = throttle.proxy.client
        stack.revert(slow)
        assert [t["type"] for p in client.proxies().values() for t in p["toxics"]] == ["bandwidth"]
        assert LINK_CHAIN in env.nat_rules()
    _assert_nothing_left(env)


def test_blackhole_makes_requests_time_out(env: ComposeEnv) -> None:
    with FaultStack() as stack:
        stack.inject(binding.link(env, "client", "web", Blackhole, "blackhole"))  # type: ignore[arg-type]
        took, error = env.timed(n=1, timeout=2)
        assert took is None and "timed out" in error, error
    assert env.timed(n=1)[0] is not None
    _assert_nothing_left(env)


def test_reset_peer_resets_the_connection(env: ComposeEnv) -> None:
    with FaultStack() as stack:
        stack.inject(binding.link(env, "client", "web", lambda c, r: ResetPeer(c, r, 0),  # type: ignore[arg-type]
                                  "reset"))
        took, error = env.timed(n=1)
        assert took is None and ("ConnectionReset" in error or "reset" in error.lower()), error
    _assert_nothing_left(env)


def test_bandwidth_slows_a_100_kb_answer_to_about_2_seconds(env: ComposeEnv) -> None:
    before, error = env.timed(n=3, path="/big")
    assert before is not None and before < 500, error
    with FaultStack() as stack:
        stack.inject(binding.link(env, "client", "web", lambda c, r: Bandwidth(c, r, 50),  # type: ignore[arg-type]
                                  "bandwidth 50 KB/s", port=8000))
        during, error = env.timed(n=1, timeout=10, path="/big")
    assert during is not None, error
    assert 1600 <= during <= 4000, f"100 KB at 50 KB/s took {during:.0f} ms"
    _assert_nothing_left(env)


def test_compose_down_remove_orphans_takes_the_proxy_and_the_network(tmp_path: Path) -> None:
    with compose_env(tmp_path) as fresh:
        stack = FaultStack()
        stack.inject(binding.latency(fresh, "client", "web", 50))  # type: ignore[arg-type]
        assert len(fresh.proxies()) == 1
        fresh.compose("down", "-v", "--remove-orphans", "-t", "1")  # a killed run: nobody reverts
        assert fresh.proxies() == []
        networks = fresh.docker.networks.list(filters={"label": f"com.docker.compose.project={fresh.project}"})
        assert networks == []
        with pytest.raises(Exception):  # noqa: B017 - the revert of a vanished project may fail; it must not hang
            stack.revert_all()


def test_the_redirect_is_re_applied_when_the_client_restarts(env: ComposeEnv) -> None:
    def delayed() -> None:
        took, error = env.timed(n=1)
        assert took is not None and took >= 250, (took, error)

    with FaultStack() as stack:
        stack.inject(binding.latency(env, "client", "web", 300))  # type: ignore[arg-type]
        env.containers("client")[0].restart(timeout=1)  # its netns, and the DNAT rule in it, are new
        poll(delayed, timeout=15, interval=0.5, retry_on=(AssertionError,))
    _assert_nothing_left(env)


def test_the_fault_follows_a_server_that_restarts(env: ComposeEnv) -> None:
    def delayed() -> None:
        took, error = env.timed(n=1)
        assert took is not None and took >= 250, (took, error)

    with FaultStack() as stack:
        stack.inject(binding.latency(env, "client", "web", 300))  # type: ignore[arg-type]
        env.containers("web")[0].restart(timeout=1)  # the route names web's container, not its address
        poll(delayed, timeout=20, interval=0.5, retry_on=(AssertionError,))
    _assert_nothing_left(env)
