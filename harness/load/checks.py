"""Checks on a load run, each through ``harness.expect`` with what was seen and a Hint.

A check never passes on nothing: a run with no completed request, no ids or no streamed
events fails and says why, so a misconfigured target cannot pass silently.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from harness import expect
from harness.errors import VerificationFailed
from harness.load.history import CheckResult, completes_within, no_duplicate_ids, no_lost_jobs
from harness.load.lookup import JobState, is_final
from harness.load.memory import growth
from harness.load.results import LoadResult, named
from harness.load.target import JobLookup

PERCENTILE_NAMES = ("min", "p50", "p90", "p95", "p99", "p99.9", "max")


def describe(result: LoadResult) -> str:
    """One line: requests, success, throughput, statuses, errors; and the machine, when it was starved."""
    line = (f"{result.count} requests in {result.elapsed:.2f} s ({result.throughput:.1f}/s), "
            f"{result.success_rate * 100:.2f}% ok; statuses {result.status_counts}; "
            f"errors {result.error_counts or 'none'}")
    return line + starved_note(result)


def starved_note(result: LoadResult) -> str:
    """A line saying the machine was starved during the run ("" when it was not). The check still fails."""
    why = result.starved
    return (f"\nthe machine was starved during this load run: {why}. The numbers are the machine's as much "
            "as the product's; rerun on a quiet machine before filing a product defect" if why else "")


def ran(result: LoadResult) -> None:
    """The run completed at least one request."""
    expect.that(result.count > 0, f"the load run completed no request: {describe(result)}\n"
                                  "Hint: check the target URL and that the environment is up")


def success_at_least(result: LoadResult, percent: float) -> None:
    """At least PERCENT % of the completed requests succeeded."""
    ran(result)
    expect.that(result.success_rate * 100 >= percent,
                f"{result.success_rate * 100:.2f}% of the requests succeeded, below {percent:g}%: "
                f"{describe(result)}\nHint: 202 means accepted but not finished (not a success unless the "
                "scenario says so), 429 the rate limit, 503 a full queue; errors 'timeout'/'connect failed' "
                "mean no answer")


def latency_below(result: LoadResult, name: str, ms: float) -> None:
    """The latency percentile NAME (p50 ... max) is below MS milliseconds."""
    ran(result)
    value = _percentile(result.percentiles(), name) * 1e3
    expect.that(value < ms, f"{name} latency is {value:.1f} ms, not below {ms:g} ms\n"
                            f"{result.format_table()}\n{describe(result)}")


def queued_bound(baseline: float, requests: int, slots: int, margin_ms: float) -> float:
    """Seconds the last of REQUESTS sent at once may take on SLOTS slots: baseline x ceil(N / slots) + margin."""
    return baseline * math.ceil(requests / max(slots, 1)) + margin_ms / 1e3


def in_flight(result: LoadResult) -> int:
    """Requests in flight at once in a closed-loop run: at most one per client."""
    return min(result.count, result.users)


def _baseline(baseline: float | None) -> float:
    expect.that(baseline is not None, "no baseline was measured in this scenario\n"
                                      "Hint: When a single request is timed 5 times as the baseline")
    return baseline or 0.0


def latency_within_baseline(result: LoadResult, name: str, baseline: float | None, slots: int,
                            margin_ms: float) -> float:
    """The percentile NAME of a closed-loop run is below the queued bound derived from the baseline.

    At most one request per client is in flight, so the last one waits behind ceil(clients / SLOTS)
    rounds of single-request work: baseline x ceil(min(requests, clients) / SLOTS) + margin.
    """
    single = _baseline(baseline)
    ran(result)
    expect.that(result.mode == "closed", f"the queued bound is for clients sending at once; the last run was "
                                         f"{result.mode}-loop at {result.rate or 0:g}/s\nHint: for a rate use "
                                         "'the p99 latency is within 2 times the baseline plus 50 ms'")
    concurrent = in_flight(result)
    bound = queued_bound(single, concurrent, slots, margin_ms)
    value = _percentile(result.percentiles(), name)
    expect.that(value < bound, f"{name} latency is {value * 1e3:.1f} ms, not below {bound * 1e3:.1f} ms "
                               f"(baseline {single * 1e3:.1f} ms x ceil({concurrent} in flight / "
                               f"{slots} slots) + {margin_ms:g} ms)\n{result.format_table()}\n{describe(result)}")
    return bound


def latency_within_multiple(result: LoadResult, name: str, baseline: float | None, factor: float,
                            margin_ms: float) -> float:
    """The percentile NAME is below FACTOR x the scenario's baseline + MARGIN (a rate the stack keeps up with)."""
    single = _baseline(baseline)
    ran(result)
    bound = single * factor + margin_ms / 1e3
    value = _percentile(result.percentiles(), name)
    expect.that(value < bound, f"{name} latency is {value * 1e3:.1f} ms, not below {bound * 1e3:.1f} ms "
                               f"({factor:g} x baseline {single * 1e3:.1f} ms + {margin_ms:g} ms)\n"
                               f"{result.format_table()}\n{describe(result)}")
    return bound


def first_event_below(result: LoadResult, name: str, ms: float) -> None:
    """The time-to-first-event percentile NAME of streamed requests is below MS milliseconds."""
    value = _first_event(result, name)
    expect.that(value < ms / 1e3, f"{name} time to first event is {value * 1e3:.1f} ms, not below {ms:g} ms "
                                  f"(over {result.ttfe_histogram.count} streams){starved_note(result)}")


