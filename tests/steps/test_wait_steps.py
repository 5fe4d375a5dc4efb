"""'within N seconds:' re-runs a block of steps; 'I wait' is a driver."""

from __future__ import annotations

import re
import socket
import threading
import time
from typing import Any

import pytest

from harness.errors import HarnessError, ServiceDown, VerificationFailed
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
    assert re.match(r"still failing after 0\.5 s \(\d+ attempts\); last observed: "
                    r'Then the response JSON at "count" equals 0: the response JSON at \'count\': expected 0', message)


def test_a_service_that_never_answers_fails_with_service_down_naming_it_the_attempts_and_the_last_error(
        context: Any, env: Any) -> None:
    env.base_url = "http://127.0.0.1:9"  # nothing listens on the discard port
    with pytest.raises(ServiceDown) as caught:
        run(context, 'Then within 0.3 seconds:\n"""\nWhen I send a GET request to "/json" on "web"\n"""')
    assert caught.value.service == "web" and caught.value.attempts >= 2
    assert re.match(r"service 'web' did not come back within 0\.3 s \('within N seconds:', \d+ attempts\); "
                    r"last error: RequestFailed: GET http://127\.0\.0\.1:9/json \(service 'web'\) could not connect",
                    str(caught.value)), str(caught.value)
    assert isinstance(caught.value, VerificationFailed)  # behave reports the step failed, not errored


def test_a_refused_request_is_retried_until_the_service_answers(context: Any, env: Any) -> None:
    good, env.base_url = env.base_url, "http://127.0.0.1:9"
    flipper = _flip(env, good, 0.3, 1)  # answers from 0.3 s on
    run(context, 'Then within 5 seconds:\n"""\nWhen I send a GET request to "/json" on "web"\n'
                 'Then the response status is 200\n"""')
    flipper.join()


def test_the_block_deadline_bounds_the_clients_own_timeout(context: Any, env: Any) -> None:
    """A server that accepts and never answers: the HTTP client's 30 s timeout is cut to the block's 0.5 s."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # the kernel accepts connections; nobody reads or answers
        env.base_url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        context.harness.userdata["http_timeout"] = "30"
        started = time.monotonic()
        with pytest.raises(ServiceDown, match=r"last error: RequestFailed: .* got no answer"):
            run(context, 'Then within 0.5 seconds:\n"""\nWhen I send a GET request to "/json" on "web"\n"""')
        assert time.monotonic() - started < 2.5


def test_for_n_seconds_retries_a_transient_error_and_holds(context: Any, env: Any) -> None:
    good = env.base_url
    def drop() -> None:
        time.sleep(0.2)
        env.base_url = "http://127.0.0.1:9"  # refused for 0.2 s, like a restart
        time.sleep(0.2)
        env.base_url = good
    dropper = threading.Thread(target=drop, daemon=True)
    dropper.start()
    run(context, 'Then for 1 seconds:\n"""\nWhen I send a GET request to "/json" on "web"\n'
                 'Then the response status is 200\n"""')
    dropper.join()


def test_for_n_seconds_ending_on_a_transient_error_is_service_down(context: Any, env: Any) -> None:
    env.base_url = "http://127.0.0.1:9"
    with pytest.raises(ServiceDown, match=r"'for N seconds:', \d+ attempts"):
        run(context, 'Then for 0.3 seconds:\n"""\nWhen I send a GET request to "/json" on "web"\n"""')


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


def test_for_n_seconds_keeps_checking_and_counts_the_last_attempt(context: Any) -> None:
    started = time.monotonic()
    counts = run(context, 'Then for 0.4 seconds:\n"""\nWhen I send a GET request to "/counter/e" on "web"\n'
                          'Then the response status is 200\n"""')
    assert time.monotonic() - started >= 0.4 and counts == (1, 1)
    assert context.harness.extension("http", lambda: None).last.json()["count"] >= 3  # several attempts


def test_for_n_seconds_fails_at_the_first_attempt_that_fails(context: Any) -> None:
    started = time.monotonic()
    with pytest.raises(VerificationFailed) as caught:
        run(context, 'Then for 5 seconds:\n"""\nWhen I send a GET request to "/counter/f" on "web"\n'
                     'Then the response body contains ""count": 1}"\n"""')
    assert time.monotonic() - started < 2
    message = str(caught.value)
    assert message.startswith("held for ") and " s of 5 s (2 attempts), then: Then the response body" in message
    assert '{"count": 2}' in message  # the second attempt failed


def _flip(env: Any, good: str, every: float, times: int) -> threading.Thread:
    """Point ``env`` at nothing (port 9) and back every ``every`` seconds, ``times`` times, ending on ``good``."""
    def flip() -> None:
        for n in range(times):
            time.sleep(every)
            env.base_url = good if n % 2 == 0 else "http://127.0.0.1:9"
        env.base_url = good
    thread = threading.Thread(target=flip, daemon=True)
    thread.start()
    return thread


def test_in_a_row_waits_for_a_streak_of_passes(context: Any, env: Any) -> None:
    good, env.base_url = env.base_url, "http://127.0.0.1:9"  # nothing answers at first
    flipper = _flip(env, good, 0.15, 3)  # answers, stops answering, answers for good from 0.45 s
    started = time.monotonic()
    counts = run(context, '''
        Given within 5 seconds, for 0.4 seconds in a row:
          """
          When I send a GET request to "/counter/g" on "web"
          Then the response status is 200
          """
        ''')
    flipper.join()
    assert time.monotonic() - started >= 0.85  # 0.45 s until it settles, then 0.4 s of passes
    assert counts == (1, 1)  # the last attempt's request and its check


def test_in_a_row_fails_when_passes_never_last_long_enough(context: Any, env: Any) -> None:
    good, env.base_url = env.base_url, "http://127.0.0.1:9"
    flipper = _flip(env, good, 0.2, 12)  # answers for 0.2 s at a time
    with pytest.raises(VerificationFailed) as caught:
        run(context, '''
            Given within 2 seconds, for 1 seconds in a row:
              """
              When I send a GET request to "/counter/h" on "web"
              Then the response status is 200
              """
            ''')
    flipper.join()
    message = str(caught.value)
    assert re.match(r"service 'web' did not come back within 2 s \('within N seconds, for M seconds in a row:', "
                    r"\d+ attempts; for 1 s in a row within 2 s \(longest run of passes 0\.\d s\)\); "
                    r"last error: RequestFailed: GET http://127\.0\.0\.1:9", message), message
    with pytest.raises(HarnessError, match="'for N seconds:' needs the steps to retry in a doc string"):
        run(context, "Then for 1 seconds:")
