"""Find, read and merge result files into one Run; refuse inputs that cannot be trusted."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.analysis.model import HOOK_ERROR, ErrorInfo, Feature, Run, RunInfo, Scenario
from harness.errors import AnalysisError

RUNS_DIR = Path(".harness/runs")
_RUN_FILES = ("record.ndjson", "behave.json")


def newest_run(root: Path = RUNS_DIR) -> Path:
    """The most recent run folder under ``root``."""
    latest = root / "latest"
    if latest.is_symlink() and latest.is_dir():
        return latest.resolve()
    runs = [p for p in root.glob("*") if p.is_dir() and not p.is_symlink()] if root.is_dir() else []
    if not runs:
        raise AnalysisError(f"no run folder under {root}",
                            hint="run `harness run` first, or pass result files explicitly")
    return max(runs, key=lambda p: (p.stat().st_mtime, p.name))


def resolve_run(spec: str, root: Path = RUNS_DIR) -> Path:
    """A run given as folder, file or run id (a folder name under .harness/runs)."""
    path = Path(spec)
    if path.exists():
        return path
    if (root / spec).is_dir():
        return root / spec
    raise AnalysisError(f"no run {spec!r}: not a file, folder or run id under {root}",
                        hint="list runs with `ls .harness/runs`")


def run_files(folder: Path) -> list[Path]:
    """The best result files of a run folder: record, else behave JSON, else JUnit."""
    for name in _RUN_FILES:
        if (folder / name).is_file():
            return [folder / name]
    junit = sorted((folder / "junit").glob("*.xml")) + sorted(folder.glob("TESTS-*.xml"))
    if junit:
        return junit
    raise AnalysisError(f"{folder}: no record.ndjson, behave.json or junit/*.xml"
                        + _aborted_hint(folder),
                        hint="behave aborted before running (AmbiguousStep or a step module that does "
                             "not import?): run `behave --dry-run` and read its first error")


def _aborted_hint(folder: Path) -> str:
    for log in sorted(folder.glob("*.log")) + sorted(folder.glob("*.txt")):
        text = log.read_text(errors="replace")[-100_000:]
        if "AmbiguousStep" in text:
            return f"; {log.name} reports AmbiguousStep: behave aborted while loading steps"
    return ""


def expand(paths: Sequence[str]) -> list[Path]:
    """Files to read: run folders expand to their best files."""
    files: list[Path] = []
    for spec in paths:
        path = Path(spec)
        if path.is_dir():
            files.extend(run_files(path))
        elif path.is_file():
            files.append(path)
        else:
            raise AnalysisError(f"{spec}: no such file or folder",
                                hint="behave writes no JSON at all when it aborts (AmbiguousStep); "
                                     "check behave's output")
    return files


def load(paths: Sequence[str], *, recover: bool = True) -> Run:
    """Read every input (shards and retries merge) and check the result makes sense."""
    files = expand(paths)
    parts: list[tuple[list[Feature], RunInfo]] = [read_file(f) for f in files]
    features = parts[0][0] if len(parts) == 1 else merge(p[0] for p in parts)
    if recover:
        bases = [Path.cwd(), *(p for f in files for p in f.resolve().parents)]
        features = [recover_masked(f, bases) for f in features]
    info = _merge_info([p[1] for p in parts], files)
    run = Run(tuple(features), info)
    from harness.analysis.selfcheck import check

    check(run)
    return run


def _merge_info(infos: list[RunInfo], files: list[Path]) -> RunInfo:
    first = next((i for i in infos if i.commit or i.run_id), infos[0])
    return replace(first, sources=tuple(str(f) for f in files),
                   formats=tuple(sorted({fmt for i in infos for fmt in i.formats})),
                   hook_errors=tuple(e for i in infos for e in i.hook_errors),
                   aborted="; ".join(i.aborted for i in infos if i.aborted))


def read_file(path: Path) -> tuple[list[Feature], RunInfo]:
    """Read one result file, detecting its format from its content."""
    raw = path.read_bytes()
    head = raw.lstrip()[:1]
    if not head:
        raise AnalysisError(f"{path}: empty file",
                            hint="behave was killed before it finished writing, or wrote to stdout")
    if head == b"<":
        return _junit(path, raw)
    if head == b"{":
        from harness.analysis.read_record import read_record

        features, info = read_record(raw.decode("utf-8", "replace").splitlines(), str(path))
        return features, replace(info, formats=("record",))
    return _json(path, raw)


def _json(path: Path, raw: bytes) -> tuple[list[Feature], RunInfo]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(raw.rstrip()) - 1
        raise AnalysisError(f"{path}: {'truncated' if truncated else 'invalid'} JSON ({exc.msg} at "
                            f"line {exc.lineno})",
                            hint="behave was interrupted while writing (Ctrl-C, OOM, CI timeout); "
                                 "rerun it, or analyze the run record instead") from exc
    if not isinstance(data, list):
        raise AnalysisError(f"{path}: expected a JSON array of features, got {type(data).__name__}",
                            hint="pass behave's `-f json` output or Cucumber JSON")
    if not data:
        raise AnalysisError(f"{path}: behave JSON is an empty array: no feature ran",
                            hint="a before_all hook error or a tag expression that selected nothing; "
                                 "behave still prints '1 feature passed' — read its output")
    return _features_of(data), RunInfo(formats=(_json_format(data),))


def _json_format(data: list[Any]) -> str:
    from harness.analysis.read_cucumber import looks_like_cucumber

    return "cucumber" if looks_like_cucumber(data) else "behave-json"


def _features_of(data: list[Any]) -> list[Feature]:
    if _json_format(data) == "cucumber":
        from harness.analysis.read_cucumber import read_cucumber

        return read_cucumber(data)
    from harness.analysis.read_behave import read_behave

    return read_behave(data)


def _junit(path: Path, raw: bytes) -> tuple[list[Feature], RunInfo]:
    import xml.etree.ElementTree as ET

    from harness.analysis.read_junit import read_junit

    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise AnalysisError(f"{path}: unreadable XML ({exc})",
                            hint="the JUnit file is truncated; rerun the tests") from exc
    return read_junit(root), RunInfo(formats=("junit",))


def merge(parts: Iterable[list[Feature]]) -> list[Feature]:
    """Merge shards: features by file, scenarios by location; a repeated scenario is a retry."""
    order: list[str] = []
    by_path: dict[str, Feature] = {}
    scenarios: dict[str, dict[str, Scenario]] = {}
    for features in parts:
        for feature in features:
            key = feature.path or feature.name
            if key not in by_path:
                order.append(key)
                by_path[key], scenarios[key] = feature, {}
            elif feature.hook_error is not None:
                by_path[key] = replace(by_path[key], hook_error=feature.hook_error)
            for scenario in feature.scenarios:
                _add_attempt(scenarios[key], scenario)
    return [_rebuild(by_path[k], tuple(scenarios[k].values())) for k in order]


def _add_attempt(seen: dict[str, Scenario], scenario: Scenario) -> None:
    key = f"{scenario.location}::{scenario.name}"
    earlier = seen.get(key)
    attempts = (earlier.attempts or (earlier.status,)) if earlier else ()
    seen[key] = replace(scenario, attempts=(*attempts, scenario.status)) if earlier else scenario


def _rebuild(feature: Feature, scenarios: tuple[Scenario, ...]) -> Feature:
    from harness.analysis.model import container_status

    status = HOOK_ERROR if feature.hook_error else container_status(s.status for s in scenarios)
    return replace(feature, scenarios=scenarios, status=status if scenarios else feature.status)


def recover_masked(feature: Feature, bases: Sequence[Path] = ()) -> Feature:
    """A hook_error feature without scenarios (behave JSON): list them from the feature file."""
    if feature.status != HOOK_ERROR or feature.scenarios:
        return feature
    error = feature.hook_error or ErrorInfo("", "feature-level hook error (message not in behave JSON)",
                                            hook="before_feature")
    path = next((base / feature.path for base in (Path.cwd(), *bases)
                 if (base / feature.path).is_file()), None)
    scenarios = _parse_scenarios(path, feature, error) if path is not None else ()
    return replace(feature, scenarios=scenarios, hook_error=error)


def _parse_scenarios(path: Path, feature: Feature, error: ErrorInfo) -> tuple[Scenario, ...]:
    from harness.analysis.gherkin import untested_scenarios

    return untested_scenarios(path, feature, error)
