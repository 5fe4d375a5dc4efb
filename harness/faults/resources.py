"""Resource faults: CPU quota, memory limit, a full disk. Reverts restore what was read before.

Engine 20.10 on cgroup v1 cannot lift a memory limit once set ("Minimum memory limit allowed
is 6MB" for -1 and 0 is ignored), so "no limit" is restored as the kernel's own unlimited
value, ``UNLIMITED_MEMORY``; ``memory_limit(container)`` reads either back as None.
"""

from __future__ import annotations

import logging
import re
import shlex
import time
from typing import TYPE_CHECKING

from harness.errors import FaultError
from harness.faults._docker import exec_sh, fresh, translate

if TYPE_CHECKING:
    from docker.models.containers import Container

UNLIMITED_MEMORY = 9223372036854771712  # cgroup v1 memory.limit_in_bytes for "no limit" (4 KiB pages)
DEFAULT_CPU_PERIOD = 100_000

logger = logging.getLogger(__name__)


def memory_limit(container: Container) -> int | None:
    """The container's memory limit in bytes, or None when unlimited."""
    value = int(fresh(container).attrs["HostConfig"].get("Memory") or 0)
    return None if value <= 0 or value >= UNLIMITED_MEMORY else value


def cpu_quota(container: Container) -> float | None:
    """The container's CPU limit in cores (quota/period or NanoCpus), or None when unlimited."""
    host = fresh(container).attrs["HostConfig"]
    quota, period = int(host.get("CpuQuota") or 0), int(host.get("CpuPeriod") or 0) or DEFAULT_CPU_PERIOD
    if quota > 0:
        return quota / period
    nano = int(host.get("NanoCpus") or 0)
    return nano / 1e9 if nano > 0 else None


def oom_killed(container: Container, since: float | None = None) -> bool:
    """True when the engine reports the container's last exit as an OOM kill, or (with ``since``, epoch
    seconds) when the engine logged an ``oom`` event for it since then — a restart policy may already
    have started it again, which clears ``State.OOMKilled``."""
    if fresh(container).attrs["State"].get("OOMKilled"):
        return True
    if since is None:
        return False
    with translate(f"reading the engine's events of {container.name}"):
        events = container.client.events(  # type: ignore[union-attr]
            since=int(since), until=int(time.time()) + 1, decode=True,
            filters={"container": container.id, "event": "oom"})
        return any(True for _ in events)


class _ResourceFault:
    def __init__(self, container: Container) -> None:
        self.container = container

    @property
    def target(self) -> str:
        """The container's name."""
        return str(self.container.name)


class CpuSqueeze(_ResourceFault):
    """Limit the container to ``cpus`` cores with a CFS quota; revert restores quota and period."""

    def __init__(self, container: Container, cpus: float = 0.1, *, period: int = DEFAULT_CPU_PERIOD) -> None:
        super().__init__(container)
        if cpus <= 0:
            raise FaultError(f"cpus must be positive, got {cpus}", hint="e.g. 0.1 for a tenth of a core")
        self.cpus = cpus
        self.period = period
        self._before: tuple[int, int] | None = None

    def describe(self) -> str:
        """One line for logs."""
        return f"squeeze {self.container.name} to {self.cpus:g} CPUs"

    def inject(self) -> None:
        """Remember the current quota and period, then set the squeeze."""
        host = fresh(self.container).attrs["HostConfig"]
        if int(host.get("NanoCpus") or 0) > 0:
            raise FaultError(f"{self.container.name} has a `cpus:` (NanoCpus) limit, which excludes a quota",
                             hint="drop `cpus:` from the service or squeeze another service")
        self._before = (int(host.get("CpuQuota") or 0), int(host.get("CpuPeriod") or 0))
        with translate(f"setting a CPU quota on {self.container.name}"):
            self.container.update(cpu_quota=int(self.cpus * self.period), cpu_period=self.period)

    def revert(self) -> None:
        """Restore the quota and period read before (-1 lifts a quota)."""
        if self._before is None:
            return
        quota, period = self._before
        with translate(f"restoring the CPU quota of {self.container.name}"):
            self.container.update(cpu_quota=quota if quota > 0 else -1,
                                  cpu_period=period if period > 0 else DEFAULT_CPU_PERIOD)
        self._before = None


