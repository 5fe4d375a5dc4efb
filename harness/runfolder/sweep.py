"""``sweep.json`` as its readers need it: a sweep's cells, outcomes, score and findings.

harness.sweep.report writes the file (every cell with its scenarios and fault timeline); this typed
reader is what the handoff report (harness.analysis.resilience) and a merge read back. It reads
leniently like every format here: a missing field is its default.

    {"env": "full-stack", "run_id": "...", "wall_s": 812.0, "stopped": "",
     "sweep": {"shard": [1, 4], "space_id": "3f2a...", "space_cells": 238, ...},  # shard: null unsharded
     "score": {"overall": [12, 20], "queen": [1, 8], ...},       # [tolerated, exercised]
     "cells": [{"label": "kill queen", "fault": "kill", "target": "queen", "peer": "",
                "outcome": "detected", "expected": "detected", "failed": ["f.feature:9"],
                "recovery_s": 3.2, "blocker": "Then ...: ...",
                "tries": [{"failed": ["f.feature:9"], ...}, {"failed": [], ...}]}, ...],  # --confirm: tries
     "findings": [{"cell": "kill worker-1-1", "expected": "tolerated", "actual": "detected",
                   "meaning": "resilience bug"}],
     "merged_from": [{"file": "shard-1/sweep.json", "shard": "1/2", ...}]}    # `harness sweep --merge`
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.runfolder import names as n
from harness.runfolder.codec import json_file, optional_number, text

# The outcomes of a cell (harness.sweep.outcome spells the same words; a test pins them equal).
TOLERATED = "tolerated"
DETECTED = "detected"
NO_RECOVERY = "no recovery"
NOT_EXERCISED = "not exercised"
FAULT_FAILED = "fault failed"
NOT_RUN = "not run"
INTERMITTENT = "intermittent"
EXERCISED = (TOLERATED, DETECTED, INTERMITTENT, NO_RECOVERY)


@dataclass(frozen=True, slots=True)
class SweepCell:
    """One cell: its fault, target (an edge: target -> peer), outcome and what was expected of it."""

    label: str
    kind: str
    target: str
    peer: str
    outcome: str
    expected: str = ""
    failed: tuple[str, ...] = ()
    recovery_s: float | None = None
    blocker: str = ""
    tries: tuple[tuple[str, ...], ...] = ()  # with --confirm tries: each try's failing scenarios

    @property
    def service(self) -> str:
        """The service the cell is scored under: the target, or an edge's server side (no replica suffix)."""
        return (self.peer or self.target).partition("#")[0]


@dataclass(frozen=True, slots=True)
class SweepFinding:
    """A cell whose outcome differs from resilience.yaml."""

    cell: str
    expected: str
    actual: str
    meaning: str


@dataclass(frozen=True, slots=True)
class SweepSummary:
    """A sweep as the handoff reads it."""

    path: Path
    env: str
    run_id: str
    cells: tuple[SweepCell, ...]
    score: Mapping[str, tuple[int, int]]
    findings: tuple[SweepFinding, ...] = ()
    wall_s: float = 0.0
    stopped: str = ""
    shard: tuple[int, int] | None = None
    merged_from: tuple[Path, ...] = ()  # a merged sweep: the sweep.json files it was made of

    @property
    def no_recovery(self) -> tuple[SweepCell, ...]:
        """The cells after which the environment did not recover."""
        return tuple(c for c in self.cells if c.outcome == NO_RECOVERY)

    @property
    def intermittent(self) -> tuple[SweepCell, ...]:
        """The cells whose tries disagreed (``--confirm``)."""
        return tuple(c for c in self.cells if c.outcome == INTERMITTENT)

    @property
    def not_run(self) -> tuple[SweepCell, ...]:
        """The cells the budget or an interrupt left out."""
        return tuple(c for c in self.cells if c.outcome == NOT_RUN)


def sweep_file(path: Path) -> Path:
    """``sweep.json`` of a sweep's run folder, or ``path`` itself when it is a file."""
    return path / n.SWEEP_JSON if path.is_dir() else path


def is_sweep(path: Path) -> bool:
    """Whether ``path`` is a sweep's run folder (or its sweep.json)."""
    return sweep_file(path).is_file() and sweep_file(path).name == n.SWEEP_JSON


def parse_shard(raw: Any) -> tuple[int, int] | None:
    """``{"index": 1, "total": 4}``, ``"1/4"`` or ``[1, 4]`` -> (1, 4); None when absent or unreadable."""
    try:
        if isinstance(raw, Mapping):
            index, total = int(raw["index"]), int(raw["total"])
        elif isinstance(raw, str) and "/" in raw:
            left, _, right = raw.partition("/")
            index, total = int(left), int(right)
        elif isinstance(raw, list | tuple) and len(raw) == 2:
            index, total = int(raw[0]), int(raw[1])
        else:
            return None
    except (KeyError, TypeError, ValueError):
        return None
    return (index, total) if 1 <= index <= total else None


def shard_of(data: Mapping[str, Any]) -> tuple[int, int] | None:
    """The shard a sweep.json says it is: ``sweep.shard`` (``harness sweep --shard``), else a top-level ``shard``."""
    block = data.get("sweep")
    found = parse_shard(block.get("shard")) if isinstance(block, Mapping) else None
    return found or parse_shard(data.get("shard"))


def read_sweep(path: Path) -> SweepSummary | None:
    """The sweep of a run folder or a sweep.json; None when it holds no sweep (missing, cut short, not one)."""
    file = sweep_file(path)
    data = json_file(file)
    if data is None or not isinstance(data.get("cells"), list):
        return None
    cells = tuple(_cell(c) for c in data["cells"] if isinstance(c, Mapping))
    findings = tuple(SweepFinding(text(f, "cell"), text(f, "expected"), text(f, "actual"), text(f, "meaning"))
                     for f in data.get("findings") or () if isinstance(f, Mapping))
    return SweepSummary(file, text(data, "env"), text(data, "run_id"), cells, _score(data.get("score")), findings,
                        optional_number(data, "wall_s") or 0.0, text(data, "stopped"),
                        shard_of(data), _sources(data.get("merged_from")))


def _cell(raw: Mapping[str, Any]) -> SweepCell:
    failed = raw.get("failed") or ()
    return SweepCell(text(raw, "label"), text(raw, "fault"), text(raw, "target"), text(raw, "peer"),
                     text(raw, "outcome"), text(raw, "expected"),
                     tuple(str(f) for f in failed) if isinstance(failed, list) else (),
                     optional_number(raw, "recovery_s"), text(raw, "blocker"),
                     tuple(tuple(str(f) for f in t.get("failed") or ()) for t in raw.get("tries") or ()
                           if isinstance(t, Mapping)) if isinstance(raw.get("tries"), list) else ())


def _sources(raw: Any) -> tuple[Path, ...]:
    return tuple(Path(str(m["file"])) for m in raw or () if isinstance(m, Mapping) and m.get("file"))


def _score(raw: Any) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for key, pair in (raw or {}).items() if isinstance(raw, Mapping) else ():
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, int) for x in pair):
            found[str(key)] = (pair[0], pair[1])
    return found
