"""HTTP steps: send requests to services by name, then check the last response.

A request step's optional tail, in this order (every part optional):
    on "SERVICE"                       else the default service
    as tenant "T" | as admin [of tenant "T"]         a bearer token from the token factory
    with token "expired|badly signed|malformed|none|<literal token>"
    with JSON: (doc string) | with body: (doc string) | with headers: (table) | with query: (table)
Paths, bodies, table cells, tokens and expected values take {name} from remembered values.

Drivers (act, check nothing): 'I send a … request to …'.
Every other step here verifies through harness.expect ('the default service is' checks that the
service exists; 'I remember …' checks that the value exists).
"""

from __future__ import annotations

from typing import Any

from behave import register_type, step, use_step_matcher

from harness import expect
from harness.clients import http, jsonpath
from harness.clients.http import STEP_TYPES, RequestOptions
from harness.errors import HarnessError

use_step_matcher("parse")

EXAMPLE = """
Scenario: an inference job is accepted
  Given the default service is "queen"
  When I send a POST request to "/v1/inference" as tenant "acme" with JSON:
    \"\"\"
    {"model": "tiny-llama", "prompt": "hello"}
    \"\"\"
  Then the response status is 2xx
  And the response JSON at "job_id" matches "^job-[0-9a-f]{8}$"
  And the response time is below 500 ms
"""  # a worked example, shown in docs/steps.md (checked: every step exists)
register_type(**STEP_TYPES)


@step('the default service is "{service:Quoted}"')
def default_service(context: Any, service: str) -> None:
    """Send later requests that name no service to SERVICE (checked to exist in the environment).

    Example: Given the default service is "queen"
    """
    env = context.harness.env
    expect.contains(sorted(env.services), service, f"the services of environment {env.name!r}")
    http.client(context.harness).default_service = service


@step('I send a {method:HttpMethod} request to "{path:Quoted}"{options:RequestOptions}')
def send_request(context: Any, method: str, path: str, options: RequestOptions) -> None:
    """Send a request to a service and keep the response (see the module docstring for the tail).

    Example: When I send a POST request to "/v1/inference" on "queen" as tenant "acme" with JSON:
    """
    request = http.prepare(context.harness, method, path, options, context.text, context.table)
    expect.drove(f"{method} {request.path}")
    http.client(context.harness).send(request)


@step("the response status is {status:Status}")
def response_status(context: Any, status: str) -> None:
    """Check the last response's status code (200) or class (2xx).

    Example: Then the response status is 201
    """
    response = _last(context)
    expect.that(http.status_matches(response.status, status),
                f"expected status {status}, got {response.status}: {response.describe()}")


@step('the response JSON at "{path:Quoted}" equals {value:Rest}')
def json_equals(context: Any, path: str, value: str) -> None:
    """Check the JSON value at PATH against a JSON literal (strings quoted; true is not 1).

    Example: Then the response JSON at "error.code" equals "unknown_model"
    """
    expected = jsonpath.literal(context.harness.interpolate(value))
    actual = _last(context).json_at(path)
    expect.that(jsonpath.same(actual, expected),
                f"the response JSON at {path!r}: expected {jsonpath.excerpt(expected)}, "
                f"got {jsonpath.excerpt(actual)}\nin {_last(context).describe()}")


@step('the response JSON at "{path:Quoted}" contains {value:Rest}')
def json_contains(context: Any, path: str, value: str) -> None:
    """Check that the value at PATH contains a JSON literal (substring, array element, sub-object).

    Example: Then the response JSON at "models" contains "tiny-llama"
    """
    item = jsonpath.literal(context.harness.interpolate(value))
    actual = _last(context).json_at(path)
    expect.that(jsonpath.contains(actual, item),
                f"the response JSON at {path!r} does not contain {jsonpath.excerpt(item)}: "
                f"it is {jsonpath.excerpt(actual)}")


