"""The HTTP steps, run like behave runs them, against the local server."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from harness.errors import HarnessError, VerificationFailed
from harness.expect import LEDGER
from tests.steps.kit import run

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def test_send_is_a_driver_and_checks_are_counted(context: Any) -> None:
    assert run(context, 'When I send a GET request to "/json" on "web"') == (0, 1)
    assert run(context, "Then the response status is 200") == (1, 0)
    assert run(context, 'Then the response JSON at "error.code" equals "bad_input"') == (3, 0)  # JSON, path, value


def test_every_json_check_passes_on_the_document(context: Any) -> None:
    run(context, '''
        Given the default service is "web"
        When I send a GET request to "/json"
        Then the response status is 2xx
        And the response JSON at "items.0.id" equals 1
        And the response JSON at "items[0].tags" contains "b"
        And the response JSON at "items" contains {"id": 2}
        And the response JSON at "status" matches "^o."
        And the response JSON at "nothing" exists
        And the response JSON at "error.message" does not exist
        And the response JSON at "items" is an array
        And the response JSON at "ratio" is a number
        And the response JSON at "nothing" is null
        And the response JSON at "items" has 2 items
        And the response JSON at "items" has at least 1 items
        And the response JSON at "items" has 1 items matching {"id": 2}
        And the response JSON at "items" has 0 items matching {"id": 9}
        And the response JSON at "['dotted.key']" equals "x"
        And the response header "content-type" is "application/json"
        And the response header "Content-Type" contains "json"
        And the response header "Content-Length" exists
        And the response time is below 5000 ms
        And the response JSON has:
          | path       | value       |
          | status     | "ok"        |
          | flag       | true        |
          | items.1.id | 2           |
        ''')


@pytest.mark.parametrize(("check", "message"), [
    ("Then the response status is 201", "expected status 201, got 200: GET http://127.0.0.1:"),
    ('Then the response JSON at "flag" equals 1', "the response JSON at 'flag': expected 1, got true"),
    ('Then the response JSON at "error.nope" equals 1', "no 'error.nope' in the response JSON of GET"),
    ('Then the response JSON at "status" contains "x"', "does not contain \"x\": it is \"ok\""),
    ('Then the response JSON at "count" matches "3"', "expected a string, got int 3"),
    ('Then the response JSON at "status" does not exist', "the response JSON at 'status' exists: \"ok\""),
    ('Then the response JSON at "count" is a string', "expected a string, got int 3"),
    ('Then the response JSON at "status" has 2 items', "is string, not an array or object"),
    ('Then the response JSON at "items" has 2 items matching {"id": 2}', "expected 2 items matching {\"id\":2}, got 1"),
    ('Then the response JSON at "status" has 1 items matching "ok"', "expected a array, got str"),
    ('Then the response header "X-Nope" exists', "no response header 'X-Nope'; headers: content-length"),
    ("Then the response time is below 0 ms", "not below 0 ms: GET http://127.0.0.1:"),
    ('Then the response body contains "zzz"', "the response body does not contain 'zzz'"),
])
def test_failing_checks_say_what_was_expected_and_observed(context: Any, check: str, message: str) -> None:
    run(context, 'When I send a GET request to "/json" on "web"')
    with pytest.raises(VerificationFailed) as caught:
        run(context, check)
    assert message in str(caught.value)


def test_the_table_check_reports_every_differing_row_and_counts_each(context: Any) -> None:
    run(context, 'When I send a GET request to "/json" on "web"')
    with pytest.raises(VerificationFailed) as caught:
        run(context, """
            Then the response JSON has:
              | path   | value |
              | status | "ok"  |
              | count  | 4     |
              | gone   | 1     |
            """)
    message = str(caught.value)
    assert "2 paths differ" in message and "'count': expected 4, got 3" in message
    assert "'gone': expected 1, got nothing (the document has no key 'gone'" in message
    assert LEDGER.take()[0] >= 4


def test_json_body_interpolation_headers_and_query(context: Any) -> None:
    context.harness.remember("job_id", "j-42")
    run(context, '''
        When I send a POST request to "/echo/{job_id}" on "api" with JSON:
          """
          {"job_id": "{job_id}", "n": 2}
          """
        Then the response JSON at "json.job_id" equals "{job_id}"
        And the response JSON at "path" equals "/echo/j-42"
        And the response JSON at "headers.content-type" equals "application/json"
        When I send a GET request to "/echo" on "api" with headers:
          | name    | value    |
          | X-Trace | {job_id} |
        Then the response JSON at "headers.x-trace" equals "j-42"
        When I send a GET request to "/echo" on "api" with query:
          | name | value    |
          | q    | {job_id} |
        Then the response JSON at "query" equals {"q": "j-42"}
        When I send a PUT request to "/echo" on "api" with body:
          """
          not json
          """
        Then the response JSON at "body" equals "not json"
        ''')


def test_invalid_json_in_a_with_json_step_is_an_authoring_error(context: Any) -> None:
    with pytest.raises(HarnessError, match="not a JSON literal"):
        run(context, 'When I send a POST request to "/echo" on "api" with JSON:\n"""\n{oops\n"""')
    with pytest.raises(HarnessError, match="has no doc string"):
        run(context, 'When I send a POST request to "/echo" on "api" with JSON:')


@pytest.mark.parametrize(("tail", "tenant", "admin"), [
    (' as tenant "acme"', "acme", None), (' as admin', "default", True), (' as admin of tenant "t2"', "t2", True),
])
def test_tokens_from_the_factory(context: Any, tail: str, tenant: str, admin: bool | None) -> None:
    run(context, f'When I send a GET request to "/echo" on "api"{tail}')
    header = context.harness.extension("http", lambda: None).last.json()["headers"]["authorization"]
    claims = jwt.decode(header.removeprefix("Bearer "), SECRET, algorithms=["HS256"])
    assert claims["tenant"] == tenant and claims.get("admin") is admin


@pytest.mark.parametrize(("token", "check"), [
    ("none", 'Then the response JSON at "headers.authorization" does not exist'),
    ("malformed", 'Then the response JSON at "headers.authorization" equals "Bearer not-a-jwt"'),
    ("{raw}", 'Then the response JSON at "headers.authorization" equals "Bearer raw-token"'),
    ("expired", 'Then the response JSON at "headers.authorization" matches "^Bearer ey"'),
])
def test_with_token(context: Any, token: str, check: str) -> None:
    context.harness.remember("raw", "raw-token")
    run(context, f'When I send a GET request to "/echo" on "api" as tenant "acme" with token "{token}"\n{check}')


def test_remember_values_and_headers(context: Any) -> None:
    run(context, '''
        When I send a GET request to "/json" on "web"
        And I remember the response JSON at "items.1.id" as "second"
        And I remember the response header "Content-Type" as "kind"
        When I send a GET request to "/echo?id={second}" on "web"
        Then the response JSON at "query.id" equals "2"
        ''')
    assert context.harness.recall("kind") == "application/json"
    with pytest.raises(VerificationFailed, match="no 'items.7'"):
        run(context, 'When I remember the response JSON at "items.7" as "x"')


def test_default_service_must_exist_and_checks_need_a_request(context: Any) -> None:
    with pytest.raises(VerificationFailed, match="'nope' not found in \\['api', 'job', 'web'\\]"):
        run(context, 'Given the default service is "nope"')
    with pytest.raises(HarnessError, match="no request has been sent in this scenario"):
        run(context, "Then the response status is 200")
    with pytest.raises(HarnessError, match="has no service 'nope'"):
        run(context, 'When I send a GET request to "/json" on "nope"')


def test_the_client_is_per_scenario_and_closed_at_its_end(context: Any) -> None:
    run(context, 'When I send a GET request to "/json" on "web"')
    client = context.harness.extension("http", lambda: None)
    context.harness.end_scenario()
    assert client._http.is_closed
