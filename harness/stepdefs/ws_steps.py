"""WebSocket and background-subscription steps: named connections that stay open while other steps act.

Open a WebSocket (or subscribe to an SSE stream in the background) under a NAME, act with any other
steps, then check what arrived on NAME. The request tail is the HTTP steps' one (on "S", as tenant
"T", as admin, with token "expired|badly signed|malformed|none|<token>", with headers:/query: tables).
A frame's kind is its SSE event name, or for a WebSocket the JSON value at "type" (change it with
'frames are told apart by "PATH"'). `on "NAME" where "PATH" is VALUE` narrows a check to the frames
whose PATH equals the JSON literal VALUE (for example one job's frames on a tenant's channel).

Faults on the client's own link ("the client's link to "S" has N ms of latency", fault steps)
need no wiring: connections open through the link's loopback fault proxy (harness.clients.links),
so latency, a partition (all data held) or a reset act on live ones too. The client pings every
-D ws_heartbeat=S (default 2 s), so a partitioned or frozen server is seen as a drop, not silence.

Timing: 'the first frame on "NAME" arrives within N ms' counts from the (last) handshake's
completion (the 101 answer), not from the step before it, so a server that sends a greeting at once
passes even when the open step took long; 'the first frame of kind K … within N ms of the last
response' counts from the last HTTP response's arrival instead, and '… at least N ms after the last
request was sent' from that request's send (a fault on the client's link delays its answer too).

Checks wait for their frames up to -D ws_timeout=S (default 10 s) and stop waiting as soon as the
connection ends; a failure names the connection, its state (open, closed with code C, dropped, refused
with HTTP status and body), how many frames arrived, their kinds and the last one.
Drivers: open, subscribe, send, close, reconnect, 'frames are told apart by'. 'I open …' also
checks that the handshake succeeded; 'Given WebSockets … go through a fault proxy' that the proxy
listens; 'I remember …' that the value exists. Every other step verifies
through harness.expect.
"""

from __future__ import annotations

import re
import time
from typing import Any

from behave import register_type, step, use_step_matcher

from harness import expect
from harness.clients import frames, http, jsonpath, ws
from harness.clients.frames import Frame, Selection
from harness.clients.http import STEP_TYPES, RequestOptions
from harness.clients.links import links
from harness.errors import HarnessError

use_step_matcher("parse")

EXAMPLE = """
Scenario: a job's frames on a tenant's WebSocket
  When I open a WebSocket "alice" to "/v1/events" on "queen" as tenant "acme"
  Then the first frame on "alice" arrives within 500 ms
  When I send a POST request to "/v1/inference" on "queen" as tenant "acme" with JSON:
    \"\"\"
    {"model": "tiny-llama", "prompt": "hello"}
    \"\"\"
  And I remember the response JSON at "job_id" as "job_id"
  Then the frames on "alice" where "job_id" is "{job_id}" arrive in order: job_queued, token, job_completed
"""  # a worked example, shown in docs/steps.md (checked: every step exists)

_SELECTION = re.compile(r'"(?P<name>[^"]*)"(?: where "(?P<path>[^"]*)" is (?P<value>"[^"]*"|[^\s"]+))?')


def _selection(text: str) -> Selection:
    """A named connection, optionally narrowed to the frames whose JSON at PATH equals VALUE.

    Grammar: "NAME" [ where "PATH" is VALUE] (PATH a dotted JSON path; VALUE a JSON literal without
    spaces or a quoted string, compared as JSON: 3, true, "tick")
    Example: "alice" where "job_id" is "{job_id}"
    """
    match = _SELECTION.fullmatch(text)
    if match is None:
        raise ValueError(f"not a connection reference: {text!r}")
    return Selection(match["name"], match["path"] or "", match["value"], written=match["value"] or "")


_selection.pattern = r'"[^"]*"(?: where "[^"]*" is (?:"[^"]*"|[^\s"]+))?'  # type: ignore[attr-defined]
register_type(**STEP_TYPES, Connection=_selection)


# -- opening and acting --------------------------------------------------------------------------

