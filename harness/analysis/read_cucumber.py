"""Reader for Cucumber JSON (cucumber-jvm/js/ruby, behave's cucumber formatters)."""

from __future__ import annotations

from typing import Any

from harness.analysis.messages import parse_error
from harness.analysis.model import (
    HOOK_ERROR,
    PASSED,
    SKIPPED,
    ErrorInfo,
    Feature,
    Scenario,
    Step,
    container_status,
    scenario_status,
)

# cucumber statuses -> behave's names
_STATUS = {"passed": PASSED, "failed": "failed", "skipped": SKIPPED, "pending": "pending",
           "undefined": "undefined", "ambiguous": "error", "unknown": "untested"}


def looks_like_cucumber(data: list[Any]) -> bool:
    """Cucumber JSON has ``uri`` on features and ``{name: "@tag"}`` tags."""
    return bool(data) and isinstance(data[0], dict) and ("uri" in data[0] or "id" in data[0])


def read_cucumber(data: list[dict[str, Any]]) -> list[Feature]:
    """Features from a Cucumber JSON array."""
    return [_feature(item) for item in data]


def _tags(raw: Any) -> tuple[str, ...]:
    return tuple(str(t.get("name", "") if isinstance(t, dict) else t).lstrip("@") for t in raw or ())


def _feature(item: dict[str, Any]) -> Feature:
    uri = str(item.get("uri", ""))
    tags = _tags(item.get("tags"))
    background: tuple[Step, ...] = ()
    scenarios: list[Scenario] = []
    for element in item.get("elements") or ():
        steps = tuple(_step(raw, uri) for raw in element.get("steps") or ())
        if element.get("type") == "background":
            background = steps
            continue
        all_steps = background + steps
        background = ()
        own = _tags(element.get("tags"))
        hook = _hook_failure(element)
        scenarios.append(Scenario(
            str(element.get("name", "")), f"{uri}:{element.get('line', 0)}",
            HOOK_ERROR if hook else scenario_status(s.status for s in all_steps) if all_steps else SKIPPED,
            tags + tuple(t for t in own if t not in tags), all_steps, feature=uri,
            feature_name=str(item.get("name", "")), duration=sum(s.duration for s in all_steps),
            error=hook or next((s.error for s in all_steps if s.error is not None), None)))
    return Feature(str(item.get("name", "")), f"{uri}:{item.get('line', 1)}",
                   container_status(s.status for s in scenarios) if scenarios else SKIPPED, tags, tuple(scenarios),
                   duration=sum(s.duration for s in scenarios))


def _step(raw: dict[str, Any], uri: str) -> Step:
    result = raw.get("result") or {}
    status = _STATUS.get(str(result.get("status", "skipped")), "error")
    error = parse_error(result.get("error_message")) if status != PASSED else None
    match = (raw.get("match") or {}).get("location", "")
    return Step(str(raw.get("keyword", "")).strip(), str(raw.get("name", "")),
                f"{uri}:{raw.get('line', 0)}", status, float(result.get("duration") or 0) / 1e9,
                error, match)


def _hook_failure(element: dict[str, Any]) -> ErrorInfo | None:
    """A failed before/after hook of a scenario."""
    for when in ("before", "after"):
        for hook in element.get(when) or ():
            result = hook.get("result") or {}
            if result.get("status") == "failed":
                parsed = parse_error(result.get("error_message")) or ErrorInfo()
                return ErrorInfo(parsed.type, parsed.message, parsed.traceback, parsed.hook or f"{when}_scenario")
    return None
