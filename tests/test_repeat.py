"""Requests sent N times and what their answers share (harness.clients.repeat); a mock transport, no network."""

from __future__ import annotations

import threading

import httpx
import pytest

from harness.clients import repeat
from harness.clients.http import HttpClient, Request
from harness.errors import HarnessError

STREAM = ('event: download_started\ndata: {{"download_id": "{id}", "shared": {shared}}}\n\n'
          'event: download_completed\ndata: {{"percent": 100}}\n\n')


def _client(handler: httpx.MockTransport) -> HttpClient:
    return HttpClient(lambda service: f"http://{service}", transport=handler)


def test_requests_in_a_row_keep_every_answer_and_the_last_one() -> None:
    statuses = iter([200, 200, 429])
    client = _client(httpx.MockTransport(lambda request: httpx.Response(next(statuses), text="{}")))
    batch = repeat.send_many(client, Request("POST", "/v1/inference", "queen"), 3)
    assert [r.status for r in batch.responses] == [200, 200, 429]
    assert batch.count("200") == 2 and batch.count("4xx") == 1 and batch.summary() == "200 x2, 429 x1"
    assert client.last.status == 429


def test_concurrent_requests_are_in_flight_together() -> None:
    barrier = threading.Barrier(4, timeout=5)

    def handler(request: httpx.Request) -> httpx.Response:
        barrier.wait()  # only returns when all four requests are in flight at once
        return httpx.Response(200, text="ok")

    batch = repeat.send_many(_client(httpx.MockTransport(handler)), Request("GET", "/x", "svc"), 4, concurrent=True)
    assert batch.count("200") == 4 and batch.concurrent


def test_distinct_values_of_the_first_event_of_a_kind() -> None:
    bodies = iter([STREAM.format(id="d1", shared="false"), STREAM.format(id="d1", shared="true")])
    client = _client(httpx.MockTransport(lambda request: httpx.Response(200, text=next(bodies))))
    batch = repeat.send_many(client, Request("POST", "/provision", "hive"), 2)
    assert batch.distinct("download_started", "download_id") == ["d1"]
    assert batch.distinct("download_started", "shared") == [False, True]


def test_an_answer_without_the_event_is_named() -> None:
    client = _client(httpx.MockTransport(lambda request: httpx.Response(200, text="event: other\ndata: {}\n\n")))
    batch = repeat.send_many(client, Request("GET", "/x", "svc"), 1)
    with pytest.raises(HarnessError, match="answer #1 of 1 has no 'download_started' event"):
        batch.distinct("download_started", "download_id")


def test_nothing_to_send_and_no_batch_yet_are_authoring_errors() -> None:
    with pytest.raises(HarnessError):
        repeat.send_many(_client(httpx.MockTransport(lambda r: httpx.Response(200))), Request("GET", "/", "s"), 0)
    with pytest.raises(HarnessError, match="no batch of requests"):
        _ = repeat.Batches().last
    assert repeat.repeated("ab", 3) == "ababab"