@step('the response JSON at "{path:Quoted}" matches "{pattern:Rest}"')
def json_matches(context: Any, path: str, pattern: str) -> None:
    """Check that the string at PATH matches a regular expression (searched, not anchored).

    Example: Then the response JSON at "job_id" matches "^job-[0-9a-f]{8}$"
    """
    actual = _last(context).json_at(path)
    expect.is_type(actual, "string", f"the response JSON at {path!r}")
    expect.matches(actual, pattern, f"the response JSON at {path!r}")


@step('the response JSON at "{path:Quoted}" exists')
def json_exists(context: Any, path: str) -> None:
    """Check that PATH names a value (possibly null) in the response JSON.

    Example: Then the response JSON at "workers[0].id" exists
    """
    _last(context).json_at(path)


@step('the response JSON at "{path:Quoted}" does not exist')
def json_absent(context: Any, path: str) -> None:
    """Check that PATH names nothing in the response JSON.

    Example: Then the response JSON at "error" does not exist
    """
    found = jsonpath.lookup(_last(context).json(), path)
    expect.that(not found.found, f"the response JSON at {path!r} exists: {jsonpath.excerpt(found.value)}")


@step('the response JSON at "{path:Quoted}" is {kind:JsonType}')
def json_type(context: Any, path: str, kind: str) -> None:
    """Check the JSON type at PATH: a string, a number, an integer, a boolean, an array, an object, null.

    Example: Then the response JSON at "tokens" is an array
    """
    expect.is_type(_last(context).json_at(path), kind, f"the response JSON at {path!r}")


@step('the response JSON at "{path:Quoted}" has {count:d} items')
def json_length(context: Any, path: str, count: int) -> None:
    """Check the number of items of the array (or keys of the object) at PATH.

    Example: Then the response JSON at "workers" has 4 items
    """
    expect.equal(_size(context, path), count, f"the number of items at {path!r}")


@step('the response JSON at "{path:Quoted}" has {count:d} items matching {value:Rest}')
def json_count_matching(context: Any, path: str, count: int, value: str) -> None:
    """Check how many items of the array at PATH contain a JSON literal (as "contains" does for one).

    Other items are ignored, so it holds whatever else an environment shared with earlier features lists.
    Example: Then the response JSON at "models" has 1 items matching {"name": "mistral-7b"}
    """
    item = jsonpath.literal(context.harness.interpolate(value))
    actual = _last(context).json_at(path)
    expect.is_type(actual, "array", f"the response JSON at {path!r}")
    matching = [element for element in actual if jsonpath.contains([element], item)]
    expect.that(len(matching) == count, f"the response JSON at {path!r}: expected {count} items matching "
                                        f"{jsonpath.excerpt(item)}, got {len(matching)}: {jsonpath.excerpt(actual)}")


@step('the response JSON at "{path:Quoted}" has at least {count:d} items')
def json_min_length(context: Any, path: str, count: int) -> None:
    """Check that the array (or object) at PATH has COUNT items or more.

    Example: Then the response JSON at "workers" has at least 2 items
    """
    expect.at_least(_size(context, path), count, f"the number of items at {path!r}")


@step("the response JSON has:")
def json_has(context: Any) -> None:
    """Check several paths at once: a table | path | value | of JSON literals; every row is reported.

    Example: Then the response JSON has:
    """
    response, fill, wrong = _last(context), context.harness.interpolate, []
    for row in _table(context):
        expected = jsonpath.literal(fill(row[1]))
        found = jsonpath.lookup(response.json(), row[0])
        try:
            expect.that(found.found and jsonpath.same(found.value, expected),
                        f"{row[0]!r}: expected {jsonpath.excerpt(expected)}, got "
                        f"{jsonpath.excerpt(found.value) if found.found else 'nothing (' + found.reason + ')'}")
        except AssertionError as exc:
            wrong.append(str(exc))
    expect.that(not wrong, f"{len(wrong)} paths differ in {response.describe()}:\n" + "\n".join(wrong))


