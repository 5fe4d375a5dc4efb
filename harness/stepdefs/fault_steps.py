"""Faults as steps: process, network, link and resource faults, each undone at scenario end.

Every step here is a driver (it acts, it checks nothing) except the ones starting with
"Then", which verify. Services are named as in the compose project; a comma list or a glob
(``worker-*``) names several. "between A and B" link faults work on any environment, with no
wiring in the template: the harness starts its fault proxy on the project's network and
redirects A's connections to B's port through it (and B's to A's when A has a port too). B's
port comes from the environment file, else from the compose file; name it when B has several
(``B:8000`` or ``B on port 8000``).

    When the network between queen and hive-1 is partitioned
    When hive-1 cannot reach worker-1-2
    When 300 ms of latency is added between queen and hive-1
    When the link between nginx and api:8000 holds all data
    When worker-1-1 is killed
    When the services worker-* churn every 2 seconds for 20 seconds
    When worker-1-1's memory is limited to 64 MB
    When the disk at "/var/lib/postgresql/data" in db is full
    When the file "/data/hive-registry.db" in hive-1 is corrupted
    When the SQLite database "/data/hive-registry.db" in hive-1 is locked
    When {worker} is killed                     (a service name remembered by an earlier step)
    When the partition heals
"""

from __future__ import annotations

import re
from typing import Any

from behave import register_type, step, use_step_matcher
from parse import with_pattern

from harness import expect
from harness.clients.http import STEP_TYPES
from harness.clients.links import ClientLinkFault, ToxicFactory, links
from harness.faults import (
    Bandwidth,
    Blackhole,
    Churn,
    CorruptFile,
    CpuSqueeze,
    Crash,
    DiskFull,
    Isolate,
    Kill,
    Latency,
    MemoryLimit,
    OneWayCut,
    PacketLoss,
    Partition,
    Pause,
    Refuse,
    ResetPeer,
    Restart,
    SlowClose,
    SqliteLock,
    Start,
    Stop,
    Truncate,
    Unpause,
    binding,
)
from harness.faults.resources import oom_killed
from harness.faults.waits import OOM_SETTLE, fault_wait
from harness.run.record import scenario_started

use_step_matcher("parse")

EXAMPLE = """
Scenario: the client's link and the link between two services, each undone at the end
  When the client's link to "queen" has 300 ms of latency
  And 200 ms of latency is added between queen and hive-1
  And worker-1-1 is killed
  Then within 20 seconds:
    \"\"\"
    When I send a GET request to "/v1/workers" on "queen"
    Then the response JSON at "workers" has 3 items
    \"\"\"
  When the client's link to "queen" heals
"""  # a worked example, shown in docs/steps.md (checked: every step exists)


@with_pattern(r"[A-Za-z0-9*{][\w.*{}-]*(?:\s*,\s*[A-Za-z0-9*{][\w.*{}-]*)*")
def _services(text: str) -> str:
    """Services of the compose project: a name, a comma list or a glob ({name} from remembered values).

    Grammar: NAME[, NAME ...] (a NAME may hold * as a glob: worker-*)
    Example: worker-1, worker-2
    """
    return text


@with_pattern(r'[^"]+')
def _path(text: str) -> str:
    """A file or folder path inside a container, between double quotes in the step.

    Grammar: "PATH" (no " inside)
    Example: "/var/lib/postgresql/data"
    """
    return text


@with_pattern(r"SIG[A-Z0-9]+")
def _signal(text: str) -> str:
    """A signal name.

    Grammar: SIG followed by capitals or digits
    Example: SIGKILL
    """
    return text


Peer = tuple[str, int | None]


@with_pattern(_services.pattern + r"(?::\d+| on port \d+)?")
def _peer(text: str) -> Peer:
    """The far side of an edge and, optionally, its port (else the one the environment names).

    Grammar: Services[:PORT | on port PORT]
    Example: api on port 8000
    """
    match = re.fullmatch(r"(.+?)(?::(\d+)| on port (\d+))?", text)
    assert match is not None
    port = match.group(2) or match.group(3)
    return match.group(1), int(port) if port else None


@with_pattern(r"\d+(?:\.\d+)?\s*(?:MB|MiB)")
def _megabytes(text: str) -> int:
    """A size in megabytes (MiB).

    Grammar: NUMBER MB | NUMBER MiB
    Example: 8 MB
    """
    return int(float(text.rstrip("MiB").strip()) * 1024 * 1024)


register_type(**STEP_TYPES, Services=_services, Signal=_signal, Path=_path, Peer=_peer, Megabytes=_megabytes)


