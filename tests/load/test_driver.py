"""The driver against a local aiohttp server on 127.0.0.1 (no Docker).

Tolerances are wide on purpose: these run on a loaded 2-core machine.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from harness.errors import LoadError
from harness.load import RequestSpec, closed_loop, no_duplicate_ids, run_closed, run_open


def test_closed_loop_sends_exactly_users_times_requests(server: str) -> None:
    result = run_closed(RequestSpec(server + "/health"), users=4, requests_per_user=25)
    assert result.count == 100
    assert result.ok_count == 100 and result.success_rate == 1.0
    assert result.status_counts == {200: 100}
    assert Counter(r.user for r in result.records()) == {0: 25, 1: 25, 2: 25, 3: 25}
    assert sorted(r.seq for r in result.records()) == list(range(100))
    assert result.throughput > 0
    assert result.mode == "closed" and result.users == 4


def test_closed_loop_for_a_duration_with_think_time_stops_by_itself(server: str) -> None:
    started = time.monotonic()
    result = run_closed(RequestSpec(server + "/health"), users=2, duration=0.5, think_time=0.05)
    took = time.monotonic() - started
    assert took < 3.0
    # 2 users x 0.5 s / (0.05 s think + a little) is at most 20 requests, at least a few.
    assert 4 <= result.count <= 22


def test_think_time_may_be_a_callable_per_user(server: str) -> None:
    seen: list[int] = []

    def think(user: int) -> float:
        seen.append(user)
        return 0.0

    result = run_closed(RequestSpec(server + "/health"), users=3, requests_per_user=2, think_time=think)
    assert result.count == 6 and sorted(set(seen)) == [0, 1, 2]


def test_headers_and_body_callables_are_called_per_request(server: str) -> None:
    spec = RequestSpec(server + "/echo", method="POST",
                       headers=lambda user, seq: {"Authorization": f"Bearer token-{user}"},
                       json=lambda user, seq: {"prompt": f"p{seq}"}, id_key="seen.auth")
    result = run_closed(spec, users=3, requests_per_user=4)
    assert result.success_rate == 1.0
    by_user = {r.user: r.job_id for r in result.records()}
    assert by_user == {0: "Bearer token-0", 1: "Bearer token-1", 2: "Bearer token-2"}


def test_static_json_body_is_sent(server: str) -> None:
    spec = RequestSpec(server + "/echo", method="POST", json={"prompt": "same"}, id_key="seen.body.prompt")
    result = run_closed(spec, users=1, requests_per_user=3)
    assert result.ids == ["same"] * 3


def test_job_ids_are_taken_from_the_response_and_feed_the_history(server: str) -> None:
    result = run_closed(RequestSpec(server + "/jobs", method="POST", id_key="job_id",
                                    ok=lambda status: status == 201), users=5, requests_per_user=20)
    assert result.success_rate == 1.0
    assert len(result.ids) == 100 and len(set(result.ids)) == 100
    history = result.history()
    assert history.counts() == {"ok": 100, "fail": 0, "info": 0}
    assert no_duplicate_ids(history).valid
    first = history.operations()[0]
    assert abs(first.invoked - time.time()) < 60  # wall-clock times, comparable with the system's


def test_duplicated_ids_are_caught_by_the_checker(server: str) -> None:
    result = run_closed(RequestSpec(server + "/same-job", method="POST", id_key="job_id"),
                        users=2, requests_per_user=2)
    check = no_duplicate_ids(result.history())
    assert not check.valid


def test_missing_id_key_is_noted_not_fatal(server: str) -> None:
    result = run_closed(RequestSpec(server + "/health", id_key="job_id"), users=1, requests_per_user=2)
    assert result.ok_count == 2 and result.ids == []
    assert result.error_counts == {"no 'job_id' in the response": 2}


def test_connection_refused_is_counted_as_failure_not_a_crash(closed_port: int) -> None:
    result = run_closed(RequestSpec(f"http://127.0.0.1:{closed_port}/x"), users=3, requests_per_user=5)
    assert result.count == 15
    assert result.outcomes == {"ok": 0, "fail": 15, "info": 0}
    assert result.status_counts == {0: 15}
    assert result.error_counts == {"connect failed: ConnectionRefusedError": 15}
    assert result.success_rate == 0.0


def test_error_statuses_are_failures(server: str) -> None:
    result = run_closed(RequestSpec(server + "/status/503"), users=2, requests_per_user=5)
    assert result.outcomes["fail"] == 10 and result.status_counts == {503: 10}


def test_timeout_is_indeterminate(server: str) -> None:
    result = run_closed(RequestSpec(server + "/slow?delay=2", timeout=0.2), users=2, requests_per_user=1)
    assert result.outcomes == {"ok": 0, "fail": 0, "info": 2}
    assert result.error_counts == {"timeout": 2}
    assert all(0.15 < r.latency < 1.5 for r in result.records())


def test_connection_reset_after_sending_is_indeterminate(server: str) -> None:
    result = run_closed(RequestSpec(server + "/reset", method="POST", json={"x": 1}), users=1,
                        requests_per_user=3)
    assert result.outcomes["info"] == 3, result.error_counts


def test_sse_time_to_first_event(server: str) -> None:
    spec = RequestSpec(server + "/sse?first=0.2&then=0.15", stream=True)
    result = run_closed(spec, users=2, requests_per_user=2)
    assert result.success_rate == 1.0
    for record in result.records():
        ttfe = record.time_to_first_event
        assert ttfe is not None and 0.18 <= ttfe <= 1.0
        assert record.latency >= ttfe + 0.12  # the stream went on after the first event
    assert result.ttfe_histogram.count == 4
    assert result.summary()["ttfe_ms"]["p50"] >= 180


def test_open_loop_keeps_schedule_and_latency_includes_server_queueing(server: str) -> None:
    # The server serves one request at a time, 20 ms each (50/s); we offer 100/s for 1 s.
    result = run_open(RequestSpec(server + "/serial?delay=0.02"), rate=100, count=100, max_in_flight=128)
    records = sorted(result.records(), key=lambda r: r.seq)
    assert result.count == 100 and result.success_rate == 1.0
    assert [r.intended for r in records] == pytest.approx([i / 100 for i in range(100)])
    lateness = sorted(r.start - r.intended for r in records)
    assert lateness[94] < 0.1, "sends fell off the schedule"
    # The last requests waited behind ~50 others: ~1 s of queueing, counted in their latency.
    assert result.histogram.max > 0.6
    assert records[-1].latency > records[0].latency + 0.4


def test_open_loop_counts_from_intended_time_when_the_driver_falls_behind(server: str) -> None:
    # One request in flight at a time against 20 ms responses: the driver cannot keep 100/s,
    # and a coordinated-omission tool would report ~20 ms. We must report the waiting.
    result = run_open(RequestSpec(server + "/slow?delay=0.02"), rate=100, count=50, max_in_flight=1)
    assert result.count == 50
    assert result.service_histogram.percentile(50) < 0.2
    assert result.histogram.percentile(99) > 0.3
    assert result.histogram.percentile(99) > 3 * result.service_histogram.percentile(99)


def test_open_loop_duration_plans_rate_times_duration(server: str) -> None:
    result = run_open(RequestSpec(server + "/health"), rate=200, duration=0.5)
    assert result.planned == 100 and result.count == 100 and result.unsent == 0
    assert 0.45 < result.elapsed < 2.0
    assert result.mode == "open" and result.rate == 200


def test_open_loop_hard_stop_cancels_stalled_requests(server: str) -> None:
    started = time.monotonic()
    result = run_open(RequestSpec(server + "/slow?delay=5", timeout=0.3), rate=20, duration=0.2,
                      max_in_flight=2)
    assert time.monotonic() - started < 4.0
    assert result.outcomes["ok"] == 0 and result.count + result.unsent == result.planned


def test_timeline_has_one_row_per_second(server: str) -> None:
    result = run_open(RequestSpec(server + "/health"), rate=100, duration=1.5)
    assert len(result.timeline) in (2, 3)
    assert sum(second.completed for second in result.timeline) == result.count


def test_unbounded_run_is_refused(server: str) -> None:
    with pytest.raises(LoadError, match="needs a bound"):
        run_closed(RequestSpec(server + "/health"), users=1)


@pytest.mark.parametrize("url", ["http://10.1.2.3/", "http://8.8.8.8/", "http://example.com/",
                                 "ftp://127.0.0.1/"])
def test_targets_outside_loopback_are_refused(url: str) -> None:
    with pytest.raises(LoadError, match="Hint:"):
        run_closed(RequestSpec(url), users=1, requests_per_user=1)


def test_calling_the_sync_entry_point_inside_a_loop_is_a_load_error(server: str) -> None:
    async def inside() -> None:
        run_closed(RequestSpec(server + "/health"), users=1, requests_per_user=1)

    with pytest.raises(LoadError, match="await closed_loop"):
        asyncio.run(inside())


def test_async_entry_point_works_inside_a_loop(server: str) -> None:
    result = asyncio.run(closed_loop(RequestSpec(server + "/health"), users=2, requests_per_user=3))
    assert result.count == 6


def test_a_crashing_body_callable_is_a_load_error(server: str) -> None:
    def broken(user: int, seq: int) -> object:
        raise ValueError("boom")

    with pytest.raises(LoadError, match="crashed"):
        run_closed(RequestSpec(server + "/echo", method="POST", json=broken), users=2, duration=5)


def test_standard_event_loop_works_without_uvloop(server: str) -> None:
    result = run_closed(RequestSpec(server + "/health"), users=2, requests_per_user=5, use_uvloop=False)
    assert result.count == 10 and result.loop == "asyncio"


def test_uvloop_is_used_when_installed_and_asked_for(server: str) -> None:
    pytest.importorskip("uvloop")
    result = run_closed(RequestSpec(server + "/health"), users=2, requests_per_user=5, use_uvloop=True)
    assert result.count == 10 and result.loop == "uvloop"