@step("the response JSON equals:")
def json_document(context: Any) -> None:
    """Check the whole response JSON against the doc string (JSON; {name} filled in).

    Example: Then the response JSON equals:
    """
    expected = jsonpath.literal(context.harness.interpolate(_text(context)))
    actual = _last(context).json()
    expect.that(jsonpath.same(actual, expected), f"the response JSON differs: expected "
                f"{jsonpath.excerpt(expected)}, got {jsonpath.excerpt(actual)}")


@step('the response body contains "{text:Rest}"')
def body_contains(context: Any, text: str) -> None:
    """Check that the raw response body contains TEXT (any content type).

    Example: Then the response body contains "Directory listing"
    """
    response = _last(context)
    expect.that(context.harness.interpolate(text) in response.text,
                f"the response body does not contain {text!r}: {response.describe()}")


@step('the response header "{name:Quoted}" is "{value:Rest}"')
def header_is(context: Any, name: str, value: str) -> None:
    """Check a response header's value exactly (the name is case-insensitive).

    Example: Then the response header "Content-Type" is "application/json"
    """
    expect.equal(_last(context).headers.get(name), context.harness.interpolate(value),
                 f"the response header {name!r}")


@step('the response header "{name:Quoted}" contains "{text:Rest}"')
def header_contains(context: Any, name: str, text: str) -> None:
    """Check that a response header holds TEXT.

    Example: Then the response header "Content-Type" contains "json"
    """
    expect.contains(_last(context).headers.get(name) or "", context.harness.interpolate(text),
                    f"the response header {name!r}")


@step('the response header "{name:Quoted}" exists')
def header_exists(context: Any, name: str) -> None:
    """Check that the last response has header NAME.

    Example: Then the response header "Retry-After" exists
    """
    headers = _last(context).headers
    expect.that(name in headers, f"no response header {name!r}; headers: {', '.join(sorted(headers))}")


@step("the response time is below {ms:Number} ms")
def response_time(context: Any, ms: float) -> None:
    """Check how long the last request took, from sending to the whole body read.

    Example: Then the response time is below 500 ms
    """
    response = _last(context)
    expect.that(response.elapsed_ms < ms, f"the response took {response.elapsed_ms:.0f} ms, not below "
                                          f"{ms:g} ms: {response.method} {response.url}")


@step('I remember the response JSON at "{path:Quoted}" as "{name:Quoted}"')
def remember_json(context: Any, path: str, name: str) -> None:
    """Keep the value at PATH (checked to exist) for later steps as {NAME}.

    Example: When I remember the response JSON at "job_id" as "job_id"
    """
    context.harness.remember(name, _last(context).json_at(path))


@step('I remember the response header "{header:Quoted}" as "{name:Quoted}"')
def remember_header(context: Any, header: str, name: str) -> None:
    """Keep a response header (checked to exist) for later steps as {NAME}.

    Example: When I remember the response header "Location" as "job_url"
    """
    headers = _last(context).headers
    expect.that(header in headers, f"no response header {header!r}; headers: {', '.join(sorted(headers))}")
    context.harness.remember(name, headers[header])


def _last(context: Any) -> http.Response:
    return http.client(context.harness).last


def _size(context: Any, path: str) -> int:
    value = _last(context).json_at(path)
    expect.that(isinstance(value, (list, dict)),
                f"the response JSON at {path!r} is {jsonpath.type_name(value)}, not an array or object")
    return len(value)


def _table(context: Any) -> list[list[str]]:
    if context.table is None:
        raise HarnessError("this step needs a table", hint="add a heading row and rows: | path | value |")
    return [list(row) for row in context.table]


def _text(context: Any) -> str:
    if context.text is None:
        raise HarnessError("this step needs a doc string", hint='put it below the step between """ lines')
    return str(context.text)