def _inject(context: Any, fault: Any) -> None:
    binding.inject(context.harness.faults, fault, context.harness.env)
    expect.drove(fault.describe())


def _refs(context: Any, a: str, b: Peer) -> tuple[str, str]:
    """Both sides of an edge with {name} filled in from remembered values."""
    return context.harness.interpolate(a), context.harness.interpolate(b[0])


def _link(context: Any, a: str, b: Peer, toxic: Any, what: str) -> None:
    """Inject one toxic on every hop between A and B (port from the step, else discovered)."""
    a_ref, b_ref = _refs(context, a, b)
    _inject(context, binding.link(context.harness.env, a_ref, b_ref, toxic, what, port=b[1]))


def _wait(context: Any) -> Any:
    """How long a fault waits for its container to run again (-D fault_timeout=SECONDS)."""
    return fault_wait(context.harness.userdata)


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


@step("every fault is undone")
def step_undo_all(context: Any) -> None:
    """Undo every fault of the scenario now, newest first (as scenario end would), e.g. to check recovery.

    Example: When every fault is undone
    """
    context.harness.faults.revert_all()
    context.harness.env.refresh()
    expect.drove("undo every fault")


@step("{target:Services} is killed")
def step_kill(context: Any, target: str) -> None:
    """`docker kill` (SIGKILL) every container of the services; restarted on undo."""
    for container in _all(context, target):
        _inject(context, Kill(container, wait=_wait(context)))


@step("{target:Services} is killed with {signal:Signal}")
def step_kill_signal(context: Any, target: str, signal: str) -> None:
    """Send a signal to every container of the services (e.g. SIGTERM for a graceful stop)."""
    for container in _all(context, target):
        _inject(context, Kill(container, signal, wait=_wait(context)))


@step("the app in {target:Services} crashes")
def step_crash(context: Any, target: str) -> None:
    """Kill the app process inside the container (needs `init: true`); the restart policy applies."""
    _inject(context, Crash(_one(context, target), wait=_wait(context)))


@step("{target:Services} is stopped")
def step_stop(context: Any, target: str) -> None:
    """`docker stop` the services; started again on undo."""
    for container in _all(context, target):
        _inject(context, Stop(container, wait=_wait(context)))


@step("{target:Services} is started")
def step_start(context: Any, target: str) -> None:
    """`docker start` stopped services (nothing to undo: running is the steady state)."""
    for container in _all(context, target):
        _inject(context, Start(container, wait=_wait(context)))


@step("{target:Services} is restarted")
def step_restart(context: Any, target: str) -> None:
    """`docker restart` the services (their volumes keep their data)."""
    for container in _all(context, target):
        _inject(context, Restart(container, wait=_wait(context)))


@step("{target:Services} is paused")
def step_pause(context: Any, target: str) -> None:
    """Freeze the services (cgroup freezer); unpaused on undo."""
    for container in _all(context, target):
        _inject(context, Pause(container, wait=_wait(context)))


@step("{target:Services} is unpaused")
def step_unpause(context: Any, target: str) -> None:
    """Unfreeze paused services now."""
    for container in _all(context, target):
        _inject(context, Unpause(container, wait=_wait(context)))


@step("the services {target:Services} churn every {interval:Number} seconds for {duration:Number} seconds")
def step_churn(context: Any, target: str, interval: float, duration: float) -> None:
    """Start a background loop that kills and restarts the services' containers; it runs on."""
    _inject(context, Churn(_all(context, target), interval=interval, duration=duration, wait=_wait(context)))


@step("the churn has finished")
def step_churn_finished(context: Any) -> None:
    """Wait until the scenario's churn loop has run its duration and every target runs again."""
    churn = binding.active_churn(context.harness.faults)
    finished = churn.join(churn.duration + churn.wait.timeout)
    context.harness.faults.revert(churn)
    expect.that(finished, f"the churn was still running {churn.duration + churn.wait.timeout:g} s after it began")
    expect.that(not churn.errors, f"churn errors: {churn.errors}")


@step("{ms:Number} ms of latency is added between {a:Services} and {b:Peer}")
def step_latency(context: Any, ms: float, a: str, b: Peer) -> None:
    """Delay every answer on the edge between A and B by N ms (fault proxy + DNAT, no wiring needed).

    Example: When 300 ms of latency is added between nginx and api
    """
    env, refs = context.harness.env, _refs(context, a, b)
    _inject(context, binding.latency(env, refs[0], refs[1], ms, port=b[1]))


