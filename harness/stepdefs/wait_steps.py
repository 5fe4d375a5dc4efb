"""Waiting steps: retry any block of steps until it passes, check that it keeps passing, or wait.

Drivers: 'I wait N seconds'. The block steps ('within N seconds:', 'for N seconds:', 'within N
seconds, for M seconds in a row:') count the verifications and actions of their last attempt's
steps (every check inside goes through harness.expect).
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from typing import Any

from behave import register_type, step, use_step_matcher
from behave.parser import parse_steps
from behave.step_registry import registry

from harness import expect
from harness.clients import transient
from harness.clients.http import STEP_TYPES, RequestFailed
from harness.errors import HarnessError, ServiceDown, VerificationFailed
from harness.waiting import poll

logger = logging.getLogger(__name__)

HOLD_INTERVAL = 0.1  # seconds between the attempts of 'for N seconds:' and '... in a row:'
RETRY_INTERVAL = 0.2  # the longest pause between the attempts of 'within N seconds:' (it starts at a quarter)

use_step_matcher("parse")

EXAMPLE = """
Scenario: after a restart, checks wait for the service to come back
  When queen is restarted
  Then within 30 seconds:
    \"\"\"
    When I send a GET request to "/health" on "queen"
    Then the response status is 200
    \"\"\"
  And for 3 seconds:
    \"\"\"
    When I send a GET request to "/health" on "queen"
    Then the response status is 200
    \"\"\"
"""  # a worked example, shown in docs/steps.md (checked: every step exists)
register_type(**STEP_TYPES)


@step("within {seconds:Number} seconds:")
def within(context: Any, seconds: float) -> None:
    """Run the steps in the doc string again and again until they all pass; report the last failure.

    A failed check is retried, and so is a transient error (refused, reset, timed out, a WebSocket
    handshake answered 502/503/504, a database still starting, a service not running yet) until
    the block's deadline: each client's own timeout is cut to what is left of it. On failure the
    last error and the number of attempts are shown; a service that never came back fails with
    ServiceDown naming it.

    Example: Then within 10 seconds:
                 \"\"\"
                 When I send a GET request to "/v1/workers" on "queen"
                 Then the response JSON at "workers" has 4 items
                 \"\"\"
    """
    tries = Attempts(context, "within N seconds:", seconds)
    try:
        poll(tries.once, timeout=seconds, interval=RETRY_INTERVAL, retry_on=(VerificationFailed, Transient))
    except (VerificationFailed, Transient) as exc:
        raise tries.failed() from exc


@step("for {seconds:Number} seconds:")
def throughout(context: Any, seconds: float) -> None:
    """Run the steps in the doc string again and again for N seconds; fail at the first attempt that fails.

    A failed check fails the block at once. A transient error (refused, reset, timed out, a
    database starting) is retried as in 'within N seconds:' and logged; the block fails with
    ServiceDown when the N seconds end on one.

    Example: Then for 5 seconds:
                 \"\"\"
                 When I send a GET request to "/health" on "queen"
                 Then the response status is 200
                 \"\"\"
    """
    tries = Attempts(context, "for N seconds:", seconds)
    # wait: 'for N seconds:' checks that something keeps holding (fails at the first failure), not a wait until
    while True:
        try:
            tries.once()
        except VerificationFailed as exc:
            raise VerificationFailed(f"held for {tries.elapsed():.1f} s of {seconds:g} s ({tries.count} attempts), "
                                     f"then: {exc}") from exc
        except Transient as exc:
            logger.warning("'for %g seconds:' attempt %d: %s (retried)", seconds, tries.count, exc)
            if tries.left() <= 0:
                raise tries.failed() from exc
        else:
            if tries.left() <= 0:
                return
        time.sleep(HOLD_INTERVAL)


@step("within {seconds:Number} seconds, for {hold:Number} seconds in a row:")
def settles(context: Any, seconds: float, hold: float) -> None:
    """Wait up to N seconds until the steps in the doc string pass on every attempt for M seconds in a row.

    A steady state before a fault: a stack still settling after an earlier scenario passes a
    single check by chance (stale state) but not M seconds of them. A transient error (refused,
    reset, a database starting) breaks the streak like a failed check and is retried until the
    block's deadline.

    Example: Given within 15 seconds, for 2 seconds in a row:
                 \"\"\"
                 When I send a GET request to "/v1/workers" on "hive-1"
                 Then the response JSON at "workers" has 2 items matching {"status": "ready"}
                 \"\"\"
    """
    tries = Attempts(context, "within N seconds, for M seconds in a row:", seconds)
    streak: float | None = None
    longest = 0.0
    # wait: '... in a row:' needs a streak of passes, which Wait.until (one pass ends it) does not express
    while True:
        now = time.monotonic()
        try:
            tries.once()
            streak = now if streak is None else streak
            longest = max(longest, now - streak)
            if now - streak >= hold:
                return
        except (VerificationFailed, Transient):
            streak = None
        if tries.left() <= 0:
            raise tries.failed(f"for {hold:g} s in a row within {seconds:g} s (longest run of passes {longest:.1f} s)")
        time.sleep(HOLD_INTERVAL)


class Transient(Exception):  # noqa: N818 - a signal between an attempt and its block, never shown
    """An attempt ended on a transient error (refused, reset, timed out, starting): worth another one."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        super().__init__(f"{type(error).__name__}: {error}")


