"""Waiting for a condition: every poll and retry in the harness is one value, ``Wait``, run by tenacity.

    Wait(timeout, interval, backoff=1.0, max_interval=None, attempts=None)
    wait.until(predicate, what="the gate to open")   call until it returns something true;
                                                     WaitTimeout names what and the last observation
    wait.poll(fn, retry_on=(SomeError,))             call until it stops raising one of retry_on
                                                     (or a predicate says no); then the last error is re-raised

The pause after the n-th failed attempt is ``interval * backoff**(n-1)``, at most ``max_interval``,
and never past the deadline: the last attempt happens at ``timeout`` (``math.inf``: no deadline),
or after ``attempts`` attempts. ``sleep`` and ``clock`` are injectable, so tests never sleep.

The named waits live beside their users, each one value a reader finds by name:
``harness.faults.waits`` (FAULT_WAIT, -D fault_timeout), ``harness.parallel.gate.GATE_WAIT``,
``harness.engine.compose.DOWN_RETRY``, ``harness.parallel.pool.POOL_TICK``. A loop that sleeps
anywhere else in ``harness/`` says why beside it (``# wait: ...``; tests/test_sleep_loops.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

import tenacity

from harness.errors import ConfigError, VerificationFailed, WaitTimeout

T = TypeVar("T")
Sleep = Callable[[float], None]
Clock = Callable[[], float]
RetryOn = tuple[type[BaseException], ...] | Callable[[BaseException], bool]


@dataclass(frozen=True)
class Wait:
    """How long to wait for something and how often to look: a timeout, a first pause and its growth."""

    timeout: float
    interval: float
    backoff: float = 1.0
    max_interval: float | None = None
    attempts: int | None = None

    def __post_init__(self) -> None:
        if not (self.timeout >= 0 and self.interval >= 0 and self.backoff >= 1
                and (self.max_interval is None or self.max_interval >= 0)
                and (self.attempts is None or self.attempts >= 1)):
            raise ConfigError(f"not a wait: {self}",
                              hint="timeout, interval and max_interval are seconds >= 0, backoff >= 1, attempts >= 1")

    def with_timeout(self, timeout: float) -> Wait:
        """The same wait with another timeout (a user's -D setting)."""
        return replace(self, timeout=timeout)

    def pause(self, attempt: int) -> float:
        """Seconds to pause after the ``attempt``-th failed attempt (1-based), before the deadline caps it."""
        try:
            pause = self.interval * self.backoff ** (attempt - 1)
        except OverflowError:
            pause = math.inf
        return pause if self.max_interval is None else min(pause, self.max_interval)

    def until(self, predicate: Callable[[], T], *, what: str, retry_on: tuple[type[BaseException], ...] = (),
              hint: str = "", sleep: Sleep | None = None, clock: Clock | None = None) -> T:
        """Call ``predicate`` until it returns something true, and return that.

        An error of ``retry_on`` counts as "not yet"; any other error ends the wait at once. When
        time (or attempts) run out: WaitTimeout naming ``what`` and the last result or error.
        """
        now = clock or time.monotonic
        started = now()
        retrying = self._retrying(tenacity.retry_if_not_result(bool) | tenacity.retry_if_exception_type(retry_on),
                                  sleep, now)
        try:
            return retrying(predicate)
        except tenacity.RetryError as exc:
            last = exc.last_attempt
            error = last.exception()
            observed = f"{type(error).__name__}: {error}" if error is not None else f"{last.result()!r}"
            raise WaitTimeout(what, timeout=self.timeout, waited=now() - started, attempts=last.attempt_number,
                              last=observed, hint=hint) from error

    def poll(self, fn: Callable[[], T], *, retry_on: RetryOn = (VerificationFailed,),
             notify: Callable[[BaseException, int], None] | None = None,
             sleep: Sleep | None = None, clock: Clock | None = None) -> T:
        """Call ``fn`` until it returns without an error ``retry_on`` accepts (a tuple of types, or a predicate).

        When time (or attempts) run out the last error is re-raised as it was. ``notify(error,
        attempt)`` is called before each pause (to log "trying again").
        """
        retry = (tenacity.retry_if_exception_type(retry_on) if isinstance(retry_on, tuple)
                 else tenacity.retry_if_exception(retry_on))
        before: Callable[[tenacity.RetryCallState], None] | None = None
        if notify is not None:
            report = notify

            def before(state: tenacity.RetryCallState) -> None:
                error = state.outcome.exception() if state.outcome is not None else None
                if error is not None:
                    report(error, state.attempt_number)
        return self._retrying(retry, sleep, clock or time.monotonic, before=before, reraise=True)(fn)

    def _retrying(self, retry: tenacity.retry_base, sleep: Sleep | None, clock: Clock, *,
                  before: Callable[[tenacity.RetryCallState], None] | None = None,
                  reraise: bool = False) -> tenacity.Retrying:
        deadline = clock() + self.timeout

        def stop(state: tenacity.RetryCallState) -> bool:
            return clock() >= deadline or (self.attempts is not None and state.attempt_number >= self.attempts)

        def pause(state: tenacity.RetryCallState) -> float:
            return max(0.0, min(self.pause(state.attempt_number), deadline - clock()))

        return tenacity.Retrying(retry=retry, stop=stop, wait=pause, sleep=sleep or time.sleep, before_sleep=before,
                                 reraise=reraise)


def poll(fn: Callable[[], T], *, timeout: float, interval: float,
         retry_on: tuple[type[BaseException], ...] = (VerificationFailed,),
         sleep: Sleep | None = None, first_interval: float | None = None) -> T:
    """``Wait.poll`` with a pause that starts at ``first_interval`` (default ``interval``/4) and doubles up to
    ``interval``, so a fast system is seen fast. On timeout the last error is re-raised."""
    start = first_interval if first_interval is not None else interval / 4
    return Wait(timeout, start, backoff=2.0, max_interval=interval).poll(fn, retry_on=retry_on, sleep=sleep)


def eventually(check: Callable[[], T], *, within: float, interval: float = 0.2,
               sleep: Sleep | None = None) -> T:
    """Retry a failing check until it passes; on timeout fail with the last observation."""
    try:
        return poll(check, timeout=within, interval=interval, sleep=sleep)
    except VerificationFailed as exc:
        raise VerificationFailed(f"still failing after {within:g} s; last observed: {exc}") from exc
