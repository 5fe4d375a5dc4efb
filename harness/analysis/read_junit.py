"""Reader for JUnit XML: behave's (steps recovered from system-out) and any other tool's."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace

from harness.analysis.messages import parse_error
from harness.analysis.model import (
    ERROR,
    FAILED,
    HOOK_ERROR,
    PASSED,
    SKIPPED,
    UNTESTED,
    ErrorInfo,
    Feature,
    Scenario,
    Step,
    container_status,
)
from harness.analysis.redact import redact

_STEP = re.compile(r"^\s{4}(\S+) (.+?) \.\.\. (\w+)(?: in ([\d.]+)s)?\s*$")
_TAG_LINE = re.compile(r"^\s*(@\S+(?:\s+@\S+)*)\s*$")
_LOCATION = re.compile(r"^Location: (\S+):(\d+)", re.M)


def read_junit(root: ET.Element) -> list[Feature]:
    """Features (one per testsuite) from a parsed JUnit document."""
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    return [_feature(suite) for suite in suites if suite.find("testcase") is not None or
            suite.get("tests") not in (None, "0")]


def _feature(suite: ET.Element) -> Feature:
    scenarios = tuple(_scenario(case) for case in suite.iter("testcase"))
    name = suite.get("name", "")
    path = next((s.feature for s in scenarios if s.feature), "")
    if "." in name and path:
        name = name.split(".", 1)[1]
    hook_error = _masking_error(scenarios)
    fixed = tuple(replace(s, feature=s.feature or path or name,
                          masked_by=hook_error if s.status == UNTESTED else None) for s in scenarios)
    status = HOOK_ERROR if hook_error else container_status(s.status for s in fixed)
    return Feature(name, path or suite.get("name", ""), status, (), fixed, hook_error=hook_error,
                   duration=float(suite.get("time") or 0.0))


def _masking_error(scenarios: tuple[Scenario, ...]) -> ErrorInfo | None:
    """behave's JUnit shows a feature-level hook error as every scenario skipped, status=untested."""
    if scenarios and all(s.status == UNTESTED for s in scenarios):
        return ErrorInfo("", "feature-level hook error: no scenario ran (JUnit reports them skipped)",
                         hook="before_feature")
    return None


def _scenario(case: ET.Element) -> Scenario:
    problem = next((case.find(tag) for tag in ("failure", "error") if case.find(tag) is not None), None)
    skipped = case.find("skipped")
    out = _text(case.find("system-out"))
    steps, tags = _steps_and_tags(out)
    status = case.get("status") or (FAILED if problem is not None and problem.tag == "failure" else
                                    ERROR if problem is not None else SKIPPED if skipped is not None
                                    else PASSED)
    error = _problem(problem) if problem is not None else None
    steps = _attach(steps, error)
    body = _text(problem) if problem is not None else ""
    where = _LOCATION.search(body)
    feature = where.group(1) if where else ""
    classname = case.get("classname", "")
    return Scenario(case.get("name", ""), f"{feature}:{where.group(2)}" if where else classname,
                    status, tags, steps, feature=feature, feature_name=classname.split(".", 1)[-1],
                    duration=float(case.get("time") or 0.0), error=error,
                    skip_reason=(skipped.get("message", "") if skipped is not None else ""),
                    captured=redact(out[-20000:]) if problem is not None else "")


def _attach(steps: tuple[Step, ...], error: ErrorInfo | None) -> tuple[Step, ...]:
    """Give the scenario's error to its first failing step (behave's JUnit keeps them apart)."""
    if error is None:
        return steps
    for index, step in enumerate(steps):
        if step.status in (FAILED, ERROR, HOOK_ERROR, "undefined", "pending"):
            return (*steps[:index], step._replace(error=error), *steps[index + 1:])
    return steps


def _problem(node: ET.Element) -> ErrorInfo:
    body = _text(node)
    parsed = parse_error("\n".join(line for line in body.splitlines()
                                   if not line.startswith(("Failing step:", "Location:"))))
    kind = node.get("type") or (parsed.type if parsed else "")
    message = redact(node.get("message") or (parsed.message if parsed else ""))
    return ErrorInfo(kind.rsplit(".", 1)[-1], message, parsed.traceback if parsed else "",
                     parsed.hook if parsed else "")


def _steps_and_tags(out: str) -> tuple[tuple[Step, ...], tuple[str, ...]]:
    if "@scenario.begin" not in out:
        return (), ()
    steps: list[Step] = []
    tags: list[str] = []
    for line in out.split("@scenario.end", 1)[0].splitlines():
        found = _STEP.match(line)
        if found:
            steps.append(Step(found.group(1), found.group(2), "", found.group(3),
                              float(found.group(4) or 0.0)))
        elif _TAG_LINE.match(line):
            tags.extend(tag.lstrip("@") for tag in line.split())
    return tuple(steps), tuple(tags)


def _text(node: ET.Element | None) -> str:
    return (node.text or "").strip() if node is not None else ""
