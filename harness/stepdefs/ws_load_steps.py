"""WebSocket load steps: many subscribers (or senders), each its own connection and token, then delivery checks.

    When 50 subscribers open WebSockets to "/v1/events" on "queen" as a tenant per client
    And 50 clients each send 2 inference requests concurrently          (the HTTP load steps)
    And the subscribers wait up to 10 seconds for every accepted job to finish
    Then at least 99% of the messages were delivered
    And the p99 latency is below 200 ms                                  (publish -> receipt)

Subscriber N holds the token of HTTP load client N ('as a tenant per client' gives both the same
tenant), so each accepted job is expected on its own client's subscriber: delivered when a frame
of a finishing kind (job_completed, job_failed) names it. Per-frame latency runs from the
publication time the frame carries to its receipt. What frames carry is configurable (the
defaults are the reference stack's: "job_id", "type", "published_at").
Senders ('N WebSocket clients each send messages ... with:'): each message is the doc string with
`{id}` replaced by a unique id (`c<connection>-s<sequence>`; `{conn}` and `{seq}` too). A reply is
matched to its message by that id: when the template has `"{id}"` in quotes, a frame whose text
contains the quoted id is the reply (no parsing); otherwise the frame's JSON at the id path (`id`
by default; 'Given WebSocket load frames carry the id at …' changes it) must equal the id. Other
frames are ignored; a message without a reply within 10 s counts as lost. At rate 0 a connection
sends its next message after the reply (closed loop); latency is send -> reply.
A WebSocket run becomes the scenario's latest load run, so the HTTP load's percentile, success
('at least P% succeed') and throughput steps apply to it.

Drivers: opening subscribers, waiting for them, the sender run and the frame-format step. Every
'Then' verifies through harness.expect.
"""

from __future__ import annotations

import re
from typing import Any

from behave import register_type, step, use_step_matcher
from parse import with_pattern

from harness import expect
from harness.clients.http import STEP_TYPES
from harness.load.checks import describe
from harness.load.scenario import load_state
from harness.load.target import ClientAuth

use_step_matcher("parse")

EXAMPLE = """
Scenario: every accepted job is delivered to its tenant's subscriber
  Given the load target is POST "/v1/inference" on "queen" as a tenant per client with JSON:
    \"\"\"
    {"model": "tiny-llama", "prompt": "hello"}
    \"\"\"
  When 20 subscribers open WebSockets to "/v1/events" on "queen" as a tenant per client
  And 20 clients each send 1 inference request concurrently
  And the subscribers wait up to 10 seconds for every accepted job to finish
  Then at least 99% of the messages were delivered
  And no WebSocket connection failed
"""  # a worked example, shown in docs/steps.md (checked: every step exists)

_FORMAT = "ws_load_format"
_DEFAULT_FORMAT = {"id_path": "job_id", "kind_path": "type", "published_path": "published_at",
                   "done_kinds": frozenset({"job_completed", "job_failed"})}
_SENDER_FORMAT = {"id_path": "id", "kind_path": "type"}


@with_pattern(r'(?: as a tenant per client| as tenant "[^"]*")?')
def _ws_auth(text: str) -> ClientAuth:
    """As whom the WebSocket load clients connect (nothing: no credentials).

    Grammar: [ as a tenant per client | as tenant "T"]
    Example: as tenant "acme"
    """
    if text == " as a tenant per client":
        return ClientAuth("per-client")
    return ClientAuth("tenant", text.split('"')[1]) if text else ClientAuth()


register_type(**STEP_TYPES, WsAuth=_ws_auth)


@step('WebSocket load frames carry the id at "{id_path:Quoted}", the kind at "{kind_path:Quoted}" and the '
      'publish time at "{published:Quoted}"')
def frame_format(context: Any, id_path: str, kind_path: str, published: str) -> None:
    """Say where load frames name their job or message, their kind, and their publication time (epoch s).

    Example: Given WebSocket load frames carry the id at "job_id", the kind at "type" and the publish time at "ts"
    """
    expect.drove("frame format")
    chosen: dict[str, Any] = context.harness.extension(_FORMAT, dict)
    chosen.update(_DEFAULT_FORMAT, id_path=id_path, kind_path=kind_path, published_path=published)