class Attempts:
    """A block's attempts at its doc string: how many, the last error, and the deadline bounding clients."""

    def __init__(self, context: Any, phrase: str, seconds: float) -> None:
        self.context, self.phrase, self.seconds = context, phrase, seconds
        self.block, self.counts = _block(context, phrase)
        self.started = time.monotonic()
        self.deadline = self.started + seconds
        self.count = 0
        self.last: BaseException | None = None

    def once(self) -> None:
        """One attempt; raises VerificationFailed (a check failed) or Transient (worth another attempt)."""
        self.count += 1
        try:
            with transient.deadline(self.deadline):
                _attempt(self.context, self.block, self.counts)
        except VerificationFailed as exc:
            self.last = exc
            raise
        except Exception as exc:
            if not transient.is_transient(exc):
                raise
            self.last = exc
            _refresh_addresses(self.context)  # a restarted container may publish its port elsewhere
            raise Transient(exc) from exc

    def elapsed(self) -> float:
        """Seconds since the block began."""
        return time.monotonic() - self.started

    def left(self) -> float:
        """Seconds until the block's deadline."""
        return self.deadline - time.monotonic()

    def failed(self, observed: str = "") -> VerificationFailed:
        """The block's failure: ServiceDown when its last attempt hit a transient error, else the last check."""
        last = self.last
        if last is not None and not isinstance(last, VerificationFailed):
            return ServiceDown(service=_service_of(last), attempts=self.count, seconds=self.seconds,
                               last=f"{type(last).__name__}: {str(last).split(chr(10) + 'Hint: ')[0]}",
                               block=self.phrase, observed=observed)
        if observed:
            return VerificationFailed(f"did not pass {observed} in {self.count} attempts; last failure: {last}")
        return VerificationFailed(f"still failing after {self.seconds:g} s ({self.count} attempts); "
                                  f"last observed: {last}")


@step("I wait {seconds:Number} seconds")
def wait(context: Any, seconds: float) -> None:
    """Let time pass (prefer 'within N seconds:' to wait for something to happen).

    Example: When I wait 2 seconds
    """
    expect.drove(f"wait {seconds:g} s")
    time.sleep(seconds)


def _block(context: Any, phrase: str) -> tuple[str, tuple[int, int]]:
    """The doc string's steps and the ledger's counts before them (only the last attempt counts)."""
    if context.text is None:
        raise HarnessError(f"'{phrase}' needs the steps to retry in a doc string",
                           hint='put one step per line between """ lines below it')
    return str(context.text), (expect.LEDGER.verifications, expect.LEDGER.actions)


def _refresh_addresses(context: Any) -> None:
    """Observe the scenario's containers again (best effort: a missing engine shows in the next attempt)."""
    env = context.harness.current_env
    if env is None:
        return
    try:
        env.refresh()
    except HarnessError as exc:
        logger.info("could not refresh the containers' addresses: %s", exc)


def _service_of(exc: BaseException) -> str:
    """The service an error names (``service`` of it or of what caused it), else ""."""
    current: BaseException | None = exc
    for _ in range(transient.CHAIN_LIMIT):
        if current is None:
            break
        service = getattr(current, "service", "")
        if isinstance(service, str) and service:
            return service
        current = current.__cause__ or current.__context__
    return ""


def _attempt(context: Any, block: str, counts: tuple[int, int]) -> None:
    """Run every step of ``block`` once; a failing check (or a request answered by no HTTP, not transient)
    becomes VerificationFailed; a transient error is raised as it is, for the block to classify.

    Not context.execute_steps: it runs the step hooks, which would hand the sub-steps' counts to
    the sub-steps and leave this step looking hollow. So: behave's registry, matched directly.
    """
    expect.LEDGER.verifications, expect.LEDGER.actions = counts  # only the last attempt counts
    runner = getattr(context, "_runner", None)  # behave main() swaps the module-level registry
    steps = runner.step_registry if runner is not None else registry
    behave_mode = getattr(context, "_use_with_behave_mode", nullcontext)  # text/table are behave's
    outer = (context.text, context.table)
    try:
        for sub in parse_steps(block):
            match = steps.find_match(sub)
            if match is None:
                raise HarnessError(f"undefined step in the 'within' block: {sub.keyword} {sub.name}",
                                   hint="`harness steps` lists the step vocabulary")
            with behave_mode():
                context.text, context.table = sub.text, sub.table
            try:
                match.run(context)
            except AssertionError as exc:
                raise VerificationFailed(f"{sub.keyword} {sub.name}: {exc}") from exc
            except RequestFailed as exc:
                if transient.is_transient(exc):
                    raise
                raise VerificationFailed(f"{sub.keyword} {sub.name}: {exc}") from exc
    finally:
        with behave_mode():
            context.text, context.table = outer
