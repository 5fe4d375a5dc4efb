"""Process faults: kill, crash, stop, start, restart, pause and churn containers.

Every revert leaves its targets running: the steady state of an environment is "all up".
``docker kill`` marks a container manually stopped, so its restart policy never revives it;
``Crash`` instead kills the app process inside (containers run with ``init: true``), so the
restart policy applies, the way a real crash would.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from harness.errors import FaultError, WaitTimeout
from harness.faults._docker import ensure_running, exec_sh, names, state, translate
from harness.faults.waits import FAULT_WAIT, FREEZE_RETRY
from harness.waiting import Wait

if TYPE_CHECKING:
    from docker.models.containers import Container

logger = logging.getLogger(__name__)

# Children of PID 1 (docker-init) seen from inside the container; exec'd processes have PPID 0.
_APP_PIDS = ('for s in /proc/[0-9]*/stat; do read -r pid comm st ppid rest 2>/dev/null < "$s" '
             '&& [ "$ppid" = 1 ] && echo "$pid"; done; cat /proc/1/comm')


class _NotYet(Exception):
    """A polled condition does not hold yet."""


def wait_running(container: Container, wait: Wait = FAULT_WAIT) -> None:
    """Poll until the container runs (not paused, not restarting), or raise FaultError."""
    def running() -> bool:
        current = state(container)
        if not current.get("Running") or current.get("Restarting") or current.get("Paused"):
            raise _NotYet(current.get("Status", "?"))
        return True
    try:
        wait.until(running, what=f"{container.name} to run", retry_on=(_NotYet,))
    except WaitTimeout as exc:
        raise FaultError(f"{container.name} is not running after {wait.timeout:g} s (status {exc.__cause__})",
                         hint=f"`docker logs {container.name}` shows why it does not come back; "
                              "-D fault_timeout=SECONDS waits longer") from exc


class _ContainerFault:
    """Shared plumbing: one container target, revert brings it back up."""

    verb = "fault"

    def __init__(self, container: Container, *, wait: Wait = FAULT_WAIT) -> None:
        self.container = container
        self.wait = wait

    @property
    def target(self) -> str:
        """The container's name."""
        return str(self.container.name)

    def describe(self) -> str:
        """One line for logs."""
        return f"{self.verb} {self.container.name}"

    def inject(self) -> None:
        """Apply the fault."""
        with translate(self.describe()):
            self._act()

    def revert(self) -> None:
        """Make sure the container runs again."""
        ensure_running(self.container)
        wait_running(self.container, self.wait)

    def _act(self) -> None:
        raise NotImplementedError


class Kill(_ContainerFault):
    """``docker kill`` with a signal; revert starts the container again."""

    def __init__(self, container: Container, signal: str = "SIGKILL", *, wait: Wait = FAULT_WAIT) -> None:
        super().__init__(container, wait=wait)
        self.signal = signal

    def describe(self) -> str:
        """One line for logs."""
        return f"kill -{self.signal} {self.container.name}"

    def _act(self) -> None:
        self.container.kill(signal=self.signal)


_KILLED_WITH_CONTAINER = 137  # 128 + SIGKILL: the exec'd process was killed as its container's PID 1 exited


class Crash(_ContainerFault):
    """Kill the app process inside the container (the child of docker-init) so the restart policy applies."""

    verb = "crash"

    def __init__(self, container: Container, signal: str = "KILL", *, wait: Wait = FAULT_WAIT) -> None:
        super().__init__(container, wait=wait)
        self.signal = signal.removeprefix("SIG")
        self.restart_count_before: int | None = None
        self.started_before: str | None = None

    def _act(self) -> None:
        self.started_before = state(self.container).get("StartedAt")  # reloads: the count below is current
        self.restart_count_before = int(self.container.attrs.get("RestartCount", 0))
        pids = self._app_pids()
        code, output = exec_sh(self.container, f"kill -{self.signal} {' '.join(pids)}")
        if code != 0 and not self._confirmed(code):
            raise FaultError(f"`kill -{self.signal} {' '.join(pids)}` in {self.container.name} exited "
                             f"{code}: {output.strip()}",
                             hint="the app may have exited on its own; see `docker logs`")

    def took_effect(self) -> bool:
        """The app is gone: the container stopped or was restarted since ``_act`` began.

        Killing the last app process stops the container, and the exec'd ``kill`` can die with it
        (exit 137): that is the fault succeeding, confirmed here by the container's state.
        """
        current = state(self.container)
        restarts = int(self.container.attrs.get("RestartCount", 0))
        return (not current.get("Running") or bool(current.get("Restarting"))
                or restarts > (self.restart_count_before or 0) or current.get("StartedAt") != self.started_before)

    def _confirmed(self, code: int) -> bool:
        """Whether the kill took effect. A 137 (the exec died with the container) gets the engine time to
        show it: on a loaded machine inspect still says "running as before" for a moment after the kill."""
        if code != _KILLED_WITH_CONTAINER:
            return self.took_effect()
        try:
            return bool(self.wait.until(self.took_effect, what=f"{self.container.name} to stop or restart"))
        except WaitTimeout:
            return False

    def _app_pids(self) -> list[str]:
        code, output = exec_sh(self.container, _APP_PIDS)
        lines = output.split()
        if code != 0 or not lines or lines[-1] != "docker-init":
            raise FaultError(f"{self.container.name}: PID 1 is not docker-init "
                             f"(exit {code}, saw {lines[-1:] or 'nothing'})",
                             hint="run the service with `init: true` so the app is not PID 1")
        if len(lines) < 2:
            raise FaultError(f"{self.container.name}: docker-init has no child process",
                             hint="the app has already exited; see `docker logs`")
        return lines[:-1]

    def revert(self) -> None:
        """Wait for the restart policy to bring the app back; start it if there is no policy."""
        policy = (self.container.attrs["HostConfig"].get("RestartPolicy") or {}).get("Name") or "no"
        if policy == "no":
            ensure_running(self.container)
        wait_running(self.container, self.wait)


