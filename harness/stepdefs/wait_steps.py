"""Waiting steps: retry any block of steps until it passes, check that it keeps passing, or wait.

Drivers: 'I wait N seconds'. The block steps ('within N seconds:', 'for N seconds:', 'within N
seconds, for M seconds in a row:') count the verifications and actions of their last attempt's
steps (every check inside goes through harness.expect).
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from typing import Any

from behave import register_type, step, use_step_matcher
from behave.parser import parse_steps
from behave.step_registry import registry

from harness import expect
from harness.clients.http import STEP_TYPES, RequestFailed
from harness.errors import HarnessError, VerificationFailed
from harness.waiting import eventually

HOLD_INTERVAL = 0.1  # seconds between the attempts of 'for N seconds:' and '... in a row:'

use_step_matcher("parse")
register_type(**STEP_TYPES)


@step("within {seconds:Number} seconds:")
def within(context: Any, seconds: float) -> None:
    """Run the steps in the doc string again and again until they all pass; report the last failure.

    Example: Then within 10 seconds:
                 \"\"\"
                 When I send a GET request to "/v1/workers" on "queen"
                 Then the response JSON at "workers" has 4 items
                 \"\"\"
    """
    block, counts = _block(context, "within N seconds:")
    eventually(lambda: _attempt(context, block, counts), within=seconds)


@step("for {seconds:Number} seconds:")
def throughout(context: Any, seconds: float) -> None:
    """Run the steps in the doc string again and again for N seconds; fail at the first attempt that fails.

    Example: Then for 5 seconds:
                 \"\"\"
                 When I send a GET request to "/health" on "queen"
                 Then the response status is 200
                 \"\"\"
    """
    block, counts = _block(context, "for N seconds:")
    started = time.monotonic()
    # wait: 'for N seconds:' checks that something keeps holding (fails at the first failure), not a wait until
    while True:
        try:
            _attempt(context, block, counts)
        except VerificationFailed as exc:
            raise VerificationFailed(f"held for {time.monotonic() - started:.1f} s of {seconds:g} s, "
                                     f"then: {exc}") from exc
        if time.monotonic() - started >= seconds:
            return
        time.sleep(HOLD_INTERVAL)


@step("within {seconds:Number} seconds, for {hold:Number} seconds in a row:")
def settles(context: Any, seconds: float, hold: float) -> None:
    """Wait up to N seconds until the steps in the doc string pass on every attempt for M seconds in a row.

    A steady state before a fault: a stack still settling after an earlier scenario passes a
    single check by chance (stale state) but not M seconds of them.

    Example: Given within 15 seconds, for 2 seconds in a row:
                 \"\"\"
                 When I send a GET request to "/v1/workers" on "hive-1"
                 Then the response JSON at "workers" has 2 items matching {"status": "ready"}
                 \"\"\"
    """
    block, counts = _block(context, "within N seconds, for M seconds in a row:")
    deadline = time.monotonic() + seconds
    streak: float | None = None
    longest, last = 0.0, "never tried"
    # wait: '... in a row:' needs a streak of passes, which Wait.until (one pass ends it) does not express
    while True:
        now = time.monotonic()
        try:
            _attempt(context, block, counts)
            streak = now if streak is None else streak
            longest = max(longest, now - streak)
            if now - streak >= hold:
                return
        except VerificationFailed as exc:
            streak, last = None, str(exc)
        if now >= deadline:
            raise VerificationFailed(f"did not pass for {hold:g} s in a row within {seconds:g} s (longest run of "
                                     f"passes {longest:.1f} s); last failure: {last}")
        time.sleep(HOLD_INTERVAL)


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


def _attempt(context: Any, block: str, counts: tuple[int, int]) -> None:
    """Run every step of ``block`` once; a failing check or a request without answer is retried.

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
            except (AssertionError, RequestFailed) as exc:
                raise VerificationFailed(f"{sub.keyword} {sub.name}: {exc}") from exc
    finally:
        with behave_mode():
            context.text, context.table = outer