@step('I open a WebSocket "{name:Quoted}" to "{path:Quoted}"{options:RequestOptions}')
def open_websocket(context: Any, name: str, path: str, options: RequestOptions) -> None:
    """Open a named WebSocket and keep it open; a refused handshake fails with its status and reason.

    Example: When I open a WebSocket "alice" to "/v1/events" on "queen" as tenant "acme"
    """
    request = _request(context, path, options)
    expect.drove(f"open WebSocket {name}")
    channel = ws.channels(context.harness).open_ws(name, request)
    expect.equal(channel.status, 101, f'the handshake status of WebSocket "{name}"')


@step('I try to open a WebSocket "{name:Quoted}" to "{path:Quoted}"{options:RequestOptions}')
def try_open_websocket(context: Any, name: str, path: str, options: RequestOptions) -> None:
    """Attempt a handshake that may be refused; check it later with 'the WebSocket … handshake status is'.

    Example: When I try to open a WebSocket "mallory" to "/v1/events" on "queen" with token "expired"
    """
    request = _request(context, path, options)
    expect.drove(f"try WebSocket {name}")
    ws.channels(context.harness).open_ws(name, request, must_succeed=False)


@step('I subscribe "{name:Quoted}" to the event stream of a {method:HttpMethod} request to "{path:Quoted}"'
      '{options:RequestOptions}')
def subscribe_sse(context: Any, name: str, method: str, path: str, options: RequestOptions) -> None:
    """Send an SSE request whose events are read in the background as connection NAME.

    Example: When I subscribe "feed" to the event stream of a POST request to "/v1/inference" with JSON:
    """
    request = http.prepare(context.harness, method, path, options, context.text, context.table)
    request = _with_default_service(context, request)
    expect.drove(f"subscribe {name}")
    channel = ws.channels(context.harness).subscribe(name, request)
    expect.that(channel.status < 300, channel.describe())


@step('frames are told apart by "{path:Quoted}"')
def kind_path(context: Any, path: str) -> None:
    """Take a WebSocket frame's kind from the JSON at PATH (default "type") for the rest of the scenario.

    Example: Given frames are told apart by "event"
    """
    expect.drove("kind path")
    ws.channels(context.harness).kind_path = path


@step('I send a text frame on "{name:Quoted}":')
def send_text(context: Any, name: str) -> None:
    """Send the doc string ({name} filled in) as one text frame.

    Example: When I send a text frame on "alice":
    """
    expect.drove(f"send on {name}")
    ws.channels(context.harness).send(name, context.harness.interpolate(_text(context)))


@step('I send a JSON frame on "{name:Quoted}":')
def send_json(context: Any, name: str) -> None:
    """Send the doc string ({name} filled in, checked to be JSON) as one text frame.

    Example: When I send a JSON frame on "alice":
    """
    text = context.harness.interpolate(_text(context))
    jsonpath.literal(text)
    expect.drove(f"send JSON on {name}")
    ws.channels(context.harness).send(name, text)


@step('I close "{name:Quoted}"')
def close_connection(context: Any, name: str) -> None:
    """Close a named WebSocket (code 1000) or subscription; its frames stay checkable.

    Example: When I close "alice"
    """
    expect.drove(f"close {name}")
    ws.channels(context.harness).close(name)


@step('I reconnect "{name:Quoted}"')
def reconnect(context: Any, name: str) -> None:
    """Close and reopen a named connection; frames of both connections are kept, in order.

    Example: When I reconnect "alice"
    """
    expect.drove(f"reconnect {name}")
    ws.channels(context.harness).reconnect(name)


@step('I reconnect "{name:Quoted}" with "{param:Quoted}" = "{value:Quoted}"')
def reconnect_with(context: Any, name: str, param: str, value: str) -> None:
    """Reopen a named connection with a query parameter set (e.g. resume after a remembered sequence).

    Example: When I reconnect "alice" with "since" = "{last_seq}"
    """
    expect.drove(f"reconnect {name}")
    ws.channels(context.harness).reconnect(name, ((param, context.harness.interpolate(value)),))


