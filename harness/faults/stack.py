"""Fault bookkeeping: the Fault protocol, a timeline of what happened, and the undo stack.

The undo is registered before a fault acts, so a fault that fails half-way (or a Ctrl-C in
the middle of ``inject``) is still reverted. ``revert_all`` undoes in reverse order, attempts
every revert and reports every error at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, TypeVar, runtime_checkable

from harness.errors import FaultError
from harness.runfolder import TimelineEntry

logger = logging.getLogger(__name__)


@runtime_checkable
class Fault(Protocol):
    """Something that can be done to a running system and undone again."""

    @property
    def target(self) -> str:
        """What the fault acts on, for the timeline (container names, proxy name)."""
        ...

    def inject(self) -> None:
        """Apply the fault."""
        ...

    def revert(self) -> None:
        """Undo the fault; safe to call when ``inject`` failed half-way or never ran."""
        ...

    def describe(self) -> str:
        """One line for logs and reports."""
        ...


F = TypeVar("F", bound=Fault)


@dataclass(frozen=True)
class TimelineEvent:
    """One entry on the timeline: when (monotonic seconds), what happened, to what."""

    at: float
    action: str
    what: str
    target: str
    error: str = ""


class Timeline:
    """An append-only, thread-safe list of events with monotonic timestamps."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._events: list[TimelineEvent] = []
        self._lock = threading.Lock()
        self.started = clock()

    def record(self, action: str, what: str, target: str, error: str = "") -> TimelineEvent:
        """Append an event stamped with the clock's current time."""
        event = TimelineEvent(self._clock(), action, what, target, error)
        with self._lock:
            self._events.append(event)
        logger.info("fault %s: %s (target %s)%s", action, what, target, f": {error}" if error else "")
        return event

    @property
    def events(self) -> list[TimelineEvent]:
        """A copy of every event so far, oldest first."""
        with self._lock:
            return list(self._events)

    def entries(self, scenario: str, *, wall: Callable[[], float] = time.time) -> list[TimelineEntry]:
        """The events as lines of the run's timeline file: seconds since this timeline started, and wall-clock
        epoch seconds (the clock must be ``time.monotonic`` for those to be right)."""
        offset = wall() - self._clock()
        return [TimelineEntry(scenario, round(e.at - self.started, 4), e.action, e.what, e.target, e.error,
                              wall=round(offset + e.at, 3)) for e in self.events]

    def __iter__(self) -> Iterator[TimelineEvent]:
        return iter(self.events)

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)


class RevertFailed(FaultError):
    """One or more faults could not be reverted; ``errors`` holds (fault, exception) pairs."""

    def __init__(self, errors: list[tuple[str, BaseException]]) -> None:
        self.errors = errors
        lines = "\n".join(f"  - {what}: {type(exc).__name__}: {exc}" for what, exc in errors)
        super().__init__(
            f"{len(errors)} fault(s) could not be reverted:\n{lines}",
            hint="the system may still be degraded; inspect the containers named above "
                 "(`docker ps -a`, `docker inspect`) or tear the environment down",
        )


class FaultStack:
    """Injects faults, records them on a timeline and reverts them all in reverse order."""

    def __init__(self, timeline: Timeline | None = None) -> None:
        self.timeline = timeline if timeline is not None else Timeline()
        self._active: list[Fault] = []
        self._lock = threading.Lock()

    @property
    def active(self) -> list[Fault]:
        """Faults injected and not yet reverted, oldest first."""
        with self._lock:
            return list(self._active)

    def __len__(self) -> int:
        return len(self.active)

    def inject(self, fault: F) -> F:
        """Register the undo, then inject; a failed inject stays registered and raises FaultError."""
        with self._lock:
            self._active.append(fault)
        self.timeline.record("inject", fault.describe(), fault.target)
        try:
            fault.inject()
        except FaultError as exc:
            self.timeline.record("inject-failed", fault.describe(), fault.target, str(exc))
            raise
        except Exception as exc:
            self.timeline.record("inject-failed", fault.describe(), fault.target, str(exc))
            raise FaultError(f"could not inject {fault.describe()}: {exc}",
                             hint="the fault stays registered and is reverted at scenario end") from exc
        return fault

    def revert(self, fault: Fault) -> None:
        """Revert one fault early (a scenario's "heal" step) and forget it."""
        with self._lock:
            if fault not in self._active:
                raise FaultError(f"{fault.describe()} is not active",
                                 hint="revert only faults injected through this stack")
            self._active.remove(fault)
        errors = self._revert_one(fault)
        if errors:
            raise RevertFailed(errors)

    def revert_all(self) -> None:
        """Revert every active fault, newest first; attempt all, then raise RevertFailed."""
        errors: list[tuple[str, BaseException]] = []
        interrupted: BaseException | None = None
        while True:
            with self._lock:
                if not self._active:
                    break
                fault = self._active.pop()
            for what, exc in self._revert_one(fault):
                if isinstance(exc, Exception):
                    errors.append((what, exc))
                elif interrupted is None:
                    interrupted = exc  # Ctrl-C during a revert: finish the others first.
        if interrupted is not None:
            raise interrupted
        if errors:
            raise RevertFailed(errors)

    def _revert_one(self, fault: Fault) -> list[tuple[str, BaseException]]:
        what = fault.describe()
        try:
            fault.revert()
        except BaseException as exc:  # noqa: B036 - every revert must be attempted
            logger.error("could not revert %s: %s", what, exc)
            self.timeline.record("revert-failed", what, fault.target, str(exc) or type(exc).__name__)
            return [(what, exc)]
        self.timeline.record("revert", what, fault.target)
        return []

    def __enter__(self) -> FaultStack:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.revert_all()