@step('{count:d} subscribers open WebSockets to "{path:Quoted}" on "{service:Quoted}"{auth:WsAuth}')
def open_subscribers(context: Any, count: int, path: str, service: str, auth: ClientAuth) -> None:
    """Open COUNT WebSockets (one token each) that listen in the background while later steps act.

    Example: When 50 subscribers open WebSockets to "/v1/events" on "queen" as a tenant per client
    """
    state = load_state(context.harness)
    spec = state.ws_spec(path, service, auth, **_format(context))
    expect.drove(f"{count} WebSocket subscribers")
    state.start_subscribers(count, spec)


@step("the subscribers wait up to {seconds:Number} seconds for every accepted job to finish")
def finish_subscribers(context: Any, seconds: float) -> None:
    """Expect each job the last HTTP load run got accepted on its client's subscriber; wait, close, keep the run.

    Example: When the subscribers wait up to 10 seconds for every accepted job to finish
    """
    expect.drove("finish WebSocket subscribers")
    load_state(context.harness).finish_subscribers(seconds)


@step('{count:d} WebSocket clients each send messages to "{path:Quoted}" on "{service:Quoted}"{auth:WsAuth} '
      "at {rate:Number} per second for {seconds:Number} seconds with:")
def senders(context: Any, count: int, path: str, service: str, auth: ClientAuth, rate: float,
            seconds: float) -> None:
    """COUNT connections each send the doc string ({id} = a unique message id) at RATE/s (0: after each reply).

    Example: When 32 WebSocket clients each send messages to "/echo" on "api" at 0 per second for 5 seconds with:
    """
    state = load_state(context.harness)
    formats = {**_format(context, _SENDER_FORMAT), "done_kinds": frozenset(), "published_path": None}
    spec = state.ws_spec(path, service, auth, message=_fill(context, context.text or ""), rate=rate, **formats)
    expect.drove(f"{count} WebSocket senders")
    state.run_ws_clients(count, spec, seconds)


@step("at least {percent:Number}% of the messages were delivered")
def delivered(context: Any, percent: float) -> None:
    """Check the last WebSocket run's delivery: replies / messages sent, or jobs seen / jobs expected.

    Example: Then at least 99% of the messages were delivered
    """
    result = _ws_run(context)
    extra = result.extra
    expect.that(extra["expected"] > 0, f"the WebSocket run expected no message: {describe(result)}")
    ratio = extra["delivery_ratio"] * 100
    expect.that(ratio >= percent, f"{ratio:.2f}% of the messages were delivered ({extra['delivered']} of "
                                  f"{extra['expected']}), below {percent:g}%; connections failed: "
                                  f"{extra['connection_failures']} {extra['failures']}; {describe(result)}")


@step("no WebSocket connection failed")
def no_failures(context: Any) -> None:
    """Check that every connection of the last WebSocket run opened and stayed open.

    Example: Then no WebSocket connection failed
    """
    result = _ws_run(context)
    expect.equal(result.extra["connection_failures"], 0,
                 f"failed connections ({result.extra['failures']}) of {result.extra['connections']}")


def _fill(context: Any, text: str) -> str:
    """Remembered {name} values filled in; {id}, {conn} and {seq} are left for each message."""
    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        return match.group(0) if name in ("id", "conn", "seq") else str(context.harness.recall(name))

    return re.sub(r"\{([A-Za-z_][\w.-]*)\}", sub, text)


def _format(context: Any, default: dict[str, Any] | None = None) -> dict[str, Any]:
    """The frame format a 'Given' set, else ``default`` (the reference stack's events by default)."""
    chosen: dict[str, Any] = context.harness.extension(_FORMAT, dict)
    return dict(chosen or default or _DEFAULT_FORMAT)


def _ws_run(context: Any) -> Any:
    result = load_state(context.harness).last()
    expect.that(result.mode == "websocket", f"the last load run is not a WebSocket run ({result.mode} "
                                            f"{result.method} {result.url})")
    return result
