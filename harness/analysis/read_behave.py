"""Reader for behave's JSON formatter output (1.2.6 and 1.3.x).

Two traps of behave's JSON are undone here: undefined steps after the first carry neither
``result`` nor ``match`` (behave's summary counts them undefined), and a feature-level hook error
(before/after_feature, before/after_tag, before/after_rule) shows only as a feature status that no
scenario explains — it becomes the feature's ``hook_error``.
"""

from __future__ import annotations

from typing import Any

from harness.analysis.messages import parse_error
from harness.analysis.model import (
    HOOK_ERROR,
    PASSED,
    PROBLEMS,
    SKIPPED,
    UNDEFINED,
    UNTESTED,
    ErrorInfo,
    Feature,
    Scenario,
    Step,
    container_status,
    scenario_status,
)

_new = tuple.__new__  # builds a Step without NamedTuple's Python-level __new__ (100k steps)
_TAIL = tuple(Step._field_defaults[name] for name in Step._fields[7:])  # verifications and later
_NOT_RUN_STATUS = {None: SKIPPED, SKIPPED: SKIPPED, UNTESTED: UNTESTED, HOOK_ERROR: UNTESTED}
_FEATURE_PROBLEMS = frozenset({"failed", "error", HOOK_ERROR})


class _Defined:
    """Step texts that have a step definition somewhere in the file (computed on first use)."""

    def __init__(self, data: list[dict[str, Any]]) -> None:
        self._data = data
        self._names: set[str] | None = None

    def __contains__(self, name: object) -> bool:
        if self._names is None:
            self._names = {raw.get("name", "") for item in self._data for element in item.get("elements") or ()
                           for raw in element.get("steps") or () if raw.get("match")}
        return name in self._names


def read_behave(data: list[dict[str, Any]]) -> list[Feature]:
    """Features from behave's JSON array (already parsed)."""
    defined = _Defined(data)
    return [_feature(item, defined) for item in data]


def _feature(item: dict[str, Any], defined: _Defined) -> Feature:
    tags = tuple(item.get("tags") or ())
    location = item.get("location", "")
    path = location.rsplit(":", 1)[0]
    scenarios = tuple(_scenario(element, tags, path, item.get("name", ""), defined)
                      for element in item.get("elements") or ()
                      if element.get("type", "scenario") != "background")
    declared = item.get("status")
    status = declared or container_status(s.status for s in scenarios)
    hook_error = _feature_hook_error(declared, scenarios)
    return Feature(item.get("name", ""), location, HOOK_ERROR if hook_error else status, tags, scenarios,
                   hook_error=hook_error, duration=sum(s.duration for s in scenarios))


def _feature_hook_error(declared: str | None, scenarios: tuple[Scenario, ...]) -> ErrorInfo | None:
    """A failed feature that no scenario explains: a hook at feature, tag or rule level failed."""
    if declared not in _FEATURE_PROBLEMS or any(s.status in PROBLEMS for s in scenarios):
        return None
    hook = "after_feature" if scenarios else "before_feature"
    return ErrorInfo("", f"feature-level hook error ({hook}, a tag or rule hook): behave JSON holds no "
                         f"message, the feature is {declared!r} while no scenario failed", hook=hook)


def _scenario(element: dict[str, Any], feature_tags: tuple[str, ...], path: str, fname: str,
              defined: _Defined) -> Scenario:
    declared = element.get("status")
    raw_steps = element.get("steps") or ()
    missing = _NOT_RUN_STATUS.get(declared, SKIPPED)
    steps = _steps(raw_steps, missing, defined)
    status = declared or scenario_status(s.status for s in steps) if steps else (declared or SKIPPED)
    error = next((s.error for s in steps if s.error is not None), None)
    if error is None and element.get("error_message"):  # a scenario without steps that says why (a lost one)
        error = parse_error(element.get("error_message"))
    tags = feature_tags + tuple(t for t in element.get("tags") or () if t not in feature_tags)
    return Scenario(element.get("name", ""), element.get("location", ""), status, tags, steps,
                    feature=path, feature_name=fname, duration=sum(s.duration for s in steps),
                    error=error)


def _steps(raw_steps: Any, missing: str, defined: _Defined) -> tuple[Step, ...]:
    """Steps; after an undefined step, a step without result is undefined unless its text is defined."""
    steps = [_step(raw, missing) for raw in raw_steps]
    first = next((i for i, step in enumerate(steps) if step.status == UNDEFINED), None)
    if first is None:
        return tuple(steps)
    for index in range(first + 1, len(steps)):
        raw = raw_steps[index]
        if raw.get("result") is None and raw.get("name", "") not in defined:
            steps[index] = steps[index]._replace(status=UNDEFINED)
    return tuple(steps)


def _step(raw: dict[str, Any], missing: str) -> Step:
    result = raw.get("result")
    match = raw.get("match")
    if result is not None and result.get("status") == PASSED:  # the common case, kept cheap
        return _new(Step, (raw.get("keyword", ""), raw.get("name", ""), raw.get("location", ""), PASSED,
                           float(result.get("duration") or 0.0), None, match.get("location", "") if match else "",
                           *_TAIL))
    if result is None:
        return Step(raw.get("keyword", ""), raw.get("name", ""), raw.get("location", ""), missing,
                    match=match.get("location", "") if match else "")
    status = result.get("status", PASSED)
    error = parse_error(result.get("error_message")) if status != PASSED else None
    if error is None and status not in (PASSED, SKIPPED, UNTESTED):
        error = ErrorInfo()
    return Step(raw.get("keyword", ""), raw.get("name", ""), raw.get("location", ""), status,
                float(result.get("duration") or 0.0), error,
                match.get("location", "") if match else "")
