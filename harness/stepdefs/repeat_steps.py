"""Repeat steps: send one request N times (in a row or all at once), check what the answers share.

The request tail is the one of the HTTP steps (on "S", as tenant "T", with token "K", with JSON:).
After "I send N … requests" one after another, the single-response steps ('the response status
is …', 'the response header …') look at the last answer.

    When I send 8 POST requests to "/v1/inference" on "queen" as tenant "burst" with JSON:
    Then 5 of those responses have status 200
    When I send 2 concurrent POST requests to "/v1/models/phi-2/provision" on "hive-1"
    Then the "download_started" events of those responses have 1 distinct value at "download_id"
    When I send a POST request to "/v1/inference" on "queen" with JSON where {p} is "a" repeated 5000 times:

Drivers: the three 'I send …' steps. Every other step here verifies through harness.expect.
"""

from __future__ import annotations

from typing import Any

from behave import register_type, step, use_step_matcher

from harness import expect
from harness.clients import http, jsonpath, repeat
from harness.clients.http import STEP_TYPES, RequestOptions

use_step_matcher("parse")

EXAMPLE = """
Scenario: a burst is rate limited
  When I send 8 POST requests to "/v1/inference" on "queen" as tenant "burst" with JSON:
    \"\"\"
    {"model": "tiny-llama", "prompt": "hi"}
    \"\"\"
  Then at least 1 of those responses have status 429
"""  # a worked example, shown in docs/steps.md (checked: every step exists)
register_type(**STEP_TYPES)


@step('I send {count:d} {method:HttpMethod} requests to "{path:Quoted}"{options:RequestOptions}')
def send_in_a_row(context: Any, count: int, method: str, path: str, options: RequestOptions) -> None:
    """Send the same request COUNT times, one after another; keep every answer.

    Example: When I send 8 POST requests to "/v1/inference" on "queen" as tenant "burst" with JSON:
    """
    request = http.prepare(context.harness, method, path, options, context.text, context.table)
    expect.drove(f"{count} x {method} {request.path}")
    repeat.batches(context.harness).keep(repeat.send_many(http.client(context.harness), request, count))


@step('I send {count:d} concurrent {method:HttpMethod} requests to "{path:Quoted}"{options:RequestOptions}')
def send_at_once(context: Any, count: int, method: str, path: str, options: RequestOptions) -> None:
    """Send the same request COUNT times at once (one thread each, up to 64); keep every answer.

    Example: When I send 2 concurrent POST requests to "/v1/models/phi-2/provision" on "hive-1"
    """
    request = http.prepare(context.harness, method, path, options, context.text, context.table)
    expect.drove(f"{count} x {method} {request.path} at once")
    batch = repeat.send_many(http.client(context.harness), request, count, concurrent=True)
    repeat.batches(context.harness).keep(batch)


@step("{count:d} of those responses have status {status:Status}")
def count_with_status(context: Any, count: int, status: str) -> None:
    """Check exactly how many answers of the last batch have STATUS (429) or its class (4xx).

    Example: Then 5 of those responses have status 200
    """
    batch = repeat.batches(context.harness).last
    expect.equal(batch.count(status), count, f"answers with status {status} (all: {batch.summary()})")


@step("at least {count:d} of those responses have status {status:Status}")
def at_least_with_status(context: Any, count: int, status: str) -> None:
    """Check that COUNT or more answers of the last batch have STATUS (429) or its class (4xx).

    Example: Then at least 1 of those responses have status 429
    """
    batch = repeat.batches(context.harness).last
    expect.at_least(batch.count(status), count, f"answers with status {status} (all: {batch.summary()})")


@step('the "{kind:Quoted}" events of those responses have {count:d} distinct value at "{path:Quoted}"')
@step('the "{kind:Quoted}" events of those responses have {count:d} distinct values at "{path:Quoted}"')
def distinct_event_values(context: Any, kind: str, count: int, path: str) -> None:
    """Read each answer as an event stream; check how many distinct values its first KIND event has at PATH.

    Example: Then the "download_started" events of those responses have 1 distinct value at "download_id"
    """
    values = repeat.batches(context.harness).last.distinct(kind, path)
    expect.equal(len(values), count, f"distinct values at {path!r} of the {kind!r} events "
                                     f"({', '.join(jsonpath.excerpt(v, 80) for v in values)})")


@step('I send a {method:HttpMethod} request to "{path:Quoted}"{options:RequestOptions} with JSON where '
      '{{{name:w}}} is "{text:Quoted}" repeated {count:d} times:')
def send_with_long_value(context: Any, method: str, path: str, options: RequestOptions, name: str, text: str,
                         count: int) -> None:
    """Remember TEXT repeated COUNT times as {NAME}, then send the JSON doc string (which uses {NAME}).

    Example: When I send a POST request to "/v1/inference" on "queen" with JSON where {p} is "a" repeated 5000 times:
    """
    context.harness.remember(name, repeat.repeated(text, count))
    request = http.prepare(context.harness, method, path, RequestOptions(options.service, options.credentials,
                                                                         data="JSON"), context.text, None)
    expect.drove(f"{method} {request.path} ({len(request.content or '')} bytes)")
    http.client(context.harness).send(request)
