"""Network faults against real containers: partition, one-way cut, refuse, packet loss, isolate."""

from __future__ import annotations

import socket

import pytest
from docker.models.containers import Container
from faultkit import Trio

from harness.faults import (
    FaultStack,
    HelperRunner,
    Isolate,
    NsenterRunner,
    OneWayCut,
    PacketLoss,
    Partition,
    Refuse,
    default_runner,
)
from harness.faults.network import harness_rules
from harness.waiting import poll

pytestmark = pytest.mark.docker


def chain_present(container: Container) -> bool:
    output = default_runner().run(container, "iptables -w -S 2>/dev/null")
    return "HARNESS-FAULTS" in output


def host_echo(trio: Trio) -> bytes:
    """Round trip from the host to a's published port: the harness's own path."""
    trio.a.reload()
    port = int(trio.a.ports["7000/tcp"][0]["HostPort"])
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(b"host")
        return sock.recv(16)


def test_partition_cuts_a_from_b_only_and_heals(trio: Trio) -> None:
    fault = Partition(trio.a, trio.b, watch_interval=None)
    with FaultStack() as stack:
        stack.inject(fault)
        assert trio.probe(trio.a, trio.b) == "TimeoutError"
        assert trio.probe(trio.b, trio.a) == "TimeoutError"
        assert trio.probe(trio.a, trio.c) == "ok"
        assert trio.probe(trio.c, trio.b) == "ok"
        assert host_echo(trio) == b"host"  # the harness's path survives
    assert trio.probe(trio.a, trio.b) == "ok"
    assert trio.probe(trio.b, trio.a) == "ok"
    assert not any(chain_present(c) for c in (trio.a, trio.b, trio.c))


def test_one_way_cut_blocks_only_new_connections_from_a_to_b(trio: Trio) -> None:
    with FaultStack() as stack:
        stack.inject(OneWayCut(trio.a, trio.b, watch_interval=None))
        assert trio.probe(trio.a, trio.b) == "TimeoutError"
        assert trio.probe(trio.b, trio.a) == "ok"
        assert trio.probe(trio.a, trio.c) == "ok"
    assert trio.probe(trio.a, trio.b) == "ok"
    assert not chain_present(trio.a)


def test_refuse_answers_with_a_reset_for_listed_clients_only(trio: Trio) -> None:
    fault = Refuse(trio.b, clients=[trio.a], runner=HelperRunner(), watch_interval=None)
    with FaultStack() as stack:
        stack.inject(fault)
        assert trio.probe(trio.a, trio.b) == "ConnectionRefusedError"
        assert trio.probe(trio.c, trio.b) == "ok"
    assert trio.probe(trio.a, trio.b) == "ok"


def test_refuse_defaults_to_every_peer_on_the_network(trio: Trio) -> None:
    with FaultStack() as stack:
        stack.inject(Refuse(trio.b, port=7000, watch_interval=None))
        assert trio.probe(trio.a, trio.b) == "ConnectionRefusedError"
        assert trio.probe(trio.c, trio.b) == "ConnectionRefusedError"
        assert trio.probe(trio.b, "127.0.0.1") == "ok"
    assert trio.probe(trio.a, trio.b) == "ok"


def test_packet_loss_uses_statistic_rules_and_removes_them(trio: Trio) -> None:
    runner = NsenterRunner()
    with FaultStack() as stack:
        stack.inject(PacketLoss(trio.b, 100, peers=[trio.a], runner=runner, watch_interval=None))
        rules = harness_rules(runner, trio.b)
        assert len(rules) == 2 and all("--mode random --probability 1.0" in r for r in rules), rules
        assert trio.probe(trio.a, trio.b) == "TimeoutError"
        assert trio.probe(trio.c, trio.b) == "ok"
    assert harness_rules(runner, trio.b) == []


def test_rules_are_reapplied_after_the_target_restarts(trio: Trio) -> None:
    runner = NsenterRunner()
    with FaultStack() as stack:
        stack.inject(OneWayCut(trio.a, trio.b, runner=runner, watch_interval=0.2))
        trio.a.restart(timeout=1)

        def reapplied() -> None:
            assert len(harness_rules(runner, trio.a)) == 1
        poll(reapplied, timeout=10, interval=0.3, retry_on=(AssertionError,))
        assert trio.probe(trio.a, trio.b) == "TimeoutError"
    assert trio.probe(trio.a, trio.b) == "ok"
    assert harness_rules(runner, trio.a) == []


def test_isolate_disconnects_and_reconnects_with_the_alias(trio: Trio) -> None:
    with FaultStack() as stack:
        stack.inject(Isolate(trio.b))
        assert trio.probe(trio.a, "b") in {"gaierror", "TimeoutError"}
    assert trio.probe(trio.a, "b") == "ok"
    assert trio.probe(trio.a, "c") == "ok"


def test_isolate_revert_restores_the_published_port(trio: Trio) -> None:
    with FaultStack() as stack:
        stack.inject(Isolate(trio.a))
        assert trio.probe(trio.b, "a") in {"gaierror", "TimeoutError"}
    assert trio.probe(trio.b, "a") == "ok"
    assert host_echo(trio) == b"host"


def test_a_peer_change_swaps_the_rules_without_a_gap(trio: Trio) -> None:
    """The watcher re-applies a fault when the peers change (a fault proxy joins the network): the new
    rules go in before the stale ones come out, so the chain is never empty while the fault holds."""
    inner = NsenterRunner()
    seen: list[tuple[str, int]] = []

    class Watching:
        def run(self, container: Container, script: str) -> str:
            output = inner.run(container, script)
            seen.append((script, len(harness_rules(inner, trio.b))))
            return output

    runner = Watching()
    fault = PacketLoss(trio.b, 100, peers=[trio.a, trio.c], runner=runner, watch_interval=None)  # type: ignore[arg-type]
    with FaultStack() as stack:
        stack.inject(fault)
        assert len(harness_rules(inner, trio.b)) == 4
        seen.clear()
        fault.peers = [trio.a]
        fault.refresh()
        assert seen and all(count >= 2 for _, count in seen), seen  # never fewer than the wanted rules
        assert len(harness_rules(inner, trio.b)) == 2
        assert trio.probe(trio.a, trio.b) == "TimeoutError" and trio.probe(trio.c, trio.b) == "ok"
    assert harness_rules(inner, trio.b) == []