# -- the client's own link -------------------------------------------------------------------------

@step('WebSockets to "{service:Quoted}" go through a fault proxy')
def route_through_proxy(context: Any, service: str) -> None:
    """Kept for old scenarios; not needed: the client's link to SERVICE goes through its fault proxy anyway.

    Faults on "the client's link to S" (fault steps) need no wiring: WebSockets always open through
    the link's loopback proxy, and HTTP, SSE and load runs use it from the first fault on.

    Example: Given WebSockets to "queen" go through a fault proxy
    """
    proxy = links(context.harness).proxy(service)
    expect.that(proxy.server is not None, f"the fault proxy for {service!r} is not listening")


# -- handshake and connection state --------------------------------------------------------------

@step('the WebSocket "{name:Quoted}" handshake status is {status:Status}')
def handshake_status(context: Any, name: str, status: str) -> None:
    """Check the handshake's HTTP status (101 when accepted).

    Example: Then the WebSocket "mallory" handshake status is 401
    """
    channel = ws.channels(context.harness).get(name)
    expect.that(http.status_matches(channel.status, status),
                f"expected handshake status {status}, got {channel.status}: {channel.describe()}")


@step('the WebSocket "{name:Quoted}" handshake answer contains "{text:Rest}"')
def handshake_body(context: Any, name: str, text: str) -> None:
    """Check the refused handshake's answer body (the reason) for TEXT.

    Example: Then the WebSocket "mallory" handshake answer contains "token_expired"
    """
    channel = ws.channels(context.harness).get(name)
    expect.contains(channel.body, context.harness.interpolate(text), f'the handshake answer of "{name}"')


@step('"{name:Quoted}" is closed with code {code:d}')
def closed_with(context: Any, name: str, code: int) -> None:
    """Wait for the connection to close, then check its close code (1006: cut without a close frame).

    Example: Then "alice" is closed with code 1000
    """
    channels = ws.channels(context.harness)
    channel = channels.get(name)
    expect.that(channel.wait_ended(channels.settings.wait),
                f"still open after {channels.settings.wait:g} s: {channel.describe(channels.kind_path)}")
    expect.equal(channel.close_code, code, f"the close code: {channel.describe(channels.kind_path)}")


@step('"{name:Quoted}" drops within {seconds:Number} s')
def drops(context: Any, name: str, seconds: float) -> None:
    """Check that the server or the network ended the connection (not this scenario) within SECONDS.

    Which end it saw is logged and in any failure: the server's close frame (its code), the server
    ending the connection after its last frame without one, or the connection cut (reset, silent).
    Example: Then "alice" drops within 5 s
    """
    channels = ws.channels(context.harness)
    channel = channels.get(name)
    ended = channel.wait_ended(seconds)
    expect.that(ended and channel.detail != "closed by the scenario",
                f"expected the connection to drop within {seconds:g} s: {channel.describe(channels.kind_path)}")
    print(f'"{name}" ended: {channel.describe(channels.kind_path)}')


# -- frames ----------------------------------------------------------------------------------------

@step("the frames on {ref:Connection} arrive in order: {kinds:Kinds}")
def frames_in_order(context: Any, ref: Selection, kinds: list[str]) -> None:
    """Wait for the last kind, then check the kinds in order; repeats in a row count as one.

    Example: Then the frames on "alice" where "job_id" is "{job_id}" arrive in order: job_queued, token, job_completed
    """
    path = _kind_path(context)
    got = _wait(context, ref, lambda fs: bool(frames.of_kind(fs, path, kinds[-1])) or not
                frames.order_difference(fs, path, kinds))
    difference = frames.order_difference(got, path, kinds)
    expect.that(not difference, f"on {ref.label}: {difference}\n{_describe(context, ref)}")


