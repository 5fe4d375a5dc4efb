"""`harness sweep --merge SWEEP...`: the sweep.json files of several sweeps as one sweep.

    shards      when the files say ``shard I/N`` (``--shard``), they must all say the same N and hold every
                shard 1..N once: a missing shard is named, and so are two files of one shard
    by hand     sweeps without shard fields (one environment divided with --targets or --faults) merge as given
    cells       a cell that ran in two files is an error naming both; a cell "not run" in one file yields to
                the file that ran it, "not exercised" to one that ran it (the baselines observed differently)
    results     the merged cells are scored, checked against the project's resilience.yaml and written as
                sweep.json, sweep.md and sweep.html into a new run folder, like a single sweep's
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from harness.env.config import Settings
from harness.env.lifecycle import new_run_id
from harness.errors import ConfigError, FaultError
from harness.faults.kinds import FaultSpec
from harness.runfolder import RunFolder, names
from harness.runfolder.codec import json_file
from harness.runfolder.sweep import shard_of, sweep_file
from harness.sweep import report
from harness.sweep.driver import SweepResult
from harness.sweep.expect import FILE, Expectations, findings, load_expectations
from harness.sweep.expect import expected as expected_of
from harness.sweep.outcome import (
    DETECTED,
    FAULT_FAILED,
    INTERMITTENT,
    NO_RECOVERY,
    NOT_EXERCISED,
    NOT_RUN,
    TOLERATED,
    CellResult,
    ScenarioResult,
    classify,
)

RAN = (TOLERATED, DETECTED, INTERMITTENT, NO_RECOVERY, FAULT_FAILED)
_MORE = frozenset({"phases", "worker"})  # CellResult fields some writers add, carried over when both know them
_HINT = "give each shard's run folder (or its JSON summary) once: `harness sweep --merge shard-1/ shard-2/ ...`"


@dataclass(frozen=True)
class Part:
    """One sweep.json given to the merge."""

    file: Path
    data: Mapping[str, Any]
    shard: tuple[int, int] | None

    @property
    def block(self) -> Mapping[str, Any]:
        """The ``sweep`` block of the file (space id, shard, flaky scenarios...); empty in older files."""
        found = self.data.get("sweep")
        return found if isinstance(found, Mapping) else {}

    @property
    def name(self) -> str:
        """How messages name it: the file, and its shard when it has one."""
        return f"{self.file} (shard {self.shard[0]}/{self.shard[1]})" if self.shard else str(self.file)


def read_part(path: Path) -> Part:
    """A sweep's run folder or sweep.json; anything else is a ConfigError naming it."""
    file = sweep_file(path)
    data = json_file(file)
    if data is None or not isinstance(data.get("cells"), list):
        raise ConfigError(f"not a sweep's results (no {names.SWEEP_JSON} with `cells`)", file=str(file), key="--merge",
                          hint=_HINT)
    return Part(file, data, shard_of(data))


def check_parts(parts: Sequence[Part]) -> list[Part]:
    """The parts in shard order; one environment, and with shards every shard 1..N exactly once."""
    if not parts:
        raise ConfigError("nothing to merge", key="--merge", hint=_HINT)
    first = parts[0]
    for part in parts[1:]:
        if part.data.get("env") != first.data.get("env"):
            raise ConfigError(f"{part.file} swept environment {part.data.get('env')!r}, {first.file} "
                              f"{first.data.get('env')!r}: only sweeps of one environment merge",
                              file=str(part.file), key="--merge", hint=_HINT)
    sharded = [p for p in parts if p.shard]
    if not sharded:
        return list(parts)
    if len(sharded) != len(parts):
        plain = next(p for p in parts if not p.shard)
        raise ConfigError(f"{plain.file} is not a shard, {sharded[0].name} is: merge the shards of one sweep, "
                          "or sweeps divided by hand, not both", file=str(plain.file), key="--merge", hint=_HINT)
    spaces = [p for p in sharded if p.block.get("space_id")]
    for part in spaces[1:]:
        if part.block["space_id"] != spaces[0].block["space_id"]:
            raise ConfigError(f"{spaces[0].name} and {part.name} are shards of different sweeps (another "
                              "selection, environment or fault space)", file=str(part.file), key="--merge",
                              hint=_HINT)
    totals = {p.shard[1] for p in sharded if p.shard}
    if len(totals) > 1:
        a, b = sorted(sharded, key=lambda p: p.shard or (0, 0))[0], max(sharded, key=lambda p: p.shard or (0, 0))
        raise ConfigError(f"{a.name} and {b.name} come from splits into different numbers of shards",
                          file=str(b.file), key="--merge", hint=_HINT)
    by_index: dict[int, Part] = {}
    for part in sharded:
        assert part.shard is not None
        if part.shard[0] in by_index:
            raise ConfigError(f"shard {part.shard[0]}/{part.shard[1]} is given twice: {by_index[part.shard[0]].file} "
                              f"and {part.file}", file=str(part.file), key="--merge", hint=_HINT)
        by_index[part.shard[0]] = part
    total = totals.pop()
    missing = [i for i in range(1, total + 1) if i not in by_index]
    if missing:
        raise ConfigError(f"shard{'s' if len(missing) > 1 else ''} {', '.join(f'{i}/{total}' for i in missing)} "
                          f"missing (given: {', '.join(by_index[i].name for i in sorted(by_index))})",
                          key="--merge", hint="download every shard's run folder; a shard that failed to run "
                          "leaves its cells unknown")
    return [by_index[i] for i in sorted(by_index)]


