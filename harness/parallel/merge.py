"""Merge the run folders of workers (and their retry attempts) into one run folder.

    <run>/record.ndjson   one start line, every attempt's features in order, one end line
    <run>/behave.json     every attempt's features (a repeated scenario is a retry to the analyzer)
    <run>/rerun.txt       the scenarios still failing after the last attempt
    <run>/junit/          one JUnit file made from the merged run (a flaky scenario says so)
    <run>/behave.log      every attempt's output under a header

A worker given ``file:line`` items (a retry, a feature tagged @parallel.scenarios) gets the
feature's other scenarios reported as skipped: a skipped scenario that ran somewhere else is
dropped, and of a scenario skipped everywhere one copy is kept, so the counts equal one run's.

A worker that died (SIGKILL, out of memory) wrote nothing of the feature it was in: ``add_lost``
writes each scenario no result covers into the merged record and behave JSON as an error of type
``WorkerLostError`` naming the dead worker, so every count, export and `harness analyze` has it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.analysis.exports import junit
from harness.parallel.shard import Planned
from harness.runfolder import RunFolder

SKIPPED = "skipped"
LOST = "WorkerLostError"  # the error type of a scenario whose worker died before writing its result


@dataclass(frozen=True)
class Part:
    """One behave process's output folder; ``only`` limits a retry to the scenarios it re-ran.

    ``foreign``: the items (feature paths, ``file:line``) other workers claimed (harness.parallel.claims);
    this part has them only as skipped copies, which are dropped.
    """

    label: str
    folder: Path
    only: frozenset[str] = field(default_factory=frozenset)
    foreign: frozenset[str] = field(default_factory=frozenset)

    @property
    def run(self) -> RunFolder:
        """The attempt's folder as a run folder."""
        return RunFolder(self.folder)

    @property
    def retry(self) -> bool:
        """A retry attempt (it keeps only the scenarios it re-ran)."""
        return bool(self.only)


def merge_folder(run_dir: Path, parts: Sequence[Part], run_id: str, final_failures: Sequence[str],
                 root: Path | None = None) -> None:
    """Write the merged record, behave JSON, rerun file and log of ``parts`` into ``run_dir``.

    ``final_failures`` are relative to ``root``, the folder the workers ran in (default: the working folder).
    """
    run = RunFolder(run_dir)
    _write_record(run.record, parts, run_id)
    _write_behave_json(run.behave_json, parts)
    run.write_rerun(final_failures, root)
    _write_log(run.behave_log, parts)


def rerun_locations(folder: Path) -> list[str]:
    """The ``file:line`` locations behave's rerun formatter wrote, as behave ran them (empty when none failed)."""
    return RunFolder(folder).read_rerun()


def _record_lines(part: Part) -> Iterator[dict[str, Any]]:
    path = part.run.record
    if not path.is_file():
        return
    keep = True
    for line in path.read_text().splitlines():
        try:
            data: dict[str, Any] = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a killed worker
        if data.get("kind") == "scenario":
            keep = not part.retry or str(data.get("location")) in part.only
        elif data.get("kind") in ("feature", "rule", "run", "hook_error"):
            keep = True
        if keep:
            yield data


def _scenario_key(data: dict[str, Any]) -> str:
    return f"{data.get('location')}::{data.get('name')}"


class _Skips:
    """Which skipped scenario copies to drop: those that ran elsewhere, and repeats."""

    def __init__(self, scenarios: Iterator[dict[str, Any]]) -> None:
        self.ran: set[str] = set()
        for data in scenarios:
            if data.get("status") != SKIPPED:
                self.ran.add(_scenario_key(data))
        self.kept: set[str] = set()

    def drop(self, data: dict[str, Any]) -> bool:
        """True for a skipped copy of a scenario that ran elsewhere or was already kept."""
        if data.get("status") != SKIPPED:
            return False
        key = _scenario_key(data)
        if key in self.ran or key in self.kept:
            return True
        self.kept.add(key)
        return False