@step("{ms:Number} ms ± {jitter:Number} ms of latency is added between {a:Services} and {b:Peer}")
def step_latency_jitter(context: Any, ms: float, jitter: float, a: str, b: Peer) -> None:
    """Delay with jitter on the edge between A and B.

    Example: When 200 ms ± 50 ms of latency is added between queen and hive-1
    """
    env, refs = context.harness.env, _refs(context, a, b)
    _inject(context, binding.latency(env, refs[0], refs[1], ms, jitter, port=b[1]))


@step("the bandwidth between {a:Services} and {b:Peer} is limited to {rate:Number} KB/s")
def step_bandwidth(context: Any, a: str, b: Peer, rate: float) -> None:
    """Limit the edge's bandwidth (answers flow at N KB/s).

    Example: When the bandwidth between nginx and api on port 8000 is limited to 16 KB/s
    """
    _link(context, a, b, lambda c, r: Bandwidth(c, r, rate), f"bandwidth {rate:g} KB/s")


@step("the link between {a:Services} and {b:Peer} holds all data")
def step_blackhole(context: Any, a: str, b: Peer) -> None:
    """Blackhole: connections on the edge open, but no data passes until the undo.

    Example: When the link between nginx and api holds all data
    """
    _link(context, a, b, lambda c, r: Blackhole(c, r), "blackhole")


@step("the link between {a:Services} and {b:Peer} is reset after {ms:Number} ms")
def step_reset(context: Any, a: str, b: Peer, ms: float) -> None:
    """Connections on the edge are reset (TCP RST) N ms after they open.

    Example: When the link between nginx and api:8000 is reset after 0 ms
    """
    _link(context, a, b, lambda c, r: ResetPeer(c, r, ms), f"reset after {ms:g} ms")


@step("the link between {a:Services} and {b:Peer} is cut after {size:d} bytes")
def step_truncate(context: Any, a: str, b: Peer, size: int) -> None:
    """Connections on the edge are closed after N bytes of answer.

    Example: When the link between nginx and api is cut after 100 bytes
    """
    _link(context, a, b, lambda c, r: Truncate(c, r, size), f"cut after {size} bytes")


@step("the link between {a:Services} and {b:Peer} closes {ms:Number} ms late")
def step_slow_close(context: Any, a: str, b: Peer, ms: float) -> None:
    """Slow close: a connection's close on the edge is passed on N ms late.

    Example: When the link between nginx and api closes 500 ms late
    """
    _link(context, a, b, lambda c, r: SlowClose(c, r, ms), f"close {ms:g} ms late")


# -- the client's own link: the test machine -> a service (HTTP, SSE, WebSocket, load alike) -------------

@step('the client\'s link to "{service:Quoted}" has {ms:Number} ms of latency')
def client_latency(context: Any, service: str, ms: float) -> None:
    """Delay everything SERVICE sends to the test client by MS: HTTP, SSE, WebSockets (live ones too), load runs.

    No wiring: the first fault on the link starts a loopback fault proxy and routes the service's
    address through it until the scenario ends (harness.clients.links).

    Example: When the client's link to "queen" has 300 ms of latency
    """
    _client_link(context, service, lambda c, p: [Latency(c, p, ms)], f"{ms:g} ms latency")


@step('the client\'s link to "{service:Quoted}" has {ms:Number} ms ± {jitter:Number} ms of latency')
def client_latency_jitter(context: Any, service: str, ms: float, jitter: float) -> None:
    """Delay with jitter on the client's link to SERVICE.

    Example: When the client's link to "queen" has 200 ms ± 50 ms of latency
    """
    _client_link(context, service, lambda c, p: [Latency(c, p, ms, jitter)], f"{ms:g} ms ± {jitter:g} ms latency")


@step('the client\'s link to "{service:Quoted}" is reset')
def client_reset(context: Any, service: str) -> None:
    """Reset (TCP RST) every connection of the client to SERVICE through the link now, and any opened later.

    Example: When the client's link to "queen" is reset
    """
    _client_link(context, service, lambda c, p: [ResetPeer(c, p, 0)], "reset")


@step('the client\'s link to "{service:Quoted}" is reset after {ms:Number} ms')
def client_reset_after(context: Any, service: str, ms: float) -> None:
    """The client's connections to SERVICE are reset (TCP RST) N ms after they open.

    Example: When the client's link to "queen" is reset after 200 ms
    """
    _client_link(context, service, lambda c, p: [ResetPeer(c, p, ms)], f"reset after {ms:g} ms")