def merge_cells(parts: Sequence[Part]) -> list[tuple[Mapping[str, Any], Part]]:
    """Every cell once, in the order first seen; a cell that ran in two parts is a ConfigError naming both."""
    chosen: dict[str, tuple[Mapping[str, Any], Part]] = {}
    for part in parts:
        for cell in part.data["cells"]:
            label = str(cell.get("label", ""))
            held = chosen.get(label)
            if held is None:
                chosen[label] = (cell, part)
                continue
            old = str(held[0].get("outcome"))
            new = str(cell.get("outcome"))
            if old in RAN and new in RAN:
                raise ConfigError(f"cell {label!r} ran in both {held[1].name} and {part.name}", file=str(part.file),
                                  key="--merge", hint="shards of one sweep never share a cell: were two sweeps "
                                  "of the same cells given? Merge one of them")
            if _rank(new) > _rank(old):
                chosen[label] = (cell, part)
    return list(chosen.values())


def _rank(outcome: str) -> int:
    """Which of two files saying different things about a cell wins: one that ran it, then not exercised."""
    return 2 if outcome in RAN else 1 if outcome == NOT_EXERCISED else 0


def cell_from_dict(raw: Mapping[str, Any], part: Part) -> CellResult:
    """A cell of sweep.json back as a CellResult (its outcome must follow from what it holds)."""
    try:
        fault = FaultSpec.from_dict({"kind": raw.get("fault"), "target": raw.get("target"),
                                     "peer": raw.get("peer") or "", "params": raw.get("parameters") or {}})
        scenarios = tuple(scenario_from_dict(s) for s in raw.get("scenarios") or ())
        tries = tuple(tuple(scenario_from_dict(s) for s in t.get("scenarios") or ()) for t in raw.get("tries") or ())
        recovery = raw.get("recovery_s")
        cell = CellResult(fault, scenarios, raw.get("outcome") != NO_RECOVERY,
                          float(recovery) if recovery is not None else None, float(raw.get("seconds") or 0.0),
                          raw.get("outcome") != NOT_RUN, tuple(raw.get("timeline") or ()),
                          str(part.file.parent / str(raw["folder"])) if raw.get("folder") else "",
                          tries=tries[1:],
                          **{f.name: raw[f.name] for f in fields(CellResult) if f.name in raw and f.name in _MORE})
    except (FaultError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"cell {raw.get('label')!r} cannot be read: {exc}", file=str(part.file), key="--merge",
                          hint=_HINT) from exc
    if classify(cell) != raw.get("outcome"):
        raise ConfigError(f"cell {raw.get('label')!r} says {raw.get('outcome')!r} but holds a {classify(cell)!r} "
                          "cell", file=str(part.file), key="--merge", hint="was the file edited by hand?")
    return cell


def scenario_from_dict(raw: Mapping[str, Any]) -> ScenarioResult:
    """A scenario's result in sweep.json back as a ScenarioResult (fields it does not know are skipped)."""
    return ScenarioResult(**{f.name: raw[f.name] for f in fields(ScenarioResult) if f.name in raw})


def _reduction(parts: Sequence[Part]) -> dict[str, int] | None:
    """The parts' reductions added up: each part reduced its own cells (shards split before the reduction)."""
    found = [p.data["reduction"] for p in parts if isinstance(p.data.get("reduction"), Mapping)]
    if not found:
        return None
    return {key: sum(int(r.get(key) or 0) for r in found) for key in ("runs", "unreduced_runs", "saved")}


