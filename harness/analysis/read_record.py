"""Reader for the harness's run record (NDJSON written by harness.run.record.RecordFormatter)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from orjson import loads as _loads  # a dependency: json.loads per line took 4x the time

from harness.analysis.model import ErrorInfo, Feature, Rule, RunInfo, Scenario, Step
from harness.analysis.redact import redact
from harness.errors import AnalysisError

RECORD_FORMAT = "harness-record/1"


@dataclass
class _Builder:
    features: list[Feature] = field(default_factory=list)
    feature: dict[str, Any] | None = None
    rules: list[Rule] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)
    scenario: dict[str, Any] | None = None
    steps: list[Step] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    hook_errors: list[ErrorInfo] = field(default_factory=list)
    rule_errors: dict[str, ErrorInfo] = field(default_factory=dict)

    def close_scenario(self) -> None:
        if self.scenario is not None and self.feature is not None:
            scenario = _scenario(self.scenario, tuple(self.steps), self.feature)
            masked = self.rule_errors.get(scenario.rule) if scenario.rule else None
            if masked is not None and scenario.status == "untested":
                scenario = replace(scenario, masked_by=masked)
            self.scenarios.append(scenario)
        self.scenario, self.steps = None, []

    def close_feature(self) -> None:
        self.close_scenario()
        if self.feature is not None:
            self.features.append(_feature(self.feature, tuple(self.scenarios), tuple(self.rules)))
        self.feature, self.scenarios, self.rules = None, [], []


def read_record(lines: Iterable[str], source: str = "") -> tuple[list[Feature], RunInfo]:
    """Features and run info from record lines."""
    builder = _Builder()
    numbered = [(number, line) for number, line in enumerate(lines, 1) if line.strip()]
    cut = ""
    for index, (number, line) in enumerate(numbered):
        if index == len(numbered) - 1 and not _complete(line):
            # the writer was killed (or the disk filled) in the middle of its last line
            cut = (f"the record stops in the middle of line {number} (its writer was killed or the disk "
                   f"filled): read up to line {numbered[index - 1][0] if index else 0}")
            break
        _take(builder, _parse(line, source, number))
    builder.close_feature()
    info = builder.info
    ended = "" if "finished" in info else "the record has no end line (behave was killed?)"
    return builder.features, RunInfo(
        run_id=str(info.get("run_id", "")), commit=str(info.get("commit", "")),
        started=str(info.get("started", "")), tags=str(info.get("tags", "")),
        hook_errors=tuple(builder.hook_errors), aborted=cut or ended)


def _complete(line: str) -> bool:
    """Whether the last line is a whole JSON object (not cut short)."""
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def _parse(line: str, source: str, number: int) -> dict[str, Any]:
    try:
        data: dict[str, Any] = _loads(line)
    except json.JSONDecodeError as exc:
        raise AnalysisError(f"{source}:{number}: not a JSON line ({exc.msg})",
                            hint="the record is truncated or not a harness record") from exc
    return data


def _take(builder: _Builder, data: dict[str, Any]) -> None:
    kind = data.get("kind")
    if kind == "feature":
        builder.close_feature()
        builder.feature = data
        builder.rule_errors = {}
    elif kind == "rule":
        builder.close_scenario()
        builder.rules.append(Rule(data.get("name", ""), data.get("location", ""), data.get("status", "")))
        error = _error(data.get("error")) if data.get("hook_error") else None
        if error is not None:
            builder.rule_errors[data.get("name", "")] = error
    elif kind == "scenario":
        builder.close_scenario()
        builder.scenario = data
    elif kind == "step":
        builder.steps.append(_step(data))
    elif kind == "hook_error":
        builder.hook_errors.append(_error(data) or ErrorInfo())
    elif kind == "run":
        builder.info.update({k: v for k, v in data.items() if k not in ("kind", "event")})


def _error(data: dict[str, Any] | None) -> ErrorInfo | None:
    if not data:
        return None
    return ErrorInfo(str(data.get("type", "")), redact(str(data.get("message", ""))),
                     redact(str(data.get("traceback", ""))), str(data.get("hook", "")))


def _step(data: dict[str, Any]) -> Step:
    return Step(data.get("keyword", ""), data.get("name", ""), data.get("location", ""),
                data.get("status", ""), float(data.get("duration") or 0.0), _error(data.get("error")),
                data.get("match", ""), data.get("verifications"), data.get("actions"),
                redact(data.get("captured", "") or ""), data.get("environment"),
                float(data.get("started") or 0.0))


def _scenario(data: dict[str, Any], steps: tuple[Step, ...], feature: dict[str, Any]) -> Scenario:
    error = _error(data.get("error")) or next((s.error for s in steps if s.error is not None), None)
    return Scenario(data.get("name", ""), data.get("location", ""), data.get("status", ""),
                    tuple(data.get("tags") or ()), steps,
                    feature=str(feature.get("location", "")).rsplit(":", 1)[0],
                    feature_name=feature.get("name", ""), rule=data.get("rule", ""),
                    duration=float(data.get("duration") or 0.0), error=error,
                    skip_reason=data.get("skip_reason", ""), captured=redact(data.get("captured", "")),
                    environment=data.get("environment"), started=float(data.get("started") or 0.0))


def _feature(data: dict[str, Any], scenarios: tuple[Scenario, ...], rules: tuple[Rule, ...]) -> Feature:
    hook_error = _error(data.get("error")) if data.get("hook_error") else None
    if hook_error is not None:
        scenarios = tuple(replace(s, masked_by=hook_error) if s.status == "untested" else s
                          for s in scenarios)
    return Feature(data.get("name", ""), data.get("location", ""), data.get("status", ""),
                   tuple(data.get("tags") or ()), scenarios, rules, hook_error,
                   float(data.get("duration") or 0.0))
