"""Environment steps: pick the scenario's environment; check services, their logs, their exit codes.

Drivers (act, check nothing): 'the environment "X" is running', 'a fresh environment "X" is running'.
Every other step here verifies through harness.expect.

Log steps read only the lines written since the scenario started (by the engine's timestamps), so a
line from an earlier scenario on a reused environment cannot satisfy a later one; say "since the
environment started" to read the whole history (the count step always reads every run of the container).
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

from behave import register_type, step, use_step_matcher

from harness import expect
from harness.clients.http import STEP_TYPES
from harness.run.record import scenario_started
from harness.waiting import eventually

use_step_matcher("parse")

EXAMPLE = """
Scenario: the stack is up and a service says so in its logs
  Given the environment "example" is running
  Then the service "web" is healthy
  And within 10 seconds the logs of service "hive" contain "worker registered"
  And the exit code of service "migrate" is 0
"""  # a worked example, shown in docs/steps.md (checked: every step exists)
register_type(**STEP_TYPES)


@step('the environment "{name:Quoted}" is running')
def environment_running(context: Any, name: str) -> None:
    """Use environment NAME in this scenario, started (or reused, healthy) by the harness.

    Example: Given the environment "example" is running
    """
    expect.drove(f"use environment {name}")
    context.harness.use(name)


@step('a fresh environment "{name:Quoted}" is running')
def fresh_environment_running(context: Any, name: str) -> None:
    """Start a new instance of environment NAME for this scenario only (taken down at its end).

    Example: Given a fresh environment "example" is running
    """
    expect.drove(f"start fresh environment {name}")
    context.harness.use(name, fresh=True)


@step('the service "{service:Quoted}" is healthy')
def service_healthy(context: Any, service: str) -> None:
    """Check that every container of SERVICE runs and passes its readiness probe now.

    Example: Then the service "web" is healthy
    """
    env = _env_with(context, service)
    problems = [p for p in env.problems() if p.split(":", 1)[0] == service]
    expect.that(not problems, f"service {service!r} is not healthy: {'; '.join(problems)}\n"
                              f"Hint: `harness logs {service}` shows its logs")


@step('the service "{service:Quoted}" is not running')
def service_not_running(context: Any, service: str) -> None:
    """Check that no container of SERVICE is running (stopped, exited, removed).

    Example: Then the service "worker-1" is not running
    """
    env = _env_with(context, service)
    running = [o.name for o in env.refresh() if o.service == service and o.state == "running"]
    expect.that(not running, f"service {service!r} is still running: {', '.join(running)}")


@step('the logs of service "{service:Quoted}" contain "{text:Rest}"')
def logs_contain(context: Any, service: str, text: str) -> None:
    """Check that SERVICE's log lines since the scenario started (every replica) contain TEXT.

    Example: Then the logs of service "queen" contain "job {job_id} completed"
    """
    fill = context.harness.interpolate
    _check_logs(context, fill(service), fill(text))


@step('the logs of service "{service:Quoted}" since the environment started contain "{text:Rest}"')
def logs_contain_ever(context: Any, service: str, text: str) -> None:
    """Check SERVICE's whole log history (every replica, every earlier scenario) for TEXT.

    Example: Then the logs of service "db" since the environment started contain "database initialised"
    """
    fill = context.harness.interpolate
    _check_logs(context, fill(service), fill(text), whole=True)


@step('within {seconds:Number} seconds the logs of service "{service:Quoted}" contain "{text:Rest}"')
def logs_contain_within(context: Any, seconds: float, service: str, text: str) -> None:
    """Wait up to N seconds until SERVICE's log lines since the scenario started contain TEXT.

    Example: Then within 10 seconds the logs of service "hive" contain "worker registered"
    """
    fill = context.harness.interpolate
    wanted, service = fill(text), fill(service)
    interval = context.harness.env.spec.timeouts.probe_interval
    eventually(lambda: _check_logs(context, service, wanted), within=seconds, interval=interval)


@step('the logs of service "{service:Quoted}" match "{pattern:Rest}"')
def logs_match(context: Any, service: str, pattern: str) -> None:
    """Check that a regular expression is found in SERVICE's log lines since the scenario started (^ $ per line).

    Example: Then the logs of service "hive-1" match ""event": "worker_lost".*"worker_id": "worker-1-1""
    """
    fill = context.harness.interpolate
    service = fill(service)
    found = re.search(fill(pattern), _logs(context, service), re.MULTILINE)
    expect.that(found is not None, f"the logs of service {service!r}{_window(context)} do not match /{fill(pattern)}/\n"
                                   f"Hint: `harness logs {service}` shows them")


@step('the logs of service "{service:Quoted}" contain "{text:Rest}" exactly {count:d} times')
def logs_count(context: Any, service: str, text: str, count: int) -> None:
    """Check how many log lines of SERVICE (every replica, all runs of the container) contain TEXT.

    Example: Then the logs of service "hive-1" contain "registry_unreadable" exactly 1 times
    """
    fill = context.harness.interpolate
    service, text = fill(service), fill(text)
    lines = [line for line in context.harness.env.logs(service, tail=None).splitlines() if text in line]
    expect.that(len(lines) == count, f"{len(lines)} log lines of {service!r} contain {text!r}, "
                                     f"expected {count}:\n" + "\n".join(lines[-10:]))


@step('the exit code of service "{service:Quoted}" is {code:d}')
def exit_code(context: Any, service: str, code: int) -> None:
    """Check that SERVICE's (first) container has exited with CODE.

    Example: Then the exit code of service "migrate" is 0
    """
    state = _env_with(context, service).container(service).attrs["State"]
    expect.that(state.get("Status") != "running", f"service {service!r} is still running (no exit code yet)")
    expect.equal(state.get("ExitCode"), code, f"the exit code of service {service!r}")


def _env_with(context: Any, service: str) -> Any:
    env = context.harness.env
    expect.contains(sorted(env.services), service, f"the services of environment {env.name!r}")
    return env


def _window(context: Any) -> str:
    """`` since 18:16:31.550 UTC`` (the scenario's start), or nothing when the whole log is read."""
    if getattr(context.harness.env, "compose", None) is None:
        return ""
    start = scenario_started(context)
    return time.strftime(" since %H:%M:%S", time.gmtime(start)) + f".{int(start % 1 * 1000):03d} UTC"


def _logs(context: Any, service: str, whole: bool = False) -> str:
    """SERVICE's log lines (every replica), all of them or those since the scenario started."""
    env = _env_with(context, service)
    compose = getattr(env, "compose", None)
    if whole or compose is None:  # an environment without a compose project has no timestamps to cut at
        return str(env.logs(service))
    return since(compose.logs(service, timestamps=True), scenario_started(context))


def since(stamped: str, start: float) -> str:
    """Lines of ``compose logs --timestamps`` output written at or after ``start``, without the stamps."""
    kept = []
    for line in stamped.splitlines():
        prefix, bar, rest = line.partition(" | ")
        stamp, _, text = (rest if bar else prefix).partition(" ")
        at = _epoch(stamp)
        if at is None or at >= start:
            kept.append(f"{prefix} | {text}" if bar else text)
    return "\n".join(kept) + ("\n" if kept else "")


def _epoch(stamp: str) -> float | None:
    """RFC 3339 with nanoseconds (``2026-11-30T18:14:31.123456789Z``) as epoch seconds; None if not one."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", stamp)
    if match is None:
        return None
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    whole = datetime.fromisoformat(match.group(1) + zone).timestamp()
    return whole + float(match.group(2) or 0.0)


def _check_logs(context: Any, service: str, text: str, whole: bool = False) -> None:
    env = _env_with(context, service)
    logs = _logs(context, service, whole)
    tail = "\n".join(logs.rstrip().splitlines()[-env.spec.timeouts.log_tail:])
    where = "" if whole else _window(context)
    expect.that(text in logs, f"the logs of service {service!r}{where} do not contain {text!r}; "
                              f"last lines:\n{tail or '(no log lines)'}")
