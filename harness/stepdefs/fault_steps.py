"""Faults as steps: process, network, link and resource faults, each undone at scenario end.

Every step here is a driver (it acts, it checks nothing) except the ones starting with
"Then", which verify. Services are named as in the compose project; a comma list or a glob
(``worker-*``) names several. "between A and B" link faults need the fault proxy on that edge
(environment ``chaos`` or ``-D fault_proxy=true``).

    When the network between queen and hive-1 is partitioned
    When hive-1 cannot reach worker-1-2
    When 300 ms of latency is added between queen and hive-1
    When worker-1-1 is killed
    When the services worker-* churn every 2 seconds for 20 seconds
    When worker-1-1's memory is limited to 64 MB
    When the file "/data/hive-registry.db" in hive-1 is corrupted
    When the SQLite database "/data/hive-registry.db" in hive-1 is locked
    When {worker} is killed                     (a service name remembered by an earlier step)
    When the partition heals
"""

from __future__ import annotations

from typing import Any

from behave import register_type, step, use_step_matcher
from parse import with_pattern

from harness import expect
from harness.faults import (
    Bandwidth,
    Blackhole,
    Churn,
    CorruptFile,
    CpuSqueeze,
    Crash,
    Isolate,
    Kill,
    MemoryLimit,
    OneWayCut,
    PacketLoss,
    Partition,
    Pause,
    Refuse,
    ResetPeer,
    Restart,
    SqliteLock,
    Start,
    Stop,
    Truncate,
    Unpause,
    binding,
)
from harness.faults.resources import oom_killed
from harness.http import STEP_TYPES

use_step_matcher("parse")


@with_pattern(r"[A-Za-z0-9*{][\w.*{}-]*(?:\s*,\s*[A-Za-z0-9*{][\w.*{}-]*)*")
def _services(text: str) -> str:
    return text


@with_pattern(r'[^"]+')
def _path(text: str) -> str:
    return text


@with_pattern(r"SIG[A-Z0-9]+")
def _signal(text: str) -> str:
    return text


register_type(**STEP_TYPES, Services=_services, Signal=_signal, Path=_path)


def _inject(context: Any, fault: Any) -> None:
    binding.inject(context.harness.faults, fault, context.harness.env)
    expect.drove(fault.describe())


def _all(context: Any, refs: str) -> list[Any]:
    """Containers named by ``refs`` ({name} filled in from remembered values)."""
    return binding.containers(context.harness.env, context.harness.interpolate(refs))


def _one(context: Any, ref: str) -> Any:
    """The one container named by ``ref`` ({name} filled in from remembered values)."""
    return binding.one_container(context.harness.env, context.harness.interpolate(ref))


@step("the network between {a:Services} and {b:Services} is partitioned")
def step_partition(context: Any, a: str, b: str) -> None:
    """Drop all traffic both ways between two groups of services (iptables in their namespaces)."""
    _inject(context, Partition(_all(context, a), _all(context, b)))


@step("{a:Services} cannot reach {b:Services}")
def step_one_way(context: Any, a: str, b: str) -> None:
    """One-way cut: A cannot open connections to B; B can still open connections to A."""
    _inject(context, OneWayCut(_all(context, a), _all(context, b)))


@step("connections to {target:Services} are refused")
def step_refuse(context: Any, target: str) -> None:
    """Every peer's new TCP connection to the target gets a reset."""
    _inject(context, Refuse(_one(context, target)))


@step("{target:Services} loses {percent:Number}% of its packets")
def step_packet_loss(context: Any, target: str, percent: float) -> None:
    """Random packet loss to and from the target's peers (iptables statistic)."""
    _inject(context, PacketLoss(_one(context, target), percent))


@step("{target:Services} is disconnected from the network")
def step_isolate(context: Any, target: str) -> None:
    """Disconnect from every project network (reconnected with its aliases on undo)."""
    _inject(context, Isolate(_one(context, target)))


@step("the partition heals")
def step_heal(context: Any) -> None:
    """Undo every network fault of the scenario now (newest first)."""
    binding.heal_network(context.harness.faults, context.harness.env)
    expect.drove("heal")


@step("{target:Services} is killed")
def step_kill(context: Any, target: str) -> None:
    """`docker kill` (SIGKILL) every container of the services; restarted on undo."""
    for container in _all(context, target):
        _inject(context, Kill(container))


@step("{target:Services} is killed with {signal:Signal}")
def step_kill_signal(context: Any, target: str, signal: str) -> None:
    """Send a signal to every container of the services (e.g. SIGTERM for a graceful stop)."""
    for container in _all(context, target):
        _inject(context, Kill(container, signal))


@step("the app in {target:Services} crashes")
def step_crash(context: Any, target: str) -> None:
    """Kill the app process inside the container (needs `init: true`); the restart policy applies."""
    _inject(context, Crash(_one(context, target)))


@step("{target:Services} is stopped")
def step_stop(context: Any, target: str) -> None:
    """`docker stop` the services; started again on undo."""
    for container in _all(context, target):
        _inject(context, Stop(container))


@step("{target:Services} is started")
def step_start(context: Any, target: str) -> None:
    """`docker start` stopped services (nothing to undo: running is the steady state)."""
    for container in _all(context, target):
        _inject(context, Start(container))