class MemoryLimit(_ResourceFault):
    """Set a memory limit (and memswap = limit, so there is no swap escape on cgroup v1).

    On cgroup v1 the engine refuses a limit below what the container uses now and cannot reclaim
    ("unable to set memory limit to N (current usage: M ...)"). With ``floor_at_usage`` (a sweep's
    memory cell) the limit is then set to that usage, rounded up to the next MiB: as tight as the engine
    allows, no headroom left; ``limit_bytes`` says what was set.
    """

    def __init__(self, container: Container, limit_bytes: int, *, floor_at_usage: bool = False) -> None:
        super().__init__(container)
        if limit_bytes < 6 * 1024 * 1024:
            raise FaultError(f"memory limit {limit_bytes} bytes is below the engine's minimum of 6 MB",
                             hint="use at least 6 MiB")
        self.limit_bytes = limit_bytes
        self.floor_at_usage = floor_at_usage
        self._before: tuple[int, int] | None = None

    def describe(self) -> str:
        """One line for logs."""
        return f"limit {self.container.name} to {self.limit_bytes / 2**20:g} MiB of memory"

    def inject(self) -> None:
        """Remember memory and memswap, then set both to the limit."""
        host = fresh(self.container).attrs["HostConfig"]
        self._before = (int(host.get("Memory") or 0), int(host.get("MemorySwap") or 0))
        try:
            self._set(self.limit_bytes)
        except FaultError as exc:
            usage = usage_above_limit(str(exc))
            if not self.floor_at_usage or usage is None:
                raise
            floor = -(-usage // 2**20) * 2**20
            logger.warning("%s: the engine refuses %g MiB below its usage; limiting it to %g MiB instead",
                           self.container.name, self.limit_bytes / 2**20, floor / 2**20)
            self.limit_bytes = floor
            self._set(floor)

    def _set(self, limit: int) -> None:
        with translate(f"setting a memory limit on {self.container.name}"):
            self.container.update(mem_limit=limit, memswap_limit=limit)

    def revert(self) -> None:
        """Restore the limits read before; "none" becomes the kernel's unlimited value."""
        if self._before is None:
            return
        memory, swap = self._before
        memory = memory if memory > 0 else UNLIMITED_MEMORY
        swap = swap if swap > 0 else UNLIMITED_MEMORY  # -1 (unlimited swap) is refused by the API too
        with translate(f"restoring the memory limit of {self.container.name}"):
            self.container.update(mem_limit=memory, memswap_limit=max(swap, memory))
        self._before = None

    def oom_killed(self) -> bool:
        """True when the container was OOM-killed."""
        return oom_killed(self.container)


def usage_above_limit(message: str) -> int | None:
    """The bytes in use when runc refused a memory limit below them ("... (current usage: N, ..."), else None."""
    found = re.search(r"unable to set memory limit to \d+ \(current usage: (\d+)", message)
    return int(found.group(1)) if found else None


class DiskFull(_ResourceFault):
    """Fill the filesystem at ``path``: a sized tmpfs only (compose ``tmpfs: [/data:size=16m]``, or a named
    volume with ``driver_opts: {type: tmpfs, device: tmpfs, o: "size=64m"}``), never the engine host's disk."""

    def __init__(self, container: Container, path: str, *, leave_bytes: int = 0,
                 filename: str = ".harness-disk-full") -> None:
        super().__init__(container)
        self.path = path
        self.leave_bytes = leave_bytes
        self.file = f"{path.rstrip('/')}/{filename}"

    def describe(self) -> str:
        """One line for logs."""
        return f"fill {self.path} in {self.container.name}"

    def inject(self) -> None:
        """Write zeros until the filesystem is full (minus ``leave_bytes``); only on a tmpfs."""
        path, file = shlex.quote(self.path), shlex.quote(self.file)
        kind = self._exec(f"stat -f -c %T {path}", "inspecting").strip()
        if kind != "tmpfs":
            # Filling an overlay or bind mount would fill the engine host's disk.
            raise FaultError(f"{self.path} in {self.container.name} is {kind or 'missing'}, not a tmpfs",
                             hint="give it a sized tmpfs: a named volume with `driver_opts: {type: tmpfs, "
                                  "device: tmpfs, o: \"size=64m\"}` mounted there (keeps the volume's name "
                                  "and place), or `tmpfs: [/data:size=16m]` on the service")
        avail = f"df -Pk {path} | awk 'NR==2{{print $4}}'"
        script = (f"free=$(($({avail}) * 1024 - {self.leave_bytes}));"
                  f" if [ $free -gt 0 ]; then head -c $free /dev/zero > {file}; fi; {avail}")
        output = self._exec(script, "filling")
        if not output.strip().isdigit():
            raise FaultError(f"could not fill {self.path} in {self.container.name}: {output.strip()}",
                             hint="the image needs sh, df, awk and head (coreutils)")

    def revert(self) -> None:
        """Delete the fill file (a restarted container's tmpfs is empty anyway)."""
        if fresh(self.container).attrs["State"].get("Running"):
            self._exec(f"rm -f {shlex.quote(self.file)}", "emptying")

    def free_bytes(self) -> int:
        """Free bytes left on the filesystem at ``path``."""
        output = self._exec(f"df -Pk {shlex.quote(self.path)} | awk 'NR==2{{print $4}}'", "measuring")
        return int(output.strip()) * 1024

    def _exec(self, script: str, what: str) -> str:
        code, output = exec_sh(self.container, script)
        if code != 0:
            raise FaultError(f"{what} {self.path} in {self.container.name}: exit {code}: {output.strip()}",
                             hint="the image needs sh, stat, df, awk and head")
        return output