@step('{count:d} frames of kind "{kind:Quoted}" arrive on {ref:Connection}')
def frames_counted(context: Any, count: int, kind: str, ref: Selection) -> None:
    """Wait for COUNT frames of KIND, then check that exactly COUNT arrived.

    Example: Then 5 frames of kind "token" arrive on "alice"
    """
    got = _wait(context, ref, lambda fs: len(frames.of_kind(fs, _kind_path(context), kind)) >= count)
    expect.equal(len(frames.of_kind(got, _kind_path(context), kind)), count,
                 f"frames of kind {kind!r} on {ref.label} ({_describe(context, ref)})")


@step('at least {count:d} frames of kind "{kind:Quoted}" arrive on {ref:Connection}')
def frames_at_least(context: Any, count: int, kind: str, ref: Selection) -> None:
    """Wait until COUNT or more frames of KIND arrived.

    Example: Then at least 1 frames of kind "job_completed" arrive on "bob"
    """
    got = _wait(context, ref, lambda fs: len(frames.of_kind(fs, _kind_path(context), kind)) >= count)
    expect.at_least(len(frames.of_kind(got, _kind_path(context), kind)), count,
                    f"frames of kind {kind!r} on {ref.label} ({_describe(context, ref)})")


@step('every frame on {ref:Connection} carries "{path:Quoted}"')
def every_frame_carries(context: Any, ref: Selection, path: str) -> None:
    """Check that every frame so far (at least one) is JSON with a value at PATH.

    Example: Then every frame on "alice" carries "request_id"
    """
    got = _wait(context, ref, bool)
    expect.that(got, f"no frame arrived on {ref.label}: {_describe(context, ref)}")
    missing = frames.lacking(got, path)
    expect.that(not missing, f"{len(missing)} of {len(got)} frames on {ref.label} lack {path!r}: "
                + "; ".join(f.describe() for f in missing[:5]))


@step('the {which:FirstLast} frame of kind "{kind:Quoted}" on {ref:Connection} at "{path:Quoted}" equals {value:Rest}')
def frame_value(context: Any, which: str, kind: str, ref: Selection, path: str, value: str) -> None:
    """Check a JSON value in the first (or last so far) frame of KIND against a JSON literal.

    Example: Then the last frame of kind "job_completed" on "alice" at "usage.completion_tokens" equals 3
    """
    frame = _frame(context, which, kind, ref)
    expected = jsonpath.literal(context.harness.interpolate(value))
    actual = frames.value_at(frame, path, f"the {which} {kind} frame on {ref.label}")
    expect.that(jsonpath.same(actual, expected), f"the {which} {kind} frame on {ref.label} at {path!r}: expected "
                f"{jsonpath.excerpt(expected)}, got {jsonpath.excerpt(actual)} in {frame.describe()}")


@step('the {which:FirstLast} frame of kind "{kind:Quoted}" on {ref:Connection} at "{path:Quoted}" '
      "contains {value:Rest}")
def frame_contains(context: Any, which: str, kind: str, ref: Selection, path: str, value: str) -> None:
    """Check that a value in the first (or last so far) frame of KIND contains a JSON literal (substring, item).

    Example: Then the last frame of kind "job_failed" on "alice" at "reason" contains "{worker}"
    """
    frame = _frame(context, which, kind, ref)
    item = jsonpath.literal(context.harness.interpolate(value))
    actual = frames.value_at(frame, path, f"the {which} {kind} frame on {ref.label}")
    expect.that(jsonpath.contains(actual, item), f"the {which} {kind} frame on {ref.label} at {path!r} does not "
                f"contain {jsonpath.excerpt(item)}: it is {jsonpath.excerpt(actual)}")


@step('I remember the {which:FirstLast} frame of kind "{kind:Quoted}" on {ref:Connection} at "{path:Quoted}" '
      'as "{name:Quoted}"')
def remember_frame_value(context: Any, which: str, kind: str, ref: Selection, path: str, name: str) -> None:
    """Keep a JSON value of the first (or last so far) frame of KIND for later steps as {NAME}.

    Example: When I remember the last frame of kind "token" on "alice" at "seq" as "last_seq"
    """
    frame = _frame(context, which, kind, ref)
    context.harness.remember(name, frames.value_at(frame, path, f"the {which} {kind} frame on {ref.label}"))


