"""Find, read and merge result files into one Run; refuse inputs that cannot be trusted."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.analysis.model import HOOK_ERROR, PASSED, ErrorInfo, Feature, Run, RunInfo, Scenario
from harness.errors import AnalysisError
from harness.runfolder import BEHAVE_JSON, RECORD, RunFolder, default_runs_dir, latest_link, names

_RUN_FILES = (RECORD, BEHAVE_JSON)


def newest_run(root: Path | None = None) -> Path:
    """The most recent run folder under ``root`` (default: HARNESS_RUNS_DIR, else .harness/runs)."""
    root = root or default_runs_dir()
    latest = latest_link(root)
    if latest.is_symlink() and latest.is_dir():
        return latest.resolve()
    runs = [p for p in root.glob("*") if p.is_dir() and not p.is_symlink()] if root.is_dir() else []
    if not runs:
        raise AnalysisError(f"no run folder under {root}",
                            hint="run `harness run` first, or pass result files explicitly")
    return max(runs, key=lambda p: (p.stat().st_mtime, p.name))


def resolve_run(spec: str, root: Path | None = None) -> Path:
    """A run given as folder, file or run id (a folder name under HARNESS_RUNS_DIR, else .harness/runs)."""
    root = root or default_runs_dir()
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
    junit = sorted(RunFolder(folder).junit_dir.glob("*.xml")) + sorted(folder.glob("TESTS-*.xml"))
    if junit:
        return junit
    raise AnalysisError(f"{folder}: no {RECORD}, {BEHAVE_JSON} or {names.JUNIT}/*.xml"
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
                                hint="check the path; a runner that aborts early writes no result file "
                                     "at all (behave: AmbiguousStep) — read its output")
    return files


FORMATS = "behave JSON, Cucumber JSON, Cucumber Messages NDJSON, JUnit XML, harness record"
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
         (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_MESSAGE_KEYS = frozenset({"meta", "source", "gherkinDocument", "pickle", "stepDefinition", "hook",
                           "parameterType", "testRunStarted", "testCase", "testCaseStarted",
                           "testStepStarted", "testStepFinished", "testCaseFinished", "testRunFinished",
                           "attachment", "undefinedParameterType", "parseError", "testRunHookStarted",
                           "testRunHookFinished", "suggestion"})


def load(paths: Sequence[str], *, recover: bool = True) -> Run:
    """Read every input (shards and retries merge) and check the result makes sense."""
    files = expand(paths)
    parts: list[tuple[list[Feature], RunInfo]] = [read_file(f) for f in files]
    if all(not features and not info.hook_errors for features, info in parts):
        raise _nothing_ran(files, parts[0][1])
    features = merge(p[0] for p in parts)
    if recover:
        bases = [Path.cwd(), *(p for f in files for p in f.resolve().parents)]
        features = [recover_masked(f, bases) for f in features]
    info = _merge_info([p[1] for p in parts], files)
    run = Run(tuple(features), info)
    # lazy: only when a run is checked against itself
    from harness.analysis.selfcheck import check

    check(run)
    return run


def _merge_info(infos: list[RunInfo], files: list[Path]) -> RunInfo:
    first = next((i for i in infos if i.commit or i.run_id), infos[0])
    return replace(first, sources=tuple(str(f) for f in files),
                   formats=tuple(sorted({fmt for i in infos for fmt in i.formats})),
                   hook_errors=tuple(e for i in infos for e in i.hook_errors),
                   aborted="; ".join(i.aborted for i in infos if i.aborted),
                   notes=tuple(n for i in infos for n in i.notes))


def read_file(path: Path) -> tuple[list[Feature], RunInfo]:
    """Read one result file, detecting its format from its content; a file holding no test is an error."""
    raw = path.read_bytes()
    try:
        features, info = _read(path, raw)
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
        raise AnalysisError(f"{path}: the content is not shaped like any of: {FORMATS} "
                            f"({type(exc).__name__}: {exc})",
                            hint="a result file edited by hand or written by a tool version we do not know; "
                                 "open an issue with the file attached") from exc
    if not features and not info.hook_errors:  # among others it is fine: behave writes one per feature
        info = replace(info, notes=(f"{path}: empty (holds no test: a tag expression selected none of it)",))
    return features, replace(info, sources=(str(path),))


def _nothing_ran(files: list[Path], info: RunInfo) -> AnalysisError:
    """Every input holds no test: the run ran nothing."""
    what = f"{files[0]}: nothing ran: a valid {info.formats[0]} file that holds no test" if len(files) == 1 else \
        f"{files[0].parent}: nothing ran: none of the {len(files)} input files holds a test"
    return AnalysisError(what, hint="a before_all hook error, a wrong features path, a tag expression that "
                                    "selected nothing, or an empty shard")


def _read(path: Path, raw: bytes) -> tuple[list[Feature], RunInfo]:
    if not raw.strip():
        raise AnalysisError(f"{path}: empty file",
                            hint="the test runner was killed before it finished writing, or wrote to stdout")
    text_head, encoding = _head(raw)
    if text_head.startswith("<"):
        return _junit(path, raw)
    if not text_head.startswith(("[", "{")):
        raise _not_a_result(path, f"it starts with {raw.lstrip()[:16]!r}")
    text = decode(path, raw, encoding)
    return _json(path, text) if text_head.startswith("[") else _ndjson(path, text)


def _head(raw: bytes) -> tuple[str, str]:
    """The first non-blank characters and the encoding the BOM (or the byte pattern) gives."""
    encoding = next((name for bom, name in _BOMS if raw.startswith(bom)), "")
    if not encoding and len(raw) > 1 and (raw[0] == 0) != (raw[1] == 0):
        encoding = "utf-16-be" if raw[0] == 0 else "utf-16-le"
    sample = raw[:400]
    head = sample.decode(encoding or "utf-8", "replace").lstrip("\ufeff \t\r\n")
    return head, encoding or "utf-8"


def decode(path: Path, raw: bytes, encoding: str = "utf-8") -> str:
    """Text of a JSON/NDJSON file (BOMs and UTF-16/32 honoured); bad bytes name their place."""
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise AnalysisError(f"{path}: not {encoding.upper()} text: byte {exc.start} (line {line}) is "
                            f"{raw[exc.start:exc.start + 1]!r}; expected one of: {FORMATS}",
                            hint="JSON result files are UTF-8 (or UTF-16 with a BOM); was the file "
                                 "re-encoded or truncated by a copy?") from exc
    return text[1:] if text.startswith("\ufeff") else text


def _loads(text: str) -> Any:
    """json.loads, through orjson when it is installed (same result, less time)."""
    try:
        # lazy: optional speed-up (json is the fallback)
        import orjson
    except ImportError:  # pragma: no cover - orjson is optional
        return json.loads(text)
    return orjson.loads(text)


def _not_a_result(path: Path, why: str) -> AnalysisError:
    return AnalysisError(f"{path}: this is not one of: {FORMATS} ({why})",
                         hint="pass the file the test runner wrote (behave -f json, cucumber --format "
                              "json/message, a JUnit XML report, or a run folder)")


def _json(path: Path, text: str) -> tuple[list[Feature], RunInfo]:
    try:
        data = _loads(text)
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(text.rstrip()) - 1
        raise AnalysisError(f"{path}: {'truncated' if truncated else 'invalid'} JSON ({exc.msg} at "
                            f"line {exc.lineno} column {exc.colno})",
                            hint="the runner was interrupted while writing (Ctrl-C, OOM, CI timeout); "
                                 "rerun it, or analyze the run record instead") from exc
    if not isinstance(data, list):
        raise _not_a_result(path, f"a JSON {type(data).__name__}, not an array of features")
    if not data:
        raise AnalysisError(f"{path}: nothing ran: the JSON is an empty array of features",
                            hint="a before_all hook error (behave then writes [] yet prints '1 feature "
                                 "passed'), a wrong features path or a tag expression that selected nothing")
    kind = _json_format(data)
    if kind == "cucumber":
        # lazy: a reader loads only for the format found
        from harness.analysis.read_cucumber import read_cucumber

        return read_cucumber(data), RunInfo(formats=("cucumber",))
    if kind == "behave-json":
        # lazy: a reader loads only for the format found
        from harness.analysis.read_behave import read_behave

        return read_behave(data), RunInfo(formats=("behave-json",))
    raise _not_a_result(path, "a JSON array, but its first item has neither behave's 'location'/"
                              "'status' nor Cucumber's 'uri'/'elements'")


def _json_format(data: list[Any]) -> str:
    # lazy: a reader loads only for the format found
    from harness.analysis.read_cucumber import looks_like_cucumber

    first = data[0]
    if not isinstance(first, dict):
        return ""
    if looks_like_cucumber(data):
        return "cucumber"
    return "behave-json" if "location" in first and ("elements" in first or "status" in first) else ""


def _ndjson(path: Path, text: str) -> tuple[list[Feature], RunInfo]:
    first = text.lstrip().split("\n", 1)[0]
    try:
        head = json.loads(first)
    except json.JSONDecodeError:
        head = None
    if isinstance(head, dict) and "kind" in head:
        # lazy: a reader loads only for the format found
        from harness.analysis.read_record import read_record

        features, info = read_record(text.splitlines(), str(path))
        return features, replace(info, formats=("record",))
    if isinstance(head, dict) and head.keys() & _MESSAGE_KEYS:
        # lazy: a reader loads only for the format found
        from harness.analysis.read_messages import read_messages

        return read_messages(text.splitlines(), str(path))
    if head is None:
        raise _not_a_result(path, "its first line is not a JSON object (a pretty-printed JSON object?)")
    raise _not_a_result(path, f"a JSON object with keys {sorted(head)[:6]}")


def _junit(path: Path, raw: bytes) -> tuple[list[Feature], RunInfo]:
    # lazy: the XML parser loads only for JUnit input
    import xml.etree.ElementTree as ET

    # lazy: a reader loads only for the format found (it imports the XML parser)
    from harness.analysis.read_junit import read_junit

    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        line, column = exc.position
        raise AnalysisError(f"{path}: unreadable XML at line {line} column {column} ({exc}); expected "
                            f"JUnit XML, one of: {FORMATS}",
                            hint="the JUnit file is truncated, or its bytes do not match its declared "
                                 "encoding; rerun the tests") from exc
    if root.tag not in ("testsuites", "testsuite"):
        raise _not_a_result(path, f"XML whose root element is <{root.tag}>, not <testsuites>/<testsuite>")
    features, hook_errors = read_junit(root)
    return features, RunInfo(formats=("junit",), hook_errors=hook_errors)


def merge(parts: Iterable[list[Feature]]) -> list[Feature]:
    """Merge shards: features by file, scenarios by identity; a repeated identity is a retry.

    A scenario's identity is its ``uid`` (the reader's: file + classname + name + line where the
    format has them) or else location and name — so only true repeats count as retries, and the
    counts do not depend on how many files the results were split into.
    """
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
    key = scenario.uid or f"{scenario.location}::{scenario.name}"
    earlier = seen.get(key)
    if earlier is None:
        seen[key] = scenario
        return
    attempts = (*(earlier.attempts or (earlier.status,)), *(scenario.attempts or (scenario.status,)))
    final = earlier if earlier.status == PASSED and scenario.status != PASSED else scenario
    seen[key] = replace(final, attempts=attempts)  # a pass on any attempt: flaky, not failed


def _rebuild(feature: Feature, scenarios: tuple[Scenario, ...]) -> Feature:
    # lazy: only for JUnit and Cucumber containers
    from harness.analysis.model import container_status

    if scenarios == feature.scenarios:
        return feature
    status = HOOK_ERROR if feature.hook_error else container_status(s.status for s in scenarios)
    return replace(feature, scenarios=scenarios, status=status if scenarios else feature.status)


def recover_masked(feature: Feature, bases: Sequence[Path] = ()) -> Feature:
    """A hook_error feature missing scenarios (behave JSON): list the missing ones from the feature file."""
    if feature.status != HOOK_ERROR or not feature.path.endswith(".feature"):
        return feature
    error = feature.hook_error or ErrorInfo("", "feature-level hook error (message not in behave JSON)",
                                            hook="before_feature")
    path = next((base / feature.path for base in (Path.cwd(), *bases)
                 if (base / feature.path).is_file()), None)
    known = {s.name for s in feature.scenarios}
    missing = tuple(s for s in (_parse_scenarios(path, feature, error) if path is not None else ())
                    if s.name not in known)  # before_rule: the rule's scenarios are not in the JSON
    return replace(feature, scenarios=feature.scenarios + missing, hook_error=error)


def _parse_scenarios(path: Path, feature: Feature, error: ErrorInfo) -> tuple[Scenario, ...]:
    # lazy: only when untested scenarios are looked for in .feature files
    from harness.analysis.gherkin import untested_scenarios

    return untested_scenarios(path, feature, error)
