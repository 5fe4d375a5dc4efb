"""The event-stream steps against the local server's SSE endpoint."""

from __future__ import annotations

from typing import Any

import pytest

from harness.errors import HarnessError, VerificationFailed
from tests.steps.kit import run


def test_a_stream_is_read_and_checked(context: Any) -> None:
    counts = run(context, 'When I stream a GET request to "/events?gap_ms=10" on "web"')
    assert counts == (1, 1)  # drove the request, verified that the stream ended
    run(context, '''
        Then the response status is 200
        And the response header "X-Stream" is "yes"
        And the events arrive in order: job_started, token, job_completed
        And the events arrive in order: job_started, token, token, job_completed
        And every event carries "job_id"
        And 3 events of kind "token" arrived
        And at least 2 events of kind "token" arrived
        And the first event arrived within 5000 ms
        And the last event is of kind "job_completed"
        And the last event of kind "token" at "index" equals 3
        And the first event of kind "token" at "index" equals 1
        When I remember the first event of kind "job_started" at "job_id" as "job_id"
        ''')
    assert context.harness.recall("job_id") == "j-1"


@pytest.mark.parametrize(("check", "message"), [
    ("Then the events arrive in order: job_started, job_completed",
     "expected job_completed at step 2 of the order, got event #2: token"),
    ("Then the events arrive in order: job_started, token, job_failed",
     "expected job_failed at step 3 of the order, got event #5: job_completed"),
    ('Then every event carries "job_id"', "1 of 3 events lack 'job_id': #2 nojob {\"index\":1}"),
    ('Then 2 events of kind "token" arrived', "events of kind 'token' (arrived: job_started, nojob, job_completed)"),
    ("Then the first event arrived within 0 ms", "arrived after"),
    ('Then the last event is of kind "job_failed"', "expected 'job_failed', got 'job_completed'"),
    ('Then the last event of kind "job_started" at "index" equals 5', "expected 5, got 0"),
    ('Then the first event of kind "token" at "index" equals 1', "no event of kind 'token' arrived"),
])
def test_failing_stream_checks_say_what_arrived(context: Any, check: str, message: str) -> None:
    run(context, 'When I stream a GET request to "/events?gap_ms=5&kinds=job_started,nojob,job_completed" on "web"'
        if "order" not in check else 'When I stream a GET request to "/events?gap_ms=5" on "web"')
    with pytest.raises(VerificationFailed) as caught:
        run(context, check)
    assert message in str(caught.value)


def test_a_stream_timeout_fails_the_stream_step_clearly(context: Any) -> None:
    context.harness.userdata.update(stream_idle_timeout="0.3")
    with pytest.raises(VerificationFailed) as caught:
        run(context, 'When I stream a GET request to "/events?hang=1&kinds=job_started,token" on "web"')
    message = str(caught.value)
    assert "ended by idle timeout (no data for 0.3 s)" in message
    assert "2 events arrived (job_started, token); last event: token" in message


def test_until_stops_at_an_event_of_a_kind(context: Any) -> None:
    run(context, '''
        When I stream a POST request to "/events?hang=1" on "web" until "job_failed, job_completed" with JSON:
          """
          {"prompt": "hi"}
          """
        Then the last event is of kind "job_completed"
        ''')


def test_stream_checks_need_a_stream(context: Any) -> None:
    run(context, 'When I send a GET request to "/json" on "web"')
    with pytest.raises(HarnessError, match="no event stream has been read"):
        run(context, 'Then 1 events of kind "token" arrived')