@step("the first frame on {ref:Connection} arrives within {ms:Number} ms")
def first_frame_within(context: Any, ref: Selection, ms: float) -> None:
    """Check the time from the (last) handshake to the first frame after it.

    Example: Then the first frame on "alice" arrives within 500 ms
    """
    channel = ws.channels(context.harness).get(ref.name)
    got = _wait(context, ref, lambda fs: any(f.epoch == channel.epoch for f in fs))
    current = [f for f in got if f.epoch == channel.epoch]
    expect.that(current, f"no frame arrived on {ref.label}: {_describe(context, ref)}")
    delay = (current[0].at - channel.opened_at) * 1000
    expect.that(delay <= ms, f"the first frame on {ref.label} ({current[0].describe()}) arrived "
                             f"{delay:.0f} ms after the handshake, not within {ms:g} ms")


@step('the first frame of kind "{kind:Quoted}" on {ref:Connection} arrives within {ms:Number} ms of the last '
      "response")
def frame_within_response(context: Any, kind: str, ref: Selection, ms: float) -> None:
    """Check that another client's subscriber got KIND at most MS after the last HTTP answer was read.

    Example: Then the first frame of kind "job_completed" on "watcher" arrives within 50 ms of the last response
    """
    received = http.client(context.harness).last.received
    frame = _frame(context, "first", kind, ref)
    delay = (frame.at - received) * 1000
    expect.that(delay <= ms, f"the first {kind} frame on {ref.label} arrived {delay:.1f} ms after the last "
                             f"response, not within {ms:g} ms: {frame.describe()}")


@step('the first frame of kind "{kind:Quoted}" on {ref:Connection} arrives at least {ms:Number} ms after the last '
      "response")
def frame_not_before(context: Any, kind: str, ref: Selection, ms: float) -> None:
    """Check that KIND arrived no sooner than MS after the last HTTP answer (a delay fault is felt).

    Example: Then the first frame of kind "job_completed" on "watcher" arrives at least 250 ms after the last response
    """
    received = http.client(context.harness).last.received
    frame = _frame(context, "first", kind, ref)
    delay = (frame.at - received) * 1000
    expect.that(delay >= ms, f"the first {kind} frame on {ref.label} arrived {delay:.1f} ms after the last "
                             f"response, sooner than {ms:g} ms: {frame.describe()}")


@step('the first frame of kind "{kind:Quoted}" on {ref:Connection} arrives at least {ms:Number} ms after the last '
      "request was sent")
def frame_not_before_request(context: Any, kind: str, ref: Selection, ms: float) -> None:
    """Check that KIND arrived no sooner than MS after the last HTTP request left (a delay on the frames' way).

    A fault on the client's link delays the HTTP answer as much as the frame, so the time from the
    answer says nothing; from the send, an undelayed frame comes as soon as the job is done.
    Example: Then the first frame of kind "done" on "ops" arrives at least 250 ms after the last request was sent
    """
    last = http.client(context.harness).last
    if not last.sent:
        raise HarnessError(f"the last request ({last.method} {last.url}) was a stream: its send time is not kept",
                           hint="send a plain request (not a streamed one) before this step")
    frame = _frame(context, "first", kind, ref)
    delay = (frame.at - last.sent) * 1000
    expect.that(delay >= ms, f"the first {kind} frame on {ref.label} arrived {delay:.1f} ms after the last "
                             f"request was sent, sooner than {ms:g} ms: {frame.describe()}")


@step('no frame of kind "{kind:Quoted}" arrives on {ref:Connection} within {seconds:Number} s')
def no_frame_of_kind(context: Any, kind: str, ref: Selection, seconds: float) -> None:
    """Watch the open connection for SECONDS; fail on any frame of KIND (isolation), or if it ends.

    Example: Then no frame of kind "job_completed" arrives on "bob" within 1 s
    """
    _nothing(context, ref, seconds, lambda fs: frames.of_kind(fs, _kind_path(context), kind), f"of kind {kind!r} ")


