"""Scenarios of a feature file that never ran (hidden behind a feature-level hook error)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.analysis.model import UNTESTED, ErrorInfo, Feature, Scenario, Step


def untested_scenarios(path: Path, feature: Feature, error: ErrorInfo) -> tuple[Scenario, ...]:
    """Every scenario of ``path`` as untested, masked by ``error`` (uses behave's parser)."""
    try:
        # lazy: behave loads only where .feature files are parsed (analysis of result files never needs it)
        from behave.model import ScenarioOutline
        from behave.parser import parse_file
    except ImportError:  # pragma: no cover - behave is a dependency
        return ()
    try:
        parsed = parse_file(str(path))
    except Exception:  # noqa: BLE001 - a file we cannot parse just stays unexpanded
        return ()
    found: list[Scenario] = []
    for item in parsed.walk_scenarios() if parsed else ():
        if isinstance(item, ScenarioOutline):
            continue
        found.append(_untested(item, feature, error))
    return tuple(found)


def _untested(item: Any, feature: Feature, error: ErrorInfo) -> Scenario:
    steps = tuple(Step(s.keyword, s.name, str(s.location), UNTESTED) for s in item.all_steps)
    return Scenario(item.name, str(item.location), UNTESTED, tuple(str(t) for t in item.effective_tags),
                    steps, feature=feature.path, feature_name=feature.name, masked_by=error)
