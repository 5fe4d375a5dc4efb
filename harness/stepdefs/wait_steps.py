"""Waiting steps: retry any block of steps until it passes, or wait a fixed time.

Drivers: 'I wait N seconds'. 'within N seconds:' counts the verifications and actions of its
last attempt's steps (every check inside goes through harness.expect).
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from typing import Any

from behave import register_type, step, use_step_matcher
from behave.parser import parse_steps
from behave.step_registry import registry

from harness import expect
from harness.errors import HarnessError, VerificationFailed
from harness.http import STEP_TYPES, RequestFailed
from harness.waiting import eventually

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
    if context.text is None:
        raise HarnessError("'within N seconds:' needs the steps to retry in a doc string",
                           hint='put one step per line between """ lines below it')
    block, counts = str(context.text), (expect.LEDGER.verifications, expect.LEDGER.actions)
    eventually(lambda: _attempt(context, block, counts), within=seconds)


@step("I wait {seconds:Number} seconds")
def wait(context: Any, seconds: float) -> None:
    """Let time pass (prefer 'within N seconds:' to wait for something to happen).

    Example: When I wait 2 seconds
    """
    expect.drove(f"wait {seconds:g} s")
    time.sleep(seconds)


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
