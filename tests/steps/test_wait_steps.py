"""'within N seconds:' re-runs a block of steps; 'I wait' is a driver."""

from __future__ import annotations

import time
from typing import Any

import pytest

from harness.errors import HarnessError, VerificationFailed
from tests.steps.kit import run


def test_a_block_is_retried_until_it_passes_and_its_last_attempt_is_counted(context: Any) -> None:
    counts = run(context, '''
        Then within 5 seconds:
          """
          When I send a GET request to "/counter/a" on "web"
          Then the response JSON at "count" equals 3
          """
        ''')
    assert counts == (3, 1)  # one attempt's request and its three checks (JSON, path, value)
    assert context.harness.extension("http", lambda: None).last.json()["count"] == 3


def test_a_block_that_never_passes_reports_the_last_failure(context: Any) -> None:
    with pytest.raises(VerificationFailed) as caught:
        run(context, '''
            Then within 0.5 seconds:
              """
              When I send a GET request to "/counter/b" on "web"
              Then the response JSON at "count" equals 0
              """
            ''')
    message = str(caught.value)
    assert message.startswith("still failing after 0.5 s; last observed: "
                              'Then the response JSON at "count" equals 0: the response JSON at \'count\': expected 0')


def test_a_request_without_answer_is_retried(context: Any, env: Any) -> None:
    env.base_url = "http://127.0.0.1:9"  # nothing listens on the discard port
    with pytest.raises(VerificationFailed, match="still failing after 0.3 s; last observed: When I send a GET "
                                                 "request to \"/json\" on \"web\": GET http://127.0.0.1:9/json"):
        run(context, 'Then within 0.3 seconds:\n"""\nWhen I send a GET request to "/json" on "web"\n"""')


def test_inner_doc_strings_and_tables_work_and_outer_text_is_restored(context: Any) -> None:
    run(context, """
        Then within 2 seconds:
          \"\"\"
          When I send a POST request to "/echo" on "api" with JSON:
            '''
            {"a": 1}
            '''
          Then the response JSON has:
            | path   | value |
            | json.a | 1     |
          \"\"\"
        """)
    assert context.text is not None and "When I send a POST" in context.text


def test_undefined_steps_and_missing_block_are_authoring_errors(context: Any) -> None:
    with pytest.raises(HarnessError, match="undefined step in the 'within' block: Then nothing happens"):
        run(context, 'Then within 1 seconds:\n"""\nThen nothing happens\n"""')
    with pytest.raises(HarnessError, match="needs the steps to retry in a doc string"):
        run(context, "Then within 1 seconds:")


def test_wait_is_a_driver(context: Any) -> None:
    started = time.monotonic()
    assert run(context, "When I wait 0.1 seconds") == (0, 1)
    assert time.monotonic() - started >= 0.1
