"""Exports: JUnit XML in which hook errors are errors (never 'skipped'), and Cucumber JSON."""

from __future__ import annotations

import datetime as _dt
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from harness.analysis.annotate import Annotation
from harness.analysis.model import (
    ERROR,
    FAILED,
    HOOK_ERROR,
    PASSED,
    PENDING,
    SKIPPED,
    UNDEFINED,
    ErrorInfo,
    Feature,
    Run,
    Scenario,
)


def junit(run: Run, notes: Mapping[str, Annotation] | None = None) -> str:
    """One JUnit document: a testsuite per feature, a testcase per scenario.

    Each testcase carries its captured output in ``<system-out>`` and, when it failed, what surrounded
    the failure (faults, load, the services' log lines) in ``<system-err>`` — what Jenkins and GitLab show.
    """
    root = ET.Element("testsuites")
    for feature in run.features:
        root.append(_suite(feature, notes or {}))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _suite(feature: Feature, notes: Mapping[str, Annotation]) -> ET.Element:
    cases = [_case(feature, s, notes.get(s.key)) for s in feature.scenarios]
    kinds = [c[0].tag if len(c) else "" for c in cases]
    return _element("testsuite", cases, name=feature.name or feature.path, file=feature.path,
                    tests=str(len(cases)), failures=str(kinds.count("failure")),
                    errors=str(kinds.count("error")), skipped=str(kinds.count("skipped")),
                    time=f"{feature.duration:.3f}")


def _case(feature: Feature, scenario: Scenario, note: Annotation | None = None) -> ET.Element:
    case = ET.Element("testcase", classname=feature.name or feature.path, name=scenario.name,
                      file=scenario.feature, time=f"{scenario.duration:.3f}")
    problem = _problem(scenario)
    if problem is not None:
        case.append(problem)
    elif scenario.status == PASSED:  # failed, then passed on a retry: flaky (Surefire's flakyFailure)
        case.extend(ET.Element("flakyFailure", type=status, message=f"attempt {n} {status}; passed on a retry")
                    for n, status in enumerate(scenario.attempts, 1) if status != PASSED)
    output = captured_output(scenario)
    if output:
        ET.SubElement(case, "system-out").text = output
    if note is not None and note.step:
        ET.SubElement(case, "system-err").text = context_text(note)
    return case


def captured_output(scenario: Scenario) -> str:
    """The scenario's captured output, else the failing steps' (behave captures per scenario)."""
    return scenario.captured or "\n".join(s.captured for s in scenario.steps if s.captured)


def context_text(note: Annotation) -> str:
    """A failure's context as plain text: the sentence, then the service log excerpt."""
    lines = [f"{note.step} {note.sentence()}"]
    if note.logs:
        lines += ["", "service logs around the failure:"]
        lines += [f"{_dt.datetime.fromtimestamp(x.at, _dt.UTC).strftime('%H:%M:%S.%f')[:-3]} {x.service}: {x.short}"
                  for x in note.logs]
    return "\n".join(lines)


def _problem(scenario: Scenario) -> ET.Element | None:
    error = scenario.masked_by or scenario.error or ErrorInfo()
    if scenario.masked_by is not None or scenario.status == HOOK_ERROR:
        return _detail("error", "hook_error", error, f"HOOK-ERROR in {error.hook or 'hook'}")
    if scenario.status == FAILED:
        return _detail("failure", error.type or "AssertionError", error, "")
    if scenario.status in (ERROR, UNDEFINED, PENDING) or scenario.status.endswith("error"):
        step = next((s for s in scenario.steps if s.status in (ERROR, UNDEFINED, PENDING, HOOK_ERROR)), None)
        kind = error.type or (f"{step.status} step: {step.text}" if step else scenario.status)
        return _detail("error", kind, error, "")
    if scenario.status == SKIPPED:
        return ET.Element("skipped", message=scenario.skip_reason)
    return None


def _detail(tag: str, kind: str, error: ErrorInfo, prefix: str) -> ET.Element:
    node = ET.Element(tag, type=kind, message=f"{prefix}: {error.message}" if prefix else error.message)
    node.text = error.traceback or error.message
    return node


def _element(tag: str, children: list[ET.Element], **attrs: str) -> ET.Element:
    node = ET.Element(tag, dict(attrs))
    node.extend(children)
    return node


_CUCUMBER = {PASSED: "passed", FAILED: "failed", SKIPPED: "skipped", UNDEFINED: "undefined",
             PENDING: "pending"}


def cucumber(run: Run) -> list[dict[str, Any]]:
    """Cucumber JSON (uri, line, tags as {name}, durations in integer nanoseconds)."""
    return [_cucumber_feature(f) for f in run.features]


def _line(location: str) -> int:
    tail = location.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _cucumber_feature(feature: Feature) -> dict[str, Any]:
    return {"uri": feature.path, "id": _slug(feature.name), "keyword": "Feature", "name": feature.name,
            "line": _line(feature.location), "description": "",
            "tags": [{"name": f"@{t}", "line": 1} for t in feature.tags],
            "elements": [_cucumber_scenario(feature, s) for s in feature.scenarios]}


def _cucumber_scenario(feature: Feature, scenario: Scenario) -> dict[str, Any]:
    steps = []
    for step in scenario.steps:
        result: dict[str, Any] = {"status": _CUCUMBER.get(step.status, "failed" if step.status.endswith("error")
                                                          else "skipped"),
                                  "duration": int(step.duration * 1e9)}
        if step.error is not None and (step.error.message or step.error.traceback):
            result["error_message"] = step.error.traceback or f"{step.error.type}: {step.error.message}"
        data: dict[str, Any] = {"keyword": f"{step.keyword} ", "name": step.name,
                                "line": _line(step.location), "result": result}
        if step.match:
            data["match"] = {"location": step.match}
        if step.embeddings:
            data["embeddings"] = list(step.embeddings)
        if step.captured:
            data["output"] = [step.captured]
        steps.append(data)
    element: dict[str, Any] = {}
    if scenario.masked_by is not None:
        element["before"] = [{"match": {"location": scenario.masked_by.hook or "hook"},
                              "result": {"status": "failed", "duration": 0,
                                         "error_message": f"HOOK-ERROR in {scenario.masked_by.hook}: "
                                                          f"{scenario.masked_by.message}"}}]
    return element | {"id": f"{_slug(feature.name)};{_slug(scenario.name)}", "keyword": "Scenario",
            "name": scenario.name, "line": _line(scenario.location), "type": "scenario",
            "description": "", "tags": [{"name": f"@{t}", "line": 1} for t in scenario.tags], "steps": steps}


def _slug(text: str) -> str:
    return "-".join(text.lower().split())
