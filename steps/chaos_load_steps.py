"""Checks that chaos scenarios need beyond the load and environment steps.

    Then the p99 latency is at least 300 ms            (of the scenario's latest load run)
    Then the p50 latency rose by at least 250 ms over the previous run
    Then the logs of service "hive-1" contain "registry_unreadable" exactly 1 times

Every step here verifies through harness.expect.
"""

from __future__ import annotations

from typing import Any

from behave import register_type, step, use_step_matcher
from parse import with_pattern

from harness import expect
from harness.http import STEP_TYPES
from harness.load.scenario import load_state

use_step_matcher("parse")


@with_pattern(r"p50|p90|p95|p99\.9|p99|max")
def _percentile(text: str) -> str:
    return text


@with_pattern(r".+")
def _log_text(text: str) -> str:
    return text


register_type(**STEP_TYPES, ChaosPercentile=_percentile, LogText=_log_text)


@step("the {name:ChaosPercentile} latency is at least {ms:Number} ms")
def latency_at_least(context: Any, name: str, ms: float) -> None:
    """Check that a latency percentile of the latest load run reached MS (e.g. after adding latency).

    Example: Then the p99 latency is at least 300 ms
    """
    result = load_state(context.harness).last()
    values = result.percentiles()
    expect.that(result.count > 0 and name in values, f"no {name} in the last load run: {values}")
    value = values[name] * 1e3
    expect.that(value >= ms, f"{name} latency is {value:.1f} ms, below {ms:g} ms\n{result.format_table()}")


@step("the {name:ChaosPercentile} latency rose by at least {ms:Number} ms over the previous run")
def latency_rose(context: Any, name: str, ms: float) -> None:
    """Compare a latency percentile of the scenario's last two load runs (e.g. before and after a fault).

    Example: Then the p50 latency rose by at least 250 ms over the previous run
    """
    runs = load_state(context.harness).results
    expect.that(len(runs) >= 2, f"{len(runs)} load run(s) in this scenario; comparing needs two")
    before, after = (run.percentiles()[name] * 1e3 for run in runs[-2:])
    expect.that(after - before >= ms, f"{name} latency went from {before:.1f} ms to {after:.1f} ms, "
                                      f"a rise of {after - before:.1f} ms, not {ms:g} ms\n"
                                      f"{runs[-2].format_table()}\n{runs[-1].format_table()}")


@step('the logs of service "{service:Quoted}" contain "{text:LogText}" exactly {count:d} times')
def logs_count(context: Any, service: str, text: str, count: int) -> None:
    """Check how many log lines of SERVICE (every replica, all runs of the container) contain TEXT.

    Example: Then the logs of service "hive-1" contain "registry_unreadable" exactly 1 times
    """
    fill = context.harness.interpolate
    service, text = fill(service), fill(text)
    lines = [line for line in context.harness.env.logs(service, tail=None).splitlines() if text in line]
    expect.that(len(lines) == count, f"{len(lines)} log lines of {service!r} contain {text!r}, "
                                     f"expected {count}:\n" + "\n".join(lines[-10:]))
