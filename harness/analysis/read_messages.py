"""Reader for Cucumber Messages NDJSON (what current Cucumber implementations write by default).

The official schema (cucumber/messages): gherkinDocument and pickle describe what should run,
testCase lists a pickle's test steps (pickle steps and hooks), testCaseStarted/testStepFinished/
testCaseFinished report one attempt (``willBeRetried`` marks a retry), and testRunHookFinished
reports BeforeAll/AfterAll hooks. Hook steps are hooks, never steps; a pickle that never started
while a BeforeAll hook failed is untested, masked by that hook.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from harness.analysis.model import (
    ERROR,
    FAILED,
    HOOK_ERROR,
    PASSED,
    PENDING,
    SKIPPED,
    UNDEFINED,
    UNTESTED,
    ErrorInfo,
    Feature,
    RunInfo,
    Scenario,
    Step,
    container_status,
    scenario_status,
)
from harness.errors import AnalysisError

_STATUS = {"PASSED": PASSED, "FAILED": FAILED, "SKIPPED": SKIPPED, "PENDING": PENDING,
           "UNDEFINED": UNDEFINED, "AMBIGUOUS": ERROR, "UNKNOWN": UNTESTED}
_HOOK_NAMES = {"BEFORE_TEST_RUN": "before_all", "AFTER_TEST_RUN": "after_all",
               "BEFORE_TEST_CASE": "before_scenario", "AFTER_TEST_CASE": "after_scenario",
               "BEFORE_TEST_STEP": "before_step", "AFTER_TEST_STEP": "after_step"}
_HOOK_PROBLEMS = frozenset({FAILED, ERROR, UNDEFINED, PENDING})


@dataclass
class _State:
    """Everything the messages said, indexed by id."""

    features: dict[str, dict[str, Any]] = field(default_factory=dict)   # uri -> gherkin feature
    pickles: dict[str, dict[str, Any]] = field(default_factory=dict)
    hooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)      # testCase id -> testCase
    started: dict[str, dict[str, Any]] = field(default_factory=dict)    # testCaseStarted id -> msg
    results: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    finished: dict[str, bool] = field(default_factory=dict)             # started id -> willBeRetried
    run_hooks: dict[str, str] = field(default_factory=dict)             # testRunHookStarted -> hook
    run_errors: list[ErrorInfo] = field(default_factory=list)
    run_finished: dict[str, Any] | None = None


def read_messages(lines: Iterable[str], source: str = "") -> tuple[list[Feature], RunInfo]:
    """Features and run-level hook errors from Cucumber Messages lines."""
    state = _State()
    for number, line in enumerate(lines, 1):
        if line.strip():
            _take(state, _parse(line, source, number))
    return _features(state), RunInfo(formats=("cucumber-messages",), hook_errors=_run_errors(state))


def _parse(line: str, source: str, number: int) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise AnalysisError(f"{source}:{number}: not a JSON line ({exc.msg} at column {exc.colno}) in "
                            "Cucumber Messages NDJSON",
                            hint="the file is truncated, or two writers interleaved their lines") from exc
    if not isinstance(data, dict):
        raise AnalysisError(f"{source}:{number}: a Cucumber message must be a JSON object",
                            hint="pass the file `cucumber --format message` wrote")
    return data


def _take(state: _State, message: dict[str, Any]) -> None:
    for kind, body in message.items():
        handler = _HANDLERS.get(kind)
        if handler is not None and isinstance(body, dict):
            handler(state, body)


def _gherkin(state: _State, body: dict[str, Any]) -> None:
    if body.get("feature"):
        state.features[str(body.get("uri", ""))] = body["feature"]


def _pickle(state: _State, body: dict[str, Any]) -> None:
    state.pickles[str(body.get("id"))] = body


def _hook(state: _State, body: dict[str, Any]) -> None:
    state.hooks[str(body.get("id"))] = body


def _case(state: _State, body: dict[str, Any]) -> None:
    state.cases[str(body.get("id"))] = body


def _case_started(state: _State, body: dict[str, Any]) -> None:
    state.started[str(body.get("id"))] = body
    state.results[str(body.get("id"))] = {}


def _step_finished(state: _State, body: dict[str, Any]) -> None:
    results = state.results.setdefault(str(body.get("testCaseStartedId")), {})
    results[str(body.get("testStepId"))] = body.get("testStepResult") or {}


def _case_finished(state: _State, body: dict[str, Any]) -> None:
    state.finished[str(body.get("testCaseStartedId"))] = bool(body.get("willBeRetried"))


def _run_hook_started(state: _State, body: dict[str, Any]) -> None:
    state.run_hooks[str(body.get("id"))] = str(body.get("hookId"))


def _run_hook_finished(state: _State, body: dict[str, Any]) -> None:
    result = body.get("result") or {}
    if _STATUS.get(str(result.get("status")), ERROR) in _HOOK_PROBLEMS:
        hook = state.hooks.get(state.run_hooks.get(str(body.get("testRunHookStartedId")), ""), {})
        state.run_errors.append(_error(result, _HOOK_NAMES.get(str(hook.get("type")), "before_all")))


def _run_finished(state: _State, body: dict[str, Any]) -> None:
    state.run_finished = body


_HANDLERS = {"gherkinDocument": _gherkin, "pickle": _pickle, "hook": _hook, "testCase": _case,
             "testCaseStarted": _case_started, "testStepFinished": _step_finished,
             "testCaseFinished": _case_finished, "testRunHookStarted": _run_hook_started,
             "testRunHookFinished": _run_hook_finished, "testRunFinished": _run_finished}


def _run_errors(state: _State) -> tuple[ErrorInfo, ...]:
    """Failed BeforeAll/AfterAll hooks, and a run that says it failed for a reason outside any test."""
    errors = list(state.run_errors)
    finished = state.run_finished or {}
    if finished.get("exception") and not errors:
        errors.append(_error({"exception": finished["exception"], "message": finished.get("message")},
                             "test_run"))
    return tuple(errors)


def _error(result: dict[str, Any], hook: str = "") -> ErrorInfo:
    exception = result.get("exception") or {}
    message = str(exception.get("message") or result.get("message") or "").strip()
    return ErrorInfo(str(exception.get("type", "")).rsplit(".", 1)[-1], message.splitlines()[0] if message else "",
                     str(exception.get("stackTrace") or result.get("message") or ""), hook)


def _features(state: _State) -> list[Feature]:
    by_uri: dict[str, list[Scenario]] = {}
    attempts: dict[str, list[Scenario]] = {}
    for started_id, started in state.started.items():
        case = state.cases.get(str(started.get("testCaseId")))
        pickle = state.pickles.get(str(case.get("pickleId"))) if case else None
        if case is None or pickle is None:
            continue
        attempts.setdefault(str(pickle.get("id")), []).append(
            _scenario(state, pickle, case, state.results.get(started_id, {})))
    errors = _run_errors(state)
    masking = errors[0] if errors else None
    for pickle_id, pickle in state.pickles.items():
        tries = attempts.get(pickle_id)
        if tries:
            last = next((t for t in reversed(tries) if t.status == PASSED), tries[-1])
            scenario = last if len(tries) == 1 else _with_attempts(last, tries)
        elif masking is not None:  # a BeforeAll hook or the run itself failed before this test case
            scenario = _untested(pickle, state.features.get(str(pickle.get("uri", "")), {}), masking)
        else:
            continue  # not selected (tags, filters)
        by_uri.setdefault(str(pickle.get("uri", "")), []).append(scenario)
    return [_feature(uri, state.features.get(uri, {}), tuple(scenarios)) for uri, scenarios in by_uri.items()]


def _with_attempts(last: Scenario, tries: list[Scenario]) -> Scenario:

    return replace(last, attempts=tuple(t.status for t in tries))


def _feature(uri: str, gherkin: dict[str, Any], scenarios: tuple[Scenario, ...]) -> Feature:
    line = (gherkin.get("location") or {}).get("line", 1)
    tags = tuple(str(t.get("name", "")).lstrip("@") for t in gherkin.get("tags") or ())
    return Feature(str(gherkin.get("name", "")), f"{uri}:{line}", container_status(s.status for s in scenarios),
                   tags, scenarios, duration=sum(s.duration for s in scenarios))


def _scenario(state: _State, pickle: dict[str, Any], case: dict[str, Any],
              results: dict[str, dict[str, Any]]) -> Scenario:
    texts = {str(s.get("id")): s for s in pickle.get("steps") or ()}
    steps: list[Step] = []
    hook_error: ErrorInfo | None = None
    hook_skipped = False
    for test_step in case.get("testSteps") or ():
        result = results.get(str(test_step.get("id")), {})
        status = _STATUS.get(str(result.get("status", "UNKNOWN")), ERROR)
        if test_step.get("hookId") is not None:
            hook_skipped = hook_skipped or status == SKIPPED
            if hook_error is None and status in _HOOK_PROBLEMS:
                hook = state.hooks.get(str(test_step.get("hookId")), {})
                hook_error = _error(result, _HOOK_NAMES.get(str(hook.get("type")), "before_scenario"))
            continue
        steps.append(_step(texts.get(str(test_step.get("pickleStepId")), {}), result, status,
                           str(pickle.get("uri", ""))))
    status = HOOK_ERROR if hook_error else scenario_status(s.status for s in steps) if steps else PASSED
    if status == PASSED and hook_skipped:
        status = SKIPPED  # a hook that skips the test case (cucumber: the worst status wins)
    feature = state.features.get(str(pickle.get("uri", "")), {})
    return _make(pickle, feature, tuple(steps), status,
                 hook_error or next((s.error for s in steps if s.error), None))


def _step(pickle_step: dict[str, Any], result: dict[str, Any], status: str, uri: str) -> Step:
    duration = result.get("duration") or {}
    seconds = float(duration.get("seconds", 0) or 0) + float(duration.get("nanos", 0) or 0) / 1e9
    error = _error(result) if status in (FAILED, ERROR, PENDING) and (result.get("message") or
                                                                        result.get("exception")) else None
    kind = {"Context": "Given", "Action": "When", "Outcome": "Then"}.get(str(pickle_step.get("type")), "*")
    return Step(kind, str(pickle_step.get("text", "")), uri, status, seconds, error)


def _make(pickle: dict[str, Any], feature: dict[str, Any], steps: tuple[Step, ...], status: str,
          error: ErrorInfo | None, masked_by: ErrorInfo | None = None) -> Scenario:
    uri = str(pickle.get("uri", ""))
    line = (pickle.get("location") or {}).get("line", 0)
    return Scenario(str(pickle.get("name", "")), f"{uri}:{line}" if line else uri, status,
                    tuple(str(t.get("name", "")).lstrip("@") for t in pickle.get("tags") or ()), steps,
                    feature=uri, feature_name=str(feature.get("name", "")),
                    duration=sum(s.duration for s in steps), error=error, masked_by=masked_by,
                    uid=f"{uri}:{line or '/'.join(map(str, pickle.get('astNodeIds') or ()))}::{pickle.get('name', '')}")


def _untested(pickle: dict[str, Any], feature: dict[str, Any], error: ErrorInfo) -> Scenario:
    steps = tuple(Step("*", str(s.get("text", "")), str(pickle.get("uri", "")), UNTESTED)
                  for s in pickle.get("steps") or ())
    return _make(pickle, feature, steps, UNTESTED, None, masked_by=error)