@step("{target:Services} is restarted")
def step_restart(context: Any, target: str) -> None:
    """`docker restart` the services (their volumes keep their data)."""
    for container in _all(context, target):
        _inject(context, Restart(container))


@step("{target:Services} is paused")
def step_pause(context: Any, target: str) -> None:
    """Freeze the services (cgroup freezer); unpaused on undo."""
    for container in _all(context, target):
        _inject(context, Pause(container))


@step("{target:Services} is unpaused")
def step_unpause(context: Any, target: str) -> None:
    """Unfreeze paused services now."""
    for container in _all(context, target):
        _inject(context, Unpause(container))


@step("the services {target:Services} churn every {interval:Number} seconds for {duration:Number} seconds")
def step_churn(context: Any, target: str, interval: float, duration: float) -> None:
    """Start a background loop that kills and restarts the services' containers; it runs on."""
    _inject(context, Churn(_all(context, target), interval=interval,
                           duration=duration))


@step("the churn has finished")
def step_churn_finished(context: Any) -> None:
    """Wait until the scenario's churn loop has run its duration and every target runs again."""
    churn = binding.active_churn(context.harness.faults)
    finished = churn.join(churn.duration + churn.timeout)
    context.harness.faults.revert(churn)
    expect.that(finished, f"the churn was still running {churn.duration + churn.timeout:g} s after it began")
    expect.that(not churn.errors, f"churn errors: {churn.errors}")


@step("{ms:Number} ms of latency is added between {a:Services} and {b:Services}")
def step_latency(context: Any, ms: float, a: str, b: str) -> None:
    """Delay the traffic on the edge between A and B through the fault proxy."""
    _inject(context, binding.latency(context.harness.env, a, b, ms))


@step("{ms:Number} ms ± {jitter:Number} ms of latency is added between {a:Services} and {b:Services}")
def step_latency_jitter(context: Any, ms: float, jitter: float, a: str, b: str) -> None:
    """Delay with jitter on the edge between A and B through the fault proxy."""
    _inject(context, binding.latency(context.harness.env, a, b, ms, jitter))


@step("the bandwidth between {a:Services} and {b:Services} is limited to {rate:Number} KB/s")
def step_bandwidth(context: Any, a: str, b: str, rate: float) -> None:
    """Limit the edge's bandwidth through the fault proxy."""
    _inject(context, Bandwidth(*binding.proxy_edge(context.harness.env, a, b), rate))


@step("the link between {a:Services} and {b:Services} holds all data")
def step_blackhole(context: Any, a: str, b: str) -> None:
    """Blackhole: the proxy accepts and holds data on the edge, answering nothing."""
    _inject(context, Blackhole(*binding.proxy_edge(context.harness.env, a, b)))


@step("the link between {a:Services} and {b:Services} is reset after {ms:Number} ms")
def step_reset(context: Any, a: str, b: str, ms: float) -> None:
    """Connections on the edge are reset after a delay."""
    _inject(context, ResetPeer(*binding.proxy_edge(context.harness.env, a, b), ms))


@step("the link between {a:Services} and {b:Services} is cut after {size:d} bytes")
def step_truncate(context: Any, a: str, b: str, size: int) -> None:
    """Connections on the edge are closed after N bytes."""
    _inject(context, Truncate(*binding.proxy_edge(context.harness.env, a, b), size))


@step("{target:Services}'s memory is limited to {mb:d} MB")
def step_memory(context: Any, target: str, mb: int) -> None:
    """Lower the memory limit (memory + swap) of the services; restored on undo."""
    for container in _all(context, target):
        _inject(context, MemoryLimit(container, mb * 1024 * 1024))


@step("{target:Services}'s CPU is limited to {cpus:Number} cores")
def step_cpu(context: Any, target: str, cpus: float) -> None:
    """Squeeze the CPU quota of the services; restored on undo."""
    for container in _all(context, target):
        _inject(context, CpuSqueeze(container, cpus))


@step("{target:Services} was killed for running out of memory")
def step_oom(context: Any, target: str) -> None:
    """Check: the container's state says OOMKilled."""
    container = _one(context, target)
    expect.that(oom_killed(container), f"{target} was not OOM-killed (state: {container.attrs.get('State')})")


@step('the file "{path:Path}" in {target:Services} is corrupted')
def step_corrupt(context: Any, path: str, target: str) -> None:
    """Stop the service, overwrite the file with garbage, start it again (tag the scenario @fresh)."""
    _inject(context, CorruptFile(_one(context, target), path))


@step('the SQLite database "{path:Path}" in {target:Services} is locked')
def step_sqlite_lock(context: Any, path: str, target: str) -> None:
    """Hold an exclusive lock on the database inside the service (python3 in the image) until released."""
    _inject(context, SqliteLock(_one(context, target), path))


@step('the lock on "{path:Path}" in {target:Services} is released')
def step_sqlite_unlock(context: Any, path: str, target: str) -> None:
    """Release a lock taken by the step above, now."""
    container = _one(context, target)
    lock = binding.active(context.harness.faults, SqliteLock, "lock it first", str(container.name))
    context.harness.faults.revert(lock)
    expect.drove(f"release {path} in {container.name}")
