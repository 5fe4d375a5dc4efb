"""Server-Sent Events: parsing, consuming a local stream, timeouts that say what arrived."""

from __future__ import annotations

import time

import httpx
import pytest

from harness.clients import sse
from harness.clients.http import HttpClient, HttpSettings, Request


def events(*kinds: str) -> list[sse.Event]:
    return [sse.Event(kind, {"i": i}, "") for i, kind in enumerate(kinds)]


def test_parse_follows_the_event_stream_rules() -> None:
    clock = iter([0.0, 0.010, 0.020, 0.030]).__next__
    lines = [": hello", "id: 7", "event: token", "data: {\"a\": 1}", "", "data: line one", "data:line two", "",
             "retry: 10", "event: ignored-without-data", "", "data: x"]  # the last one never completes
    parsed = list(sse.parse(lines, clock))
    assert [(e.kind, e.data, e.id) for e in parsed] == [("token", {"a": 1}, "7"),
                                                         ("message", "line one\nline two", "7")]
    assert parsed[0].at_ms == pytest.approx(10) and parsed[1].at_ms == pytest.approx(20)


def test_consume_reads_every_event_with_arrival_times(base_url: str) -> None:
    with httpx.Client() as client:
        stream = sse.consume(client, "GET", base_url + "/events?gap_ms=20", total=5, idle=2)
    assert stream.finished and stream.ended == sse.CLOSED and stream.status == 200
    assert stream.kinds() == ["job_started", "token", "token", "token", "job_completed"]
    assert all(e.data["job_id"] == "j-1" for e in stream.events)
    times = [e.at_ms for e in stream.events]
    assert times == sorted(times) and times[0] >= 15 and stream.elapsed_ms >= times[-1]
    assert "event: job_started" in stream.body


def test_stop_at_ends_a_stream_the_server_keeps_open(base_url: str) -> None:
    started = time.monotonic()
    with httpx.Client() as client:
        stream = sse.consume(client, "GET", base_url + "/events?hang=1", total=5, idle=5,
                             stop_at=frozenset({"job_completed"}))
    assert stream.ended == sse.STOPPED and stream.finished and time.monotonic() - started < 2


def test_idle_timeout_says_how_many_events_arrived_and_the_last(base_url: str) -> None:
    with httpx.Client() as client:
        stream = sse.consume(client, "GET", base_url + "/events?hang=1&kinds=job_started,token", total=5, idle=0.3)
    assert not stream.finished and stream.ended == sse.IDLE_TIMEOUT
    message = stream.failure()
    assert "ended by idle timeout (no data for 0.3 s)" in message
    assert "2 events arrived (job_started, token)" in message
    assert 'last event: token {"job_id":"j-1","index":1}' in message


def test_total_timeout_stops_a_trickling_stream(base_url: str) -> None:
    started = time.monotonic()
    with httpx.Client() as client:
        stream = sse.consume(client, "GET", base_url + "/events?trickle=1&kinds=job_started", total=0.4, idle=5)
    assert stream.ended == sse.TOTAL_TIMEOUT and time.monotonic() - started < 2
    assert "ended by total timeout (limit 0.4 s)" in stream.failure() and "1 events arrived" in stream.failure()


def test_a_refused_stream_keeps_its_status_and_body(base_url: str) -> None:
    client = HttpClient(lambda service: base_url, settings=HttpSettings(stream_total=5, stream_idle=5))
    stream = client.stream(Request("GET", "/status/401", "web"))
    assert stream.status == 401 and stream.finished and not stream.events
    assert client.last.status == 401 and client.last.json() == {"code": 401}


@pytest.mark.parametrize(("seen", "expected", "difference"), [
    (("a", "b", "b", "c"), ["a", "b", "c"], ""),
    (("a", "b", "b", "c"), ["a", "b", "b", "c"], ""),
    (("a", "b", "d"), ["a", "b", "c"], "expected c at step 3 of the order, got event #3: d {\"i\":2}"),
    (("a", "b"), ["a", "b", "c"], "expected c after b but the stream had no more events"),
    (("a", "b", "b", "c", "x"), ["a", "b", "c"], "after c came unexpected event #5: x {\"i\":4}"),
    ((), ["a"], "expected a but the stream had no more events"),
])
def test_order_difference_says_precisely_what_differs(seen: tuple[str, ...], expected: list[str],
                                                      difference: str) -> None:
    found = sse.order_difference(events(*seen), expected)
    assert found.split("\n")[0] == difference
    if difference:
        assert f"arrived:  {sse.summary(list(seen))}" in found


def test_summary_collapses_repeats() -> None:
    assert sse.summary(["a", "t", "t", "t", "b"]) == "a, t x3, b" and sse.summary([]) == "no events"