@step("no frame arrives on {ref:Connection} within {seconds:Number} s")
def no_frame(context: Any, ref: Selection, seconds: float) -> None:
    """Watch the open connection for SECONDS; fail on any frame (of the selection), or if it ends.

    Example: Then no frame arrives on "bob" where "job_id" is "{job_id}" within 1 s
    """
    _nothing(context, ref, seconds, list, "")


@step('the frames on {ref:Connection} have consecutive values at "{path:Quoted}"')
def consecutive(context: Any, ref: Selection, path: str) -> None:
    """Check that the integers at PATH increase by exactly 1: nothing lost, nothing duplicated.

    Example: Then the frames on "alice" have consecutive values at "seq"
    """
    got = _wait(context, ref, bool)
    values = [frames.value_at(f, path, f"the frames on {ref.label}") for f in got]
    problems = frames.sequence_problems(values)
    expect.that(not problems, f"the values at {path!r} on {ref.label} are not consecutive: {problems}\n"
                              f"{_describe(context, ref)}")


# -- helpers ---------------------------------------------------------------------------------------

def _request(context: Any, path: str, options: RequestOptions) -> http.Request:
    if options.data in ("JSON", "body"):
        raise HarnessError(f"a WebSocket handshake has no body (the step says 'with {options.data}:')",
                           hint='send it after opening: When I send a JSON frame on "NAME":')
    request = http.prepare(context.harness, "GET", path, options, context.text, context.table)
    return _with_default_service(context, request)


def _with_default_service(context: Any, request: http.Request) -> http.Request:
    if request.service is None and not re.match(r"(?:https?|wss?)://", request.path):
        service = http.client(context.harness).default_service
        if service is None:
            raise HarnessError(f"no service named for {request.path}",
                               hint='add on "SERVICE" to the step, or: Given the default service is "SERVICE"')
        return http.Request(request.method, request.path, service, request.credentials, request.headers,
                            request.params, request.content, request.json_body)
    return request


def _kind_path(context: Any) -> str:
    kind: str = ws.channels(context.harness).kind_path
    return kind


def _resolve(context: Any, ref: Selection) -> Selection:
    if not ref.path:
        return ref
    text = context.harness.interpolate(str(ref.value))
    return Selection(ref.name, ref.path, jsonpath.literal(text), written=text)


def _wait(context: Any, ref: Selection, ready: Any, timeout: float | None = None) -> list[Frame]:
    channels = ws.channels(context.harness)
    channel = channels.get(ref.name)
    chosen = _resolve(context, ref)
    got = channel.wait_for(lambda fs: bool(ready(chosen.pick(fs))),
                           channels.settings.wait if timeout is None else timeout)
    return chosen.pick(got)


def _describe(context: Any, ref: Selection) -> str:
    channels = ws.channels(context.harness)
    return channels.get(ref.name).describe(channels.kind_path)


def _frame(context: Any, which: str, kind: str, ref: Selection) -> Frame:
    path = _kind_path(context)
    got = _wait(context, ref, lambda fs: bool(frames.of_kind(fs, path, kind)))
    matching = frames.of_kind(got, path, kind)
    expect.that(matching, f"no frame of kind {kind!r} arrived on {ref.label} within "
                          f"{ws.channels(context.harness).settings.wait:g} s: {_describe(context, ref)}")
    return matching[0] if which == "first" else matching[-1]


def _nothing(context: Any, ref: Selection, seconds: float, unwanted: Any, what: str) -> None:
    started = time.monotonic()
    got = _wait(context, ref, lambda fs: bool(unwanted(fs)), seconds)
    bad = unwanted(got)
    expect.that(not bad, f"a frame {what}arrived on {ref.label}: {bad[0].describe() if bad else ''}")
    channel = ws.channels(context.harness).get(ref.name)
    watched = time.monotonic() - started
    expect.that(not channel.ended or watched >= seconds,
                f"could not watch for {seconds:g} s: {_describe(context, ref)}")


def _text(context: Any) -> str:
    if context.text is None:
        raise HarnessError("this step needs a doc string", hint='put the frame below the step between """ lines')
    return str(context.text)
