"""Reader for JUnit XML: behave's (steps recovered from system-out) and any other tool's.

One model for every producer: a feature per ``<testsuite>`` that holds testcases (nested suites are
walked once, never counted again by their ancestors); a ``<failure>``/``<error>`` on a suite itself
is a hook error of that suite, and so are failures the suite's attributes count but its testcases do
not show (tests are what is listed, as Jenkins counts them); a testcase's child elements decide its
status and a tool's own ``status`` attribute only fills in what they leave open.
"""

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
_SUITE_TAGS = frozenset({"testsuite", "testsuites"})
_PROBLEM_TAGS = ("failure", "error")
_OUTPUT_TAGS = frozenset({"system-out", "system-err"})
_RERUN_TAGS = frozenset({"flakyFailure", "flakyError", "rerunFailure", "rerunError"})
# a tool's own status attribute, read only when no child element says what happened
_ATTR_STATUS = {"disabled": SKIPPED, "skipped": SKIPPED, "skip": SKIPPED, "notrun": SKIPPED,
                "not run": SKIPPED, "ignored": SKIPPED, "pending": SKIPPED, "untested": UNTESTED,
                "failed": FAILED, "failure": FAILED, "fail": FAILED, "error": ERROR, "errored": ERROR,
                "broken": ERROR, "hook_error": HOOK_ERROR}


def read_junit(root: ET.Element) -> tuple[list[Feature], tuple[ErrorInfo, ...]]:
    """Features (one per testsuite holding testcases) and run-level errors of a JUnit document."""
    features: list[Feature] = []
    _walk(root, "", features)
    run_errors = tuple(_problem(node, "testsuites") for node in _problems(root)) \
        if root.tag != "testsuite" else ()
    return features, run_errors


def _walk(suite: ET.Element, parent: str, out: list[Feature]) -> None:
    """Visit ``suite`` and its nested suites, each exactly once."""
    name = suite.get("name", "") if suite.tag != "testsuites" else ""
    path = f"{parent}/{name}" if parent and name else name or parent
    cases = [child for child in suite if child.tag == "testcase"]
    errors = [_problem(node, "testsuite") for node in _problems(suite)] if suite.tag == "testsuite" else []
    unlisted = _unlisted(suite, errors) if suite.tag == "testsuite" else None
    errors += [unlisted] if unlisted is not None else []
    if cases or errors:
        out.append(_feature(suite, path, cases, errors[0] if errors else None))
    for child in suite:
        if child.tag in _SUITE_TAGS:
            _walk(child, path, out)


def _unlisted(suite: ET.Element, errors: list[ErrorInfo]) -> ErrorInfo | None:
    """A suite whose attributes count failures or errors it does not list (a TAP-style summary suite).

    Like Jenkins, the reader counts the listed testcases only; the difference is a problem of the suite.
    """
    if any(child.tag in _SUITE_TAGS for child in suite):
        return None  # a parent's counts are its children's: each child is checked itself
    counted = int(number(suite.get("failures"))) + int(number(suite.get("errors")))
    if counted <= len(errors):
        return None  # nothing can be missing (the usual case: skip counting the listed ones)
    listed = sum(1 for case in suite.iter("testcase") if any(c.tag in _PROBLEM_TAGS for c in case))
    unlisted_tests = int(number(suite.get("tests"))) - sum(1 for _ in suite.iter("testcase"))
    missing = min(counted - listed - len(errors), unlisted_tests)  # a count off among listed tests is the tool's
    if missing <= 0:
        return None
    return ErrorInfo("UnlistedFailures", f"the suite's attributes count {counted} failure(s) and error(s) but it "
                     f"lists {listed}: {missing} not listed as a testcase (counted as listed, as Jenkins does)",
                     hook="testsuite")


def _problems(node: ET.Element) -> list[ET.Element]:
    return [child for child in node if child.tag in _PROBLEM_TAGS]


def _feature(suite: ET.Element, name: str, cases: list[ET.Element], suite_error: ErrorInfo | None) -> Feature:
    behave = any("@scenario.begin" in _text(case.find("system-out")) for case in cases[:3])
    path = _behave_path(cases) if behave else next((c.get("file", "") for c in cases if c.get("file")), "")
    seen: dict[tuple[str, str], int] = {}
    scenarios = tuple(_scenario(case, _occurrence(case, seen, behave), behave, path or name) for case in cases)
    if behave and "." in name and path:
        name = name.split(".", 1)[1]
    hook_error = suite_error or (_masking_error(scenarios) if behave else None)
    if hook_error is not None:
        scenarios = tuple(replace(s, masked_by=hook_error) if s.status == UNTESTED else s for s in scenarios)
    status = HOOK_ERROR if hook_error else container_status(s.status for s in scenarios)
    return Feature(name, path or name, status, (), scenarios, hook_error=hook_error,
                   duration=number(suite.get("time")))


def _behave_path(cases: list[ET.Element]) -> str:
    """behave's JUnit names the feature file only in failure texts ("Location: path:line")."""
    for case in cases:
        for child in case:
            if child.tag in _PROBLEM_TAGS:
                where = _LOCATION.search(_text(child))
                if where:
                    return where.group(1)
    return ""


