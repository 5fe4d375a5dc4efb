"""History bookkeeping and the lost / duplicated / slow job checkers."""

from __future__ import annotations

import pytest

from harness.errors import LoadError
from harness.load import History, Operation, completes_within, no_duplicate_ids, no_lost_jobs


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _history(*outcomes: tuple[str, str | None]) -> History:
    history = History(clock=FakeClock())
    for process, (outcome, job_id) in enumerate(outcomes):
        handle = history.invoke(process)
        history.complete(handle, outcome, job_id=job_id)  # type: ignore[arg-type]
    return history


def test_invoke_then_complete_records_times_and_outcome() -> None:
    history = History(clock=FakeClock())
    handle = history.invoke(7, "submit")
    op = history.complete(handle, "ok", job_id="j1")
    assert op == Operation(7, "submit", 1001.0, 1002.0, "ok", "j1", None)
    assert history.counts() == {"ok": 1, "fail": 0, "info": 0}


def test_pending_operations_count_as_indeterminate() -> None:
    history = History(clock=FakeClock())
    history.invoke(1)
    assert [op.outcome for op in history.operations()] == ["info"]
    assert len(history) == 1


def test_completing_twice_is_a_load_error() -> None:
    history = History(clock=FakeClock())
    handle = history.invoke(1)
    history.complete(handle, "fail", error="refused")
    with pytest.raises(LoadError, match="Hint:"):
        history.complete(handle, "ok")


def test_unknown_outcome_is_a_load_error() -> None:
    history = History(clock=FakeClock())
    with pytest.raises(LoadError):
        history.complete(history.invoke(1), "maybe")  # type: ignore[arg-type]


def test_events_are_jepsen_style_invoke_then_completion() -> None:
    events = _history(("ok", "j1"), ("info", None)).events()
    assert [(e["process"], e["type"]) for e in events] == [(0, "invoke"), (0, "ok"), (1, "invoke"),
                                                           (1, "info")]
    assert events[1]["value"] == "j1"


def test_no_lost_jobs_passes_when_every_ack_is_found() -> None:
    history = _history(("ok", "j1"), ("ok", "j2"), ("fail", None), ("info", None))
    check = no_lost_jobs(history, lambda job_id: job_id in {"j1", "j2"})
    assert check.valid and check.checked == 2


def test_no_lost_jobs_names_the_missing_job() -> None:
    history = _history(("ok", "j1"), ("ok", "j2"))
    check = no_lost_jobs(history, lambda job_id: job_id == "j1")
    assert not check.valid
    assert "j2" in check.message() and "INVALID" in check.message()


def test_unacknowledged_jobs_may_be_missing() -> None:
    # fail and info operations promised nothing: their absence is not a loss.
    history = _history(("fail", None), ("info", None))
    assert no_lost_jobs(history, lambda _: False).valid


def test_duplicate_ids_are_found() -> None:
    assert no_duplicate_ids(_history(("ok", "a"), ("ok", "b"))).valid
    check = no_duplicate_ids(_history(("ok", "a"), ("ok", "b"), ("ok", "a")))
    assert not check.valid and check.problems == ("job id a returned 2 times",)


def test_completes_within_flags_slow_and_never_completed_jobs() -> None:
    history = _history(("ok", "fast"), ("ok", "slow"), ("ok", "never"))
    acked = {op.job_id: op.completed for op in history.acknowledged()}
    done = {"fast": acked["fast"] + 1.0, "slow": acked["slow"] + 30.0}
    check = completes_within(history, done.get, within=5.0)
    assert not check.valid
    assert len(check.problems) == 2
    assert any("job slow sent at" in p and "completed 31.000s later (bound 5s)" in p for p in check.problems)
    assert any("job never accepted at" in p and "never completed" in p for p in check.problems)
    assert completes_within(history, lambda _: acked["fast"] + 1.0, within=100.0).valid


def test_completes_within_counts_from_the_send_not_the_acknowledgement() -> None:
    """A sync request answered when its job finished would always meet a bound counted from the answer."""
    history = History([Operation(0, "submit", 100.0, 108.0, "ok", "j1")])
    assert not completes_within(history, lambda _: 108.0, within=5.0).valid
    assert completes_within(history, lambda _: 104.0, within=5.0).valid


def test_a_lost_job_names_what_was_last_seen_of_it() -> None:
    history = History([Operation(0, "submit", 100.0, 100.5, "ok", "job-7")])
    check = completes_within(history, lambda _: None, within=5.0, seen=lambda _: "state 'running'")
    assert check.problems == ("job job-7 accepted at 00:01:40.000 never completed (last seen: state 'running')",)
    lost = no_lost_jobs(history, lambda _: False, lambda _: "HTTP 404")
    assert lost.problems == ("job job-7 accepted at 00:01:40.500 never completed (last seen: HTTP 404)",)


def test_message_lists_at_most_limit_problems() -> None:
    history = _history(*[("ok", "x")] * 30)
    message = no_duplicate_ids(history).message(limit=3)
    assert "returned 30 times" in message


def test_the_queued_bound_is_the_baseline_times_the_rounds_plus_the_margin() -> None:
    from harness.load.checks import queued_bound

    assert queued_bound(0.05, 100, 16, 500) == pytest.approx(0.05 * 7 + 0.5)
    assert queued_bound(0.05, 16, 16, 0) == pytest.approx(0.05)
    assert queued_bound(0.05, 17, 16, 0) == pytest.approx(0.10)
