"""harness.waiting.Wait: timeout, backoff, attempts and the message of a wait that ran out, on a fake clock."""

from __future__ import annotations

import math

import pytest

from harness.errors import ConfigError, VerificationFailed, WaitTimeout
from harness.waiting import Wait


class FakeTime:
    """A clock that moves only when something sleeps; every pause is recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_until_returns_the_first_true_result_without_sleeping_after_it() -> None:
    t = FakeTime()
    answers = iter([None, 0, "", "ready"])
    assert Wait(10, 0.5).until(lambda: next(answers), what="x", sleep=t.sleep, clock=t.clock) == "ready"
    assert t.sleeps == [0.5, 0.5, 0.5]


def test_the_pause_grows_by_the_backoff_up_to_max_interval() -> None:
    t = FakeTime()
    calls = iter(range(7))
    Wait(60, 0.1, backoff=2, max_interval=0.5).until(lambda: next(calls) == 6, what="x", sleep=t.sleep, clock=t.clock)
    assert t.sleeps == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5, 0.5])


def test_the_last_attempt_happens_at_the_deadline_not_after_it() -> None:
    t = FakeTime()
    seen: list[float] = []

    def never() -> bool:
        seen.append(t.now - 1000.0)
        return False

    with pytest.raises(WaitTimeout):
        Wait(1.0, 0.4).until(never, what="x", sleep=t.sleep, clock=t.clock)
    assert seen == pytest.approx([0.0, 0.4, 0.8, 1.0])
    assert sum(t.sleeps) == pytest.approx(1.0)


def test_a_timed_out_wait_names_what_it_waited_for_and_the_last_error() -> None:
    t = FakeTime()
    states = iter(["starting", "restarting", "exited"])

    def running() -> bool:
        raise VerificationFailed(f"status {next(states, 'exited')}")

    with pytest.raises(WaitTimeout) as caught:
        Wait(1.0, 0.5).until(running, what="hive-1 to run", retry_on=(VerificationFailed,),
                             hint="`docker logs hive-1`", sleep=t.sleep, clock=t.clock)
    error = caught.value
    assert error.what == "hive-1 to run" and error.waited == pytest.approx(1.0) and error.attempts == 3
    assert "for hive-1 to run" in str(error) and "last observed: VerificationFailed: status exited" in str(error)
    assert error.hint == "`docker logs hive-1`" and isinstance(error.__cause__, VerificationFailed)


def test_a_timed_out_wait_without_errors_shows_the_last_result() -> None:
    t = FakeTime()
    with pytest.raises(WaitTimeout, match=r"for the queue to drain; last observed: \[\]"):
        Wait(0.3, 0.1).until(lambda: [], what="the queue to drain", sleep=t.sleep, clock=t.clock)


def test_an_error_not_retried_ends_the_wait_at_once() -> None:
    t = FakeTime()
    with pytest.raises(KeyError):
        Wait(10, 0.1).until(lambda: {}["x"], what="x", retry_on=(VerificationFailed,), sleep=t.sleep, clock=t.clock)
    assert t.sleeps == []


def test_attempts_limit_a_wait_without_a_deadline() -> None:
    t = FakeTime()
    calls: list[int] = []
    with pytest.raises(WaitTimeout, match="3 attempts"):
        Wait(math.inf, 0.5, backoff=2, attempts=3).until(lambda: calls.append(1), what="x", sleep=t.sleep,
                                                         clock=t.clock)
    assert len(calls) == 3 and t.sleeps == [0.5, 1.0]


def test_poll_reraises_the_last_error_as_it_was() -> None:
    t = FakeTime()
    errors = iter([VerificationFailed("one"), VerificationFailed("two"), VerificationFailed("three")])

    def fn() -> None:
        raise next(errors)

    with pytest.raises(VerificationFailed, match="three"):
        Wait(1.0, 0.5).poll(fn, sleep=t.sleep, clock=t.clock)


def test_poll_retries_what_a_predicate_accepts_and_tells_before_each_pause() -> None:
    t = FakeTime()
    results = iter([RuntimeError("busy"), RuntimeError("busy"), "ok"])
    told: list[tuple[str, int]] = []

    def fn() -> str:
        result = next(results)
        if isinstance(result, Exception):
            raise result
        return result

    answer = Wait(math.inf, 0.2, attempts=5).poll(fn, retry_on=lambda e: "busy" in str(e),
                                                  notify=lambda e, n: told.append((str(e), n)),
                                                  sleep=t.sleep, clock=t.clock)
    assert answer == "ok" and told == [("busy", 1), ("busy", 2)]
    with pytest.raises(RuntimeError, match="denied"):
        Wait(math.inf, 0.2).poll(lambda: (_ for _ in ()).throw(RuntimeError("denied")),
                                 retry_on=lambda e: "busy" in str(e), sleep=t.sleep, clock=t.clock)


def test_with_timeout_changes_only_the_timeout_and_a_bad_wait_is_refused() -> None:
    wait = Wait(30, 0.125, backoff=2, max_interval=0.5)
    assert wait.with_timeout(90) == Wait(90, 0.125, backoff=2, max_interval=0.5)
    with pytest.raises(ConfigError, match="not a wait"):
        wait.with_timeout(-1)
    with pytest.raises(ConfigError):
        Wait(1, 0.1, backoff=0.5)


def test_an_endless_wait_with_backoff_does_not_overflow() -> None:
    assert Wait(math.inf, 0.1, backoff=10, max_interval=2).pause(5000) == 2
