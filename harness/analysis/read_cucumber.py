"""Reader for Cucumber JSON (cucumber-jvm/js/ruby, behave's cucumber formatters).

Hooks are hooks wherever a producer puts them: ``before``/``after`` lists on scenarios, on the
Background element (cucumber-ruby) and on steps (AfterStep), and hidden ``Before``/``After``
pseudo-steps inside ``steps`` (cucumber-js). A failing hook makes its scenario ``hook_error`` and
hook pseudo-steps are never counted as steps. A step without ``result`` is undefined, as
cucumber's own reporters count it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from harness.analysis.messages import parse_error
from harness.analysis.model import (
    HOOK_ERROR,
    PASSED,
    SKIPPED,
    UNDEFINED,
    ErrorInfo,
    Feature,
    Scenario,
    Step,
    container_status,
    scenario_status,
)

# cucumber statuses -> behave's names
_STATUS = {"passed": PASSED, "failed": "failed", "skipped": SKIPPED, "pending": "pending",
           "undefined": UNDEFINED, "ambiguous": "error", "unknown": "untested"}
_HOOK_KEYWORDS = frozenset({"before", "after", "beforestep", "afterstep"})


def looks_like_cucumber(data: list[Any]) -> bool:
    """Cucumber JSON has ``uri`` on features (or ``id`` plus ``elements``)."""
    first = data[0] if data else None
    return isinstance(first, dict) and ("uri" in first or ("id" in first and "elements" in first))


def read_cucumber(data: list[dict[str, Any]]) -> list[Feature]:
    """Features from a Cucumber JSON array."""
    return [_feature(item) for item in data if isinstance(item, dict)]


def _tags(raw: Any) -> tuple[str, ...]:
    return tuple(str(t.get("name", "") if isinstance(t, dict) else t).lstrip("@") for t in raw or ())


def _feature(item: dict[str, Any]) -> Feature:
    uri = str(item.get("uri", ""))
    tags = _tags(item.get("tags"))
    background: tuple[Step, ...] = ()
    background_hook: ErrorInfo | None = None
    scenarios: list[Scenario] = []
    seen: dict[str, int] = {}
    for element in item.get("elements") or ():
        steps, step_hook = _steps(element.get("steps") or (), uri)
        hook = _hook_failure(element) or step_hook
        if element.get("type") == "background":
            background, background_hook = steps, hook
            continue
        scenario = _scenario(element, item, background + steps, background_hook or hook, tags)
        if _shared_row_id(element):  # cucumber-js: every outline row has the outline's id and line
            seen[scenario.uid] = seen.get(scenario.uid, -1) + 1
            scenario = replace(scenario, uid=f"{scenario.uid}#{seen[scenario.uid]}")
        scenarios.append(scenario)
        background, background_hook = (), None
    return Feature(str(item.get("name", "")), f"{uri}:{item.get('line', 1)}",
                   container_status(s.status for s in scenarios) if scenarios else SKIPPED, tags,
                   tuple(scenarios), duration=sum(s.duration for s in scenarios))


def _shared_row_id(element: dict[str, Any]) -> bool:
    """An outline row whose id does not name its row: repeats are rows, not retries (cucumber-ruby
    writes each retry as a repeated element with the row's own ``;;N`` id and line)."""
    return "outline" in str(element.get("keyword", "")).lower() and ";;" not in str(element.get("id", ""))


def _scenario(element: dict[str, Any], item: dict[str, Any], steps: tuple[Step, ...],
              hook: ErrorInfo | None, tags: tuple[str, ...]) -> Scenario:
    uri = str(item.get("uri", ""))
    own = _tags(element.get("tags"))
    status = HOOK_ERROR if hook else scenario_status(s.status for s in steps) if steps else SKIPPED
    location = f"{uri}:{element.get('line', 0)}"
    return Scenario(str(element.get("name", "")), location, status,
                    tags + tuple(t for t in own if t not in tags), steps, feature=uri,
                    feature_name=str(item.get("name", "")), duration=sum(s.duration for s in steps),
                    error=hook or next((s.error for s in steps if s.error is not None), None),
                    uid=f"{location}::{element.get('id', '')}::{element.get('name', '')}")


def _steps(raw_steps: Any, uri: str) -> tuple[tuple[Step, ...], ErrorInfo | None]:
    """Real steps, and the first failing hook among hook pseudo-steps and per-step hooks."""
    steps: list[Step] = []
    hook: ErrorInfo | None = None
    for raw in raw_steps:
        if _is_hook(raw):
            hook = hook or _failed(raw, str(raw.get("keyword", "hook")).strip().lower() + "_scenario")
            continue
        steps.append(_step(raw, uri))
        hook = hook or _hook_failure(raw, "_step")
    return tuple(steps), hook


def _is_hook(raw: dict[str, Any]) -> bool:
    """cucumber-js writes Before/After hooks into ``steps`` (hidden, keyword Before/After, no name)."""
    return bool(raw.get("hidden")) or (str(raw.get("keyword", "")).strip().lower() in _HOOK_KEYWORDS
                                       and not raw.get("name"))


def _step(raw: dict[str, Any], uri: str) -> Step:
    result = raw.get("result")
    status = _STATUS.get(str(result.get("status", "")), "error") if result else UNDEFINED
    error = parse_error(result.get("error_message")) if result and status != PASSED else None
    match = (raw.get("match") or {}).get("location", "")
    return Step(str(raw.get("keyword", "")).strip(), str(raw.get("name", "")),
                f"{uri}:{raw.get('line', 0)}", status,
                float((result or {}).get("duration") or 0) / 1e9, error, match,
                captured="\n".join(str(x) for x in raw.get("output") or ()),
                embeddings=tuple(raw.get("embeddings") or ()))


def _hook_failure(element: dict[str, Any], suffix: str = "_scenario") -> ErrorInfo | None:
    """The first failed before/after hook of a scenario, background or step."""
    for when in ("before", "after"):
        for hook in element.get(when) or ():
            error = _failed(hook, when + suffix)
            if error is not None:
                return error
    return None


def _failed(hook: dict[str, Any], name: str) -> ErrorInfo | None:
    result = hook.get("result") or {}
    if result.get("status") not in ("failed", "ambiguous", "undefined", "pending"):
        return None
    parsed = parse_error(result.get("error_message")) or ErrorInfo()
    return ErrorInfo(parsed.type, parsed.message or f"{name} hook {result.get('status')}",
                     parsed.traceback, parsed.hook or name)
