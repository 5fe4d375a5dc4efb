"""Reader for behave's JSON formatter output (1.2.6 and 1.3.x)."""

from __future__ import annotations

from typing import Any

from harness.analysis.messages import parse_error
from harness.analysis.model import (
    HOOK_ERROR,
    PASSED,
    SKIPPED,
    UNTESTED,
    ErrorInfo,
    Feature,
    Scenario,
    Step,
    container_status,
    scenario_status,
)

_NOT_RUN_STATUS = {None: SKIPPED, SKIPPED: SKIPPED, UNTESTED: UNTESTED, HOOK_ERROR: UNTESTED}


def read_behave(data: list[dict[str, Any]]) -> list[Feature]:
    """Features from behave's JSON array (already parsed)."""
    return [_feature(item) for item in data]


def _feature(item: dict[str, Any]) -> Feature:
    tags = tuple(item.get("tags") or ())
    location = item.get("location", "")
    path = location.rsplit(":", 1)[0]
    scenarios = tuple(_scenario(element, tags, path, item.get("name", ""))
                      for element in item.get("elements") or ()
                      if element.get("type", "scenario") != "background")
    status = item.get("status") or container_status(s.status for s in scenarios)
    return Feature(item.get("name", ""), location, status, tags, scenarios,
                   duration=sum(s.duration for s in scenarios))


def _scenario(element: dict[str, Any], feature_tags: tuple[str, ...], path: str, fname: str) -> Scenario:
    declared = element.get("status")
    raw_steps = element.get("steps") or ()
    missing = _NOT_RUN_STATUS.get(declared, SKIPPED)
    steps = tuple(_step(raw, missing) for raw in raw_steps)
    status = declared or scenario_status(s.status for s in steps) if steps else (declared or SKIPPED)
    error = next((s.error for s in steps if s.error is not None), None)
    tags = feature_tags + tuple(t for t in element.get("tags") or () if t not in feature_tags)
    return Scenario(element.get("name", ""), element.get("location", ""), status, tags, steps,
                    feature=path, feature_name=fname, duration=sum(s.duration for s in steps),
                    error=error)


def _step(raw: dict[str, Any], missing: str) -> Step:
    result = raw.get("result")
    match = raw.get("match")
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