def _check_complete(parts: Sequence[Part], cells: int) -> None:
    """With every shard there, the merged cells are the whole space (``space_cells``), or a shard lost cells."""
    wanted = {int(p.block.get("space_cells") or 0) for p in parts if p.shard}
    if len(wanted) == 1 and (total := wanted.pop()) and cells != total:
        raise ConfigError(f"the shards hold {cells} cells of the {total} of their fault space "
                          f"({', '.join(p.name for p in parts)})", file=str(parts[0].file), key="--merge",
                          hint="a shard's summary was cut short or edited: run that shard again")


def _unique(items: Sequence[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


def merged_result(parts: Sequence[Part], run_id: str) -> SweepResult:
    """The parts as one SweepResult (reduction aside: ``merge`` writes the parts' own numbers)."""
    cells = [cell_from_dict(raw, part) for raw, part in merge_cells(parts)]
    _check_complete(parts, len(cells))
    left_out = {str(s.get("location")): scenario_from_dict(s) for p in parts for s in p.data.get("left_out") or ()}
    stopped = "; ".join(f"{p.data['stopped']} in {p.name}" for p in parts if p.data.get("stopped"))
    return SweepResult(str(parts[0].data.get("env", "")), run_id,
                       _unique([str(s) for p in parts for s in p.data.get("scenarios") or ()]),
                       list(left_out.values()), cells, None,
                       next((str(p.data["smoke"]) for p in parts if p.data.get("smoke")), ""),
                       wall_s=max(float(p.data.get("wall_s") or 0.0) for p in parts),
                       baseline_s=max(float(p.data.get("baseline_s") or 0.0) for p in parts), stopped=stopped)


def merge(paths: Sequence[Path], expectations: Expectations, run_id: str,
          before: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The merged sweep.json data: cells, score, findings against ``expectations``, changes against ``before``."""
    parts = check_parts([read_part(p) for p in paths])
    result = merged_result(parts, run_id)
    labels = {c.fault.label: expected_of(expectations, c) for c in result.cells}
    changes = report.diff(before, {c.fault.label: c.outcome for c in result.cells}) if before is not None else []
    data = report.to_json(result, findings(expectations, result.cells), labels, changes)
    data["reduction"] = _reduction(parts)
    data["merged_from"] = [{"file": str(p.file), "run_id": p.data.get("run_id", ""),
                            "shard": f"{p.shard[0]}/{p.shard[1]}" if p.shard else "",
                            "wall_s": p.data.get("wall_s", 0.0)} for p in parts]
    data["machine_s"] = round(sum(float(p.data.get("wall_s") or 0.0) for p in parts), 1)
    data["sweep"] = {"space_id": parts[0].block.get("space_id", ""), "space_cells": len(result.cells),
                     "shard": None, "shards": len([p for p in parts if p.shard]),
                     "flaky": list({str(s.get("location")): s for p in parts for s in p.block.get("flaky") or ()}
                                   .values()),
                     "keys": [c.fault.label for c in result.cells]}
    for cell in data["cells"]:
        cell["key"] = cell["label"]
    return data


def run(paths: Sequence[Path], baseline: Path | None = None) -> int:
    """`harness sweep --merge`: write the merged results into a new run folder; the exit code of a sweep."""
    settings = Settings.build()
    folder = RunFolder.new(settings.runs_dir, new_run_id())
    before = report.read_outcomes(baseline) if baseline is not None else None
    data = merge(paths, load_expectations(settings.root / FILE), folder.run_id, before)
    files = report.write(folder, data)
    overall = data["score"]["overall"]
    print(f"merged {len(paths)} sweep(s) of {data['env']}: {len(data['cells'])} cells; resilience score "
          f"{overall[0]}/{overall[1]} exercised cells tolerated; wall time {data['wall_s']:g} s "
          f"(machine time {data['machine_s']:g} s)")
    for line in data["findings"]:
        print(f"finding: {line['cell']}: expected {line['expected']}, got {line['actual']} ({line['meaning']})")
    for line in data["changes"]:
        print(f"changed: {line}")
    if data["stopped"]:
        print(f"stopped: {data['stopped']}")
    print("results: " + " ".join(str(f) for f in files))
    return 1 if data["findings"] or any(c["outcome"] == NO_RECOVERY for c in data["cells"]) else 0