def _without_skipped_copies(parts: Sequence[Part]) -> Iterator[dict[str, Any]]:
    skips = _Skips(d for p in parts for d in _record_lines(p) if d.get("kind") == "scenario")
    keep = True
    for part in parts:
        for data in _record_lines(part):
            if data.get("kind") == "scenario":
                keep = not skips.drop(data)
            elif data.get("kind") != "step":
                keep = True
            if keep:
                yield data


def _write_record(path: Path, parts: Sequence[Part], run_id: str) -> None:
    start: dict[str, Any] | None = None
    ends, body = 0, []
    for data in _without_skipped_copies(parts):
        if data.get("kind") != "run":
            body.append(data)
        elif data.get("event") == "start":
            start = start or {**data, "run_id": run_id}
        elif data.get("event") == "end":
            ends += 1
            end = data
    if start is None:
        return  # no worker got as far as behave's formatters: nothing ran
    lines = [start, *body] + ([end] if ends == len(parts) and parts else [])
    path.write_text("".join(json.dumps(line, default=str) + "\n" for line in lines))


def _write_behave_json(path: Path, parts: Sequence[Part]) -> None:
    loaded = [(part, _behave_json(part.run.behave_json)) for part in parts]
    skips = _Skips(e for _, data in loaded for f in data for e in f.get("elements", []))
    features: list[dict[str, Any]] = []
    for part, data in loaded:
        for feature in data:
            if str(feature.get("location", "")).rsplit(":", 1)[0] in part.foreign:
                continue
            elements = [e for e in feature.get("elements", [])
                        if (not part.retry or e.get("location") in part.only) and e.get("location") not in part.foreign
                        and not skips.drop(e)]
            features.append({**feature, "elements": elements})
    if features or any(p.run.behave_json.is_file() for p in parts):
        path.write_text(json.dumps(features, indent=1) + "\n")


def _behave_json(source: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(source.read_text()) if source.is_file() else []
    except json.JSONDecodeError:
        return []  # a worker killed while writing; the record says what it knew
    return [f for f in data if isinstance(f, dict)] if isinstance(data, list) else []


def _write_log(path: Path, parts: Sequence[Part]) -> None:
    with path.open("w") as out:
        for part in parts:
            log = part.run.behave_log
            out.write(f"===== {part.label} ({part.folder.name}) =====\n")
            if log.is_file():
                out.write(log.read_text(errors="replace"))


def add_lost(run_dir: Path, lost: Sequence[Planned], why: str) -> None:
    """Write the scenarios of ``lost`` into the merged record and behave JSON as errors (``LOST``, ``why``)."""
    if not lost:
        return
    run = RunFolder(run_dir)
    message = f"lost: {why}; the scenario's result was never written"
    lines = run.record.read_text().splitlines(keepends=True) if run.record.is_file() else []
    if not lines:
        lines = [json.dumps({"kind": "run", "event": "start", "format": "harness-record/1"}) + "\n"]
    end = [lines.pop()] if '"event": "end"' in lines[-1] else []
    for feature in lost:
        lines.append(json.dumps({"kind": "feature", "name": feature.name, "location": feature.location,
                                 "status": "error", "tags": list(feature.tags), "duration": 0.0}) + "\n")
        lines += [json.dumps({"kind": "scenario", "name": s.name, "location": s.location, "status": "error",
                              "rule": "", "tags": sorted(s.tags), "duration": 0.0,
                              "error": {"type": LOST, "message": message}}) + "\n" for s in feature.scenarios]
    run.record.write_text("".join(lines + end))
    features = _behave_json(run.behave_json)
    features += [{"keyword": "Feature", "name": f.name, "location": f.location, "status": "error",
                  "tags": list(f.tags), "elements": [
                      {"type": "scenario", "keyword": "Scenario", "name": s.name, "location": s.location,
                       "status": "error", "tags": [t for t in s.tags if t not in f.tags], "steps": [],
                       "error_message": f"{LOST}: {message}"} for s in f.scenarios]} for f in lost]
    run.behave_json.write_text(json.dumps(features, indent=1) + "\n")


def write_junit(run_dir: Path, run: Any) -> Path:
    """The merged run as one JUnit file (hook errors are errors, flaky scenarios say so)."""
    path = RunFolder(run_dir).merged_junit
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit(run))
    return path