def _occurrence(case: ET.Element, seen: dict[tuple[str, str], int], behave: bool) -> int | None:
    """Which repeat of its classname and name a case is, when only file and line could tell repeats apart.

    A repeat with the same file and line is a true repeat (a retry); without them (behave, jest,
    TestNG data providers) the same names in one file are distinct tests.
    """
    if case.get("file") and case.get("line") and not behave:
        return None
    key = (case.get("classname", ""), case.get("name", ""))
    seen[key] = seen.get(key, -1) + 1
    return seen[key]


def _masking_error(scenarios: tuple[Scenario, ...]) -> ErrorInfo | None:
    """behave's JUnit shows a feature/rule-level hook error as scenarios skipped with status=untested."""
    if any(s.status == UNTESTED for s in scenarios):
        every = all(s.status == UNTESTED for s in scenarios)
        return ErrorInfo("", "feature-level hook error: scenarios did not run (JUnit reports them skipped)",
                         hook="before_feature" if every else "before_rule")
    return None


def status_of(case: ET.Element) -> tuple[str, ET.Element | None, ET.Element | None, ET.Element | None]:
    """A testcase's status (child elements first, the status attribute second), problem, skip, output."""
    problem = skipped = out = None
    for child in case:
        tag = child.tag
        if tag in _PROBLEM_TAGS:
            problem = child if problem is None else problem
        elif tag == "skipped":
            skipped = child
        elif tag == "system-out":
            out = child
    attr = case.get("status") or case.get("result")
    declared = _ATTR_STATUS.get(attr.strip().lower(), "") if attr else ""
    if problem is not None:
        return (FAILED if problem.tag == "failure" else ERROR), problem, skipped, out
    if skipped is not None:
        return (UNTESTED if declared == UNTESTED else SKIPPED), None, skipped, out
    return declared or PASSED, None, None, out


def _scenario(case: ET.Element, occurrence: int | None, behave: bool, fallback: str) -> Scenario:
    get = case.get
    classname, name, file, line = get("classname", ""), get("name", ""), get("file", ""), get("line", "")
    uid = f"{file}:{line}::{classname}::{name}" if occurrence is None else \
        f"{file}:{line}::{classname}::{name}#{occurrence}"
    duration = number(get("time"))
    if not behave and _plain_pass(case):  # the common case, kept cheap (100k+ per 50 MB)
        location = f"{file}:{line}" if file and line else file or classname
        return Scenario(name, location, PASSED, (), (), feature=file or fallback, feature_name=classname,
                        duration=duration, uid=uid)
    status, problem, skipped, out_node = status_of(case)
    out = _text(out_node) if behave or problem is not None else ""
    steps, tags = _steps_and_tags(out) if behave else ((), ())
    error = _problem(problem) if problem is not None else (
        ErrorInfo("", f"the test reports status={get('status')!r} without details")
        if status in (FAILED, ERROR, HOOK_ERROR) else None)
    steps = _attach(steps, error)
    where = _LOCATION.search(_text(problem)) if behave and problem is not None else None
    feature = where.group(1) if where else file
    location = (f"{feature}:{where.group(2)}" if where else f"{feature}:{line}" if feature and line
                else feature or classname)
    return Scenario(name, location, status, tags, steps, feature=feature or fallback,
                    feature_name=classname.split(".", 1)[-1] if behave else classname,
                    duration=duration, error=error,
                    skip_reason=(skipped.get("message", "") if skipped is not None else ""),
                    captured=redact(out[-20000:]) if problem is not None else "", uid=uid,
                    attempts=_reruns(case, status))


def _plain_pass(case: ET.Element) -> bool:
    """A testcase with no child but its output and no status attribute: passed (what status_of would say)."""
    size = len(case)
    return (size == 0 or (size == 1 and case[0].tag in _OUTPUT_TAGS)) and \
        case.get("status") is None and case.get("result") is None


def _reruns(case: ET.Element, status: str) -> tuple[str, ...]:
    """Surefire's reruns: flakyFailure/flakyError before a pass, rerunFailure/rerunError after a failure."""
    earlier = sum(1 for child in case if child.tag in _RERUN_TAGS)
    return (*(FAILED,) * earlier, status) if earlier else ()


def number(text: str | None) -> float:
    """A time attribute as seconds: tolerates thousands separators ("2,503.1") and junk (0.0)."""
    if not text:
        return 0.0
    try:
        return float(text)
    except ValueError:
        try:
            return float(text.replace(",", "").replace("_", "").strip())
        except ValueError:
            return 0.0


def _attach(steps: tuple[Step, ...], error: ErrorInfo | None) -> tuple[Step, ...]:
    """Give the scenario's error to its first failing step (behave's JUnit keeps them apart)."""
    if error is None:
        return steps
    for index, step in enumerate(steps):
        if step.status in (FAILED, ERROR, HOOK_ERROR, "undefined", "pending"):
            return (*steps[:index], step._replace(error=error), *steps[index + 1:])
    return steps


def _problem(node: ET.Element, hook: str = "") -> ErrorInfo:
    body = _text(node)
    parsed = parse_error("\n".join(line for line in body.splitlines()
                                   if not line.startswith(("Failing step:", "Location:"))))
    kind = node.get("type") or (parsed.type if parsed else "")
    message = redact(node.get("message") or (parsed.message if parsed else "") or body[:500])
    return ErrorInfo(kind.rsplit(".", 1)[-1], message, parsed.traceback if parsed else "",
                     (parsed.hook if parsed else "") or hook)


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