DEFAULT_STOP_GRACE = 10  # seconds: the engine's default when a container sets no stop timeout


def stop_grace(container: Container, grace: int | None = None) -> int:
    """GRACE when given, else the seconds between SIGTERM and SIGKILL the container asked for (compose
    `stop_grace_period`), else 10. docker-py always sends an explicit `t` to restart, which would
    override the team's setting.
    """
    if grace is not None:
        return grace
    configured = (container.attrs.get("Config") or {}).get("StopTimeout")
    return int(configured) if isinstance(configured, (int, float)) and configured >= 0 else DEFAULT_STOP_GRACE


class Stop(_ContainerFault):
    """``docker stop`` (SIGTERM, then SIGKILL after ``grace`` seconds: by default the container's
    own stop timeout, e.g. compose `stop_grace_period`); revert starts it."""

    verb = "stop"

    def __init__(self, container: Container, grace: int | None = None, *, wait: Wait = FAULT_WAIT) -> None:
        super().__init__(container, wait=wait)
        self.grace = stop_grace(container, grace)

    def _act(self) -> None:
        self.container.stop(timeout=self.grace)


class Start(_ContainerFault):
    """``docker start``; revert is a no-op because running is the steady state."""

    verb = "start"

    def _act(self) -> None:
        self.container.start()

    def revert(self) -> None:
        """Nothing to undo."""


class Restart(_ContainerFault):
    """``docker restart`` (SIGTERM, SIGKILL after ``grace`` seconds as for `Stop`); revert waits until it runs."""

    verb = "restart"

    def __init__(self, container: Container, grace: int | None = None, *, wait: Wait = FAULT_WAIT) -> None:
        super().__init__(container, wait=wait)
        self.grace = stop_grace(container, grace)

    def _act(self) -> None:
        self.container.restart(timeout=self.grace)


class Pause(_ContainerFault):
    """``docker pause`` (freezer cgroup); revert unpauses.

    runc gives up when the cgroup does not reach FROZEN in time (a loaded machine, processes in
    uninterruptible sleep) and leaves the container running: the engine answers 500 "unable to
    freeze". That is tried again (FREEZE_RETRY, harness.faults.waits); any other error, or the last one, is raised.
    """

    verb = "pause"

    def _act(self) -> None:
        # lazy: the docker SDK (~85 ms with requests) loads only where a fault, log or image needs it
        import docker.errors

        def frozen_too_slowly(exc: BaseException) -> bool:
            return isinstance(exc, docker.errors.APIError) and "unable to freeze" in str(exc)

        def tell(exc: BaseException, attempt: int) -> None:
            logger.warning("pause %s: %s; trying again (%d/%d)", self.container.name, exc, attempt,
                           FREEZE_RETRY.attempts)
        FREEZE_RETRY.poll(self.container.pause, retry_on=frozen_too_slowly, notify=tell)


class Unpause(_ContainerFault):
    """``docker unpause``; revert is a no-op."""

    verb = "unpause"

    def _act(self) -> None:
        self.container.unpause()

    def revert(self) -> None:
        """Nothing to undo."""


class Churn:
    """A background thread that kills and restarts the targets, one at a time, for a while."""

    def __init__(self, containers: Sequence[Container], *, interval: float = 2.0, duration: float = 30.0,
                 down_time: float = 0.5, signal: str = "SIGKILL", seed: int | None = None,
                 wait: Wait = FAULT_WAIT, clock: Callable[[], float] = time.monotonic) -> None:
        if not containers:
            raise FaultError("Churn needs at least one container", hint="pass the services to churn")
        self.containers = list(containers)
        self.interval = interval
        self.duration = duration
        self.down_time = down_time
        self.signal = signal
        self.wait = wait
        self.events: list[tuple[float, str, str]] = []
        self.errors: list[str] = []
        self._random = random.Random(seed)
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def target(self) -> str:
        """The churned containers' names."""
        return names(self.containers)

    def describe(self) -> str:
        """One line for logs."""
        return (f"churn {self.target} every {self.interval:g} s for {self.duration:g} s "
                f"(down {self.down_time:g} s)")

    @property
    def running(self) -> bool:
        """True while the churn thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def inject(self) -> None:
        """Start the churn thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="harness-churn", daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> bool:
        """Wait until the churn has run its duration (at most ``timeout`` s); True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def revert(self) -> None:
        """Stop the thread, bring every target back up, report any error the thread hit."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.wait.timeout)
        for container in self.containers:
            ensure_running(container)
        for container in self.containers:
            wait_running(container, self.wait)
        if self.errors:
            raise FaultError(f"churn hit {len(self.errors)} error(s): " + "; ".join(self.errors),
                             hint="every target runs again; the errors above happened during the churn")

    def _run(self) -> None:
        deadline = self._clock() + self.duration
        while self._clock() < deadline and not self._stop.is_set():
            victim = self._random.choice(self.containers)
            self._cycle(victim)
            if self._stop.wait(self.interval):
                break

    def _cycle(self, victim: Container) -> None:
        try:
            with translate(f"churning {victim.name}"):
                self.events.append((self._clock(), "kill", str(victim.name)))
                victim.kill(signal=self.signal)
                self._stop.wait(self.down_time)
                self.events.append((self._clock(), "start", str(victim.name)))
                victim.start()
        except FaultError as exc:
            logger.error("churn: %s", exc)
            self.errors.append(str(exc).splitlines()[0])
