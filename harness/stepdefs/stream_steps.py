"""Event-stream steps: send a request whose answer is Server-Sent Events, then check the events.

The request tail is the one of the HTTP steps (on "S", as tenant "T", with token "K", with JSON:),
plus `until "kind, kind"` before the data part to stop reading at the first event of those kinds
(for streams the server keeps open). Timeouts: -D stream_timeout=S, -D stream_idle_timeout=S.

To keep a stream open while other steps act (a background subscriber), use ws_steps:
'I subscribe "NAME" to the event stream of a GET request to "/events" on "S"', then the frame checks.

Drivers: 'I stream a … request to …' (it also verifies that the stream ended, by the server
closing it or an `until` event, and not by a timeout). 'I remember the … event …' checks that the
value exists. Every other step here verifies through harness.expect.
"""

from __future__ import annotations

from typing import Any

from behave import register_type, step, use_step_matcher

from harness import expect
from harness.clients import http, jsonpath, sse
from harness.clients.http import STEP_TYPES, RequestOptions
from harness.errors import HarnessError

use_step_matcher("parse")

EXAMPLE = """
Scenario: a job's events arrive in order over SSE
  When I stream a POST request to "/v1/inference" on "queen" as tenant "acme" with JSON:
    \"\"\"
    {"model": "tiny-llama", "prompt": "hello"}
    \"\"\"
  Then the events arrive in order: job_started, token, job_completed
  And every event carries "job_id"
  And the first event arrived within 500 ms
"""  # a worked example, shown in docs/steps.md (checked: every step exists)
register_type(**STEP_TYPES)


@step('I stream a {method:HttpMethod} request to "{path:Quoted}"{options:StreamOptions}')
def stream_request(context: Any, method: str, path: str, options: RequestOptions) -> None:
    """Send a request and read its event stream to the end; fail clearly on a stream timeout.

    Example: When I stream a POST request to "/v1/inference" on "queen" as tenant "acme" with JSON:
    """
    request = http.prepare(context.harness, method, path, options, context.text, context.table)
    expect.drove(f"stream {method} {request.path}")
    stream = http.client(context.harness).stream(request, stop_at=options.until)
    expect.that(stream.finished, stream.failure())


@step("the events arrive in order: {kinds:Kinds}")
def events_in_order(context: Any, kinds: list[str]) -> None:
    """Check the kinds of the events in order; repeats in a row count as one (token, token = token).

    Example: Then the events arrive in order: job_started, token, job_completed
    """
    difference = sse.order_difference(_stream(context).events, kinds)
    expect.that(not difference, difference)


@step('every event carries "{path:Quoted}"')
def every_event_carries(context: Any, path: str) -> None:
    """Check that the JSON data of every event (at least one) has a value at PATH.

    Example: Then every event carries "job_id"
    """
    events = _stream(context).events
    lacking = [f"#{i} {e.describe()}" for i, e in enumerate(events, 1) if not jsonpath.lookup(e.data, path).found]
    expect.that(events, "no events arrived")
    expect.that(not lacking, f"{len(lacking)} of {len(events)} events lack {path!r}: " + "; ".join(lacking[:5]))


@step('{count:d} events of kind "{kind:Quoted}" arrived')
def events_counted(context: Any, count: int, kind: str) -> None:
    """Check exactly how many events of KIND arrived.

    Example: Then 5 events of kind "token" arrived
    """
    stream = _stream(context)
    expect.equal(stream.kinds().count(kind), count,
                 f"events of kind {kind!r} (arrived: {sse.summary(stream.kinds())})")


@step('at least {count:d} events of kind "{kind:Quoted}" arrived')
def events_at_least(context: Any, count: int, kind: str) -> None:
    """Check that COUNT or more events of KIND arrived.

    Example: Then at least 1 events of kind "progress" arrived
    """
    stream = _stream(context)
    expect.at_least(stream.kinds().count(kind), count,
                    f"events of kind {kind!r} (arrived: {sse.summary(stream.kinds())})")


@step("the first event arrived within {ms:Number} ms")
def first_event_within(context: Any, ms: float) -> None:
    """Check the time from sending the request to the first event.

    Example: Then the first event arrived within 500 ms
    """
    events = _stream(context).events
    expect.that(events, "no events arrived")
    first = events[0]
    expect.that(first.at_ms <= ms, f"the first event ({first.describe()}) arrived after {first.at_ms:.0f} ms, "
                                   f"not within {ms:g} ms")


@step('the last event is of kind "{kind:Quoted}"')
def last_event_kind(context: Any, kind: str) -> None:
    """Check the kind of the stream's last event.

    Example: Then the last event is of kind "job_completed"
    """
    events = _stream(context).events
    expect.that(events, "no events arrived")
    expect.equal(events[-1].kind, kind, f"the kind of the last event ({events[-1].describe()})")


@step('the {which:FirstLast} event of kind "{kind:Quoted}" at "{path:Quoted}" equals {value:Rest}')
def event_value(context: Any, which: str, kind: str, path: str, value: str) -> None:
    """Check a JSON value in the first (or last) event of KIND against a JSON literal.

    Example: Then the last event of kind "job_completed" at "usage.tokens" equals 5
    """
    event = _event(context, which, kind)
    expected = jsonpath.literal(context.harness.interpolate(value))
    actual = jsonpath.at(event.data, path, what=f"the {which} {kind} event")
    expect.that(jsonpath.same(actual, expected), f"the {which} {kind} event at {path!r}: expected "
                                                 f"{jsonpath.excerpt(expected)}, got {jsonpath.excerpt(actual)}")


@step('I remember the {which:FirstLast} event of kind "{kind:Quoted}" at "{path:Quoted}" as "{name:Quoted}"')
def remember_event_value(context: Any, which: str, kind: str, path: str, name: str) -> None:
    """Keep a JSON value of the first (or last) event of KIND for later steps as {NAME}.

    Example: When I remember the first event of kind "job_started" at "job_id" as "job_id"
    """
    event = _event(context, which, kind)
    context.harness.remember(name, jsonpath.at(event.data, path, what=f"the {which} {kind} event"))


def _stream(context: Any) -> sse.Stream:
    stream = http.client(context.harness).last_stream
    if stream is None:
        raise HarnessError("no event stream has been read in this scenario",
                           hint='read one first: When I stream a GET request to "/events" on "SERVICE"')
    return stream


def _event(context: Any, which: str, kind: str) -> sse.Event:
    stream = _stream(context)
    matching = [event for event in stream.events if event.kind == kind]
    expect.that(matching, f"no event of kind {kind!r} arrived (arrived: {sse.summary(stream.kinds())})")
    return matching[0] if which == "first" else matching[-1]