@step('the client\'s link to "{service:Quoted}" holds all data')
def client_blackhole(context: Any, service: str) -> None:
    """Partition: hold every byte both ways between the client and SERVICE (no FIN, no RST) until the undo.

    Example: When the client's link to "queen" holds all data
    """
    _client_link(context, service, lambda c, p: [Blackhole(c, p, stream="downstream"),
                                                 Blackhole(c, p, stream="upstream")], "partition (all data held)")


@step('the client\'s link to "{service:Quoted}" is limited to {rate:Number} KB/s')
def client_bandwidth(context: Any, service: str, rate: float) -> None:
    """Answers from SERVICE reach the client at N KB/s.

    Example: When the client's link to "queen" is limited to 16 KB/s
    """
    _client_link(context, service, lambda c, p: [Bandwidth(c, p, rate)], f"bandwidth {rate:g} KB/s")


@step('the client\'s link to "{service:Quoted}" is cut after {size:d} bytes')
def client_truncate(context: Any, service: str, size: int) -> None:
    """The client's connections to SERVICE are closed after N bytes of answer.

    Example: When the client's link to "queen" is cut after 100 bytes
    """
    _client_link(context, service, lambda c, p: [Truncate(c, p, size)], f"cut after {size} bytes")


@step('the client\'s link to "{service:Quoted}" closes {ms:Number} ms late')
def client_slow_close(context: Any, service: str, ms: float) -> None:
    """A close on the client's link to SERVICE is passed on N ms late.

    Example: When the client's link to "queen" closes 500 ms late
    """
    _client_link(context, service, lambda c, p: [SlowClose(c, p, ms)], f"close {ms:g} ms late")


@step('the client\'s link to "{service:Quoted}" heals')
def client_heal(context: Any, service: str) -> None:
    """Undo every fault on the client's link to SERVICE (the others stay).

    Example: When the client's link to "queen" heals
    """
    expect.drove(f"heal the client's link to {service}")
    stack = context.harness.faults
    for fault in [f for f in reversed(stack.active) if isinstance(f, ClientLinkFault) and f.service == service]:
        stack.revert(fault)


def _client_link(context: Any, service: str, toxics: ToxicFactory, what: str) -> None:
    """A fault on the client's link to SERVICE, through the scenario's fault stack (undone at its end)."""
    expect.drove(f"{what} on the client's link to {service}")
    context.harness.env.url(service)  # an unknown service or one without a port: said before anything acts
    context.harness.faults.inject(links(context.harness).fault(service, toxics, what))


@step('the disk at "{path:Path}" in {target:Services} is full')
def step_disk_full(context: Any, path: str, target: str) -> None:
    """Fill the disk at the path until writes fail with "No space left on device"; emptied on undo.

    Only a sized tmpfs is filled, never the engine host's disk: give the data a named volume with
    `driver_opts: {type: tmpfs, device: tmpfs, o: "size=64m"}` (or the service `tmpfs: [/data:size=64m]`).

    Example: When the disk at "/var/lib/postgresql/data" in db is full
    """
    _inject(context, DiskFull(_one(context, target), path))


@step('the disk at "{path:Path}" in {target:Services} is full, leaving {size:Megabytes}')
def step_disk_full_leaving(context: Any, path: str, target: str, size: int) -> None:
    """Fill the tmpfs at the path but leave some space free (e.g. for the WAL); emptied on undo.

    Example: When the disk at "/data" in db is full, leaving 2 MB
    """
    _inject(context, DiskFull(_one(context, target), path, leave_bytes=size))


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
    """Check: the container's state says OOMKilled, or the engine logged an OOM kill of it since the scenario started
    (a restart policy may have started it again already). The engine learns of a kill a moment after the kernel
    did it (a client may see the broken connection first), so the engine has OOM_SETTLE seconds to report it."""
    container = _one(context, target)
    since = scenario_started(context)

    def killed() -> None:
        expect.that(oom_killed(container, since=since),
                    f"{target} was not OOM-killed since the scenario started (no oom event within "
                    f"{OOM_SETTLE.timeout:g} s; state: {container.attrs.get('State')})")
    OOM_SETTLE.poll(killed)


@step('the file "{path:Path}" in {target:Services} is corrupted')
def step_corrupt(context: Any, path: str, target: str) -> None:
    """Stop the service, overwrite the file with garbage, start it again (tag the scenario @fresh)."""
    _inject(context, CorruptFile(_one(context, target), path, wait=_wait(context)))


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
