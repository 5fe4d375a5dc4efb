"""The environment steps against a fake environment (no Docker)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.env.probes import Observed
from harness.errors import VerificationFailed
from tests.steps.kit import FakeEnv, run


def test_environment_selection_is_a_driver(context: Any) -> None:
    used: list[tuple[str, bool]] = []
    context.harness.use = lambda name, fresh=False: used.append((name, fresh))
    assert run(context, 'Given the environment "example" is running') == (0, 1)
    assert run(context, 'Given a fresh environment "example" is running') == (0, 1)
    assert used == [("example", False), ("example", True)]


def test_healthy_looks_only_at_the_named_service(context: Any, env: FakeEnv) -> None:
    env.problem_list = ["api: GET /health answered 503", "api-2: exited"]
    assert run(context, 'Then the service "web" is healthy') == (2, 0)
    with pytest.raises(VerificationFailed, match="service 'api' is not healthy: api: GET /health answered 503$"
                       "|service 'api' is not healthy: api: GET /health answered 503\n"):
        run(context, 'Then the service "api" is healthy')
    with pytest.raises(VerificationFailed, match="'nope' not found in \\['api', 'job', 'web'\\]"):
        run(context, 'Then the service "nope" is healthy')


def test_not_running(context: Any, env: FakeEnv) -> None:
    env.observed = [Observed("web", "p-web-1", "1", "running"), Observed("job", "p-job-1", "2", "exited", exit_code=0)]
    run(context, 'Then the service "job" is not running')
    with pytest.raises(VerificationFailed, match="service 'web' is still running: p-web-1"):
        run(context, 'Then the service "web" is not running')


def test_logs_with_interpolation_and_waiting(context: Any, env: FakeEnv) -> None:
    env.log_text["web"] = "\n".join(f"line {i}" for i in range(10)) + "\njob j-7 done\n"
    context.harness.remember("job", "j-7")
    run(context, 'Then the logs of service "web" contain "job {job} done"')
    with pytest.raises(VerificationFailed) as caught:
        run(context, 'Then within 0.2 seconds the logs of service "web" contain "never"')
    message = str(caught.value)
    assert message.startswith("still failing after 0.2 s; last observed: the logs of service 'web' do not contain")
    assert "line 9\njob j-7 done" in message and "line 4" not in message  # the last log_tail lines


def test_exit_code(context: Any, env: FakeEnv) -> None:
    env.states = {"job": {"Status": "exited", "ExitCode": 3}, "web": {"Status": "running", "ExitCode": 0}}
    run(context, 'Then the exit code of service "job" is 3')
    with pytest.raises(VerificationFailed, match="exit code of service 'job': expected 0, got 3"):
        run(context, 'Then the exit code of service "job" is 0')
    with pytest.raises(VerificationFailed, match="service 'web' is still running"):
        run(context, 'Then the exit code of service "web" is 0')