def first_event_within_multiple(result: LoadResult, name: str, baseline: float | None, factor: float,
                                margin_ms: float) -> float:
    """The time-to-first-event percentile NAME is below FACTOR x the baseline (a whole request) + MARGIN.

    With a factor below 1 this catches a stream that is buffered until the end (first event = last).
    """
    single = _baseline(baseline)
    value = _first_event(result, name)
    bound = single * factor + margin_ms / 1e3
    expect.that(value < bound, f"{name} time to first event is {value * 1e3:.1f} ms, not below "
                               f"{bound * 1e3:.1f} ms ({factor:g} x baseline {single * 1e3:.1f} ms + {margin_ms:g} ms, "
                               f"over {result.ttfe_histogram.count} streams){starved_note(result)}\n"
                               "Hint: a first event as late as "
                               "the whole request means the stream is buffered (a proxy or the server)")
    return bound


def _first_event(result: LoadResult, name: str) -> float:
    histogram = result.ttfe_histogram
    expect.that(histogram.count > 0, f"no streamed request got an event: {describe(result)}\n"
                                     "Hint: stream the requests ('each stream N ... requests')")
    return _percentile(named(histogram), name)


def throughput_at_least(result: LoadResult, rate: float) -> None:
    """The run completed at least RATE requests per second."""
    ran(result)
    expect.that(result.throughput >= rate,
                f"throughput {result.throughput:.1f}/s is below {rate:g}/s: {describe(result)}")


def took_less_than(result: LoadResult, seconds: float) -> None:
    """Every request of the run was done within SECONDS of its start."""
    ran(result)
    expect.that(result.elapsed < seconds,
                f"the load run took {result.elapsed:.2f} s, not less than {seconds:g} s: {describe(result)}")


def ids_unique(result: LoadResult) -> CheckResult:
    """No job id came back twice (and some ids came back at all)."""
    check = no_duplicate_ids(result.history())
    expect.that(check.checked > 0, f"no job ids were recorded: {describe(result)}\n"
                                   "Hint: the target needs an id key (streamed requests record none)")
    expect.that(check.valid, check.message())
    return check


def jobs_complete(result: LoadResult, states: Mapping[str, JobState], lookup: JobLookup,
                  within: float | None = None) -> CheckResult:
    """Every acknowledged job is found in state ``lookup.done`` (and finished within WITHIN s)."""
    history = result.history()
    expect.that(len(history.acknowledged()) > 0,
                f"no job was acknowledged with an id: {describe(result)}\n"
                "Hint: the target needs an id key, and some requests must succeed")

    def done(job_id: str) -> bool:
        state = states.get(job_id)
        return state is not None and state.state == lookup.done

    def seen(job_id: str) -> str:
        state = states.get(job_id)
        return "not looked up" if state is None else f"HTTP {state.status} state {state.state!r} {state.excerpt[:160]}"

    if within is None:
        check = no_lost_jobs(history, done, seen)
    else:
        check = completes_within(history, lambda job_id: _finished(states.get(job_id), lookup), within, seen)
    expect.that(check.valid, check.message() + f"\nrequests: {describe(result)}")
    return check


def share_completes_within(result: LoadResult, states: Mapping[str, JobState], lookup: JobLookup,
                           percent: float, within: float) -> CheckResult:
    """At least PERCENT % of the acknowledged jobs completed within WITHIN s of their send; none left unfinished."""
    history = result.history()
    acked = len(history.acknowledged())
    expect.that(acked > 0, f"no job was acknowledged with an id: {describe(result)}\n"
                           "Hint: the target needs an id key, and some requests must succeed")
    check = completes_within(history, lambda job_id: _finished(states.get(job_id), lookup), within,
                             lambda job_id: states[job_id].describe() if job_id in states else "not looked up")
    done = acked - len(check.problems)
    unfinished = [s.describe() for s in states.values() if not is_final(s, lookup)]
    expect.that(done * 100 >= percent * acked and not unfinished,
                f"{done} of {acked} accepted jobs ({done * 100 / acked:.1f}%) completed within {within:g}s of "
                f"their request (at least {percent:g}% must), {len(unfinished)} never reached a final state\n"
                f"{check.message()}\nrequests: {describe(result)}")
    return check


def memory_growth_at_most(before: Mapping[str, float], after: Mapping[str, float], mb: float,
                          label: str) -> dict[str, float]:
    """No container grew by more than MB megabytes between two snapshots (and some were compared)."""
    grown = growth(before, after)
    expect.that(len(grown) > 0, f"no container is in both memory snapshots (since {label!r}: "
                                f"{sorted(before)}; now: {sorted(after)})")
    over = {name: delta for name, delta in grown.items() if delta > mb}
    table = ", ".join(f"{name} {before[name]:.1f}->{after[name]:.1f} MB" for name in sorted(grown))
    expect.that(not over, f"memory grew by more than {mb:g} MB since {label!r}: {over}\nall: {table}")
    return grown


def _finished(state: JobState | None, lookup: JobLookup) -> float | None:
    if state is None or state.state != lookup.done:
        return None
    return state.finished


def _percentile(values: Mapping[str, float], name: str) -> float:
    if name not in values:
        raise VerificationFailed(f"unknown percentile {name!r}; use one of {', '.join(PERCENTILE_NAMES)}")
    return values[name]
