"""``<env>/load/NNN-<mode>.json``: one load run, its summary and its per-second timeline.

    {<LoadResult.summary(): mode, requests, latency_ms, ...>, "started_at": 1733468400.123,
     "timeline": {"columns": ["second", "completed", "ok", "p50_ms", "p99_ms"], "rows": [[0, 12, 12, 3.1, 9.8]]}}

The summary stays an open mapping (a run adds what it measured: ``target``, ``delivery_ratio`` ...);
the envelope around it is typed. A reader follows the file's own ``columns``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.runfolder.codec import json_file, optional_number

LOAD_COLUMNS = ("second", "completed", "ok", "p50_ms", "p99_ms")


@dataclass(frozen=True, slots=True)
class LoadSecond:
    """One second of a load run: requests completed, of which ok, and latency percentiles (ms)."""

    second: int
    completed: int
    ok: int
    p50_ms: float
    p99_ms: float

    def to_row(self) -> list[Any]:
        """The row in LOAD_COLUMNS order."""
        return [self.second, self.completed, self.ok, self.p50_ms, self.p99_ms]

    @classmethod
    def from_row(cls, columns: Sequence[str], row: Sequence[Any]) -> LoadSecond:
        """A second from a row of the file's ``columns`` (a missing cell is 0)."""
        cell = dict(zip(columns, row, strict=False))
        return cls(int(cell.get("second") or 0), int(cell.get("completed") or 0), int(cell.get("ok") or 0),
                   float(cell.get("p50_ms") or 0.0), float(cell.get("p99_ms") or 0.0))


@dataclass(frozen=True, slots=True)
class LoadRecord:
    """One saved load run: its summary, when it started (epoch seconds, None in older files), its seconds."""

    summary: Mapping[str, Any]
    started_at: float | None
    seconds: tuple[LoadSecond, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The file's object."""
        return {**self.summary, **({} if self.started_at is None else {"started_at": self.started_at}),
                "timeline": {"columns": list(LOAD_COLUMNS), "rows": [s.to_row() for s in self.seconds]}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LoadRecord:
        """A record from the file's object."""
        summary = {k: v for k, v in data.items() if k not in ("started_at", "timeline")}
        timeline = data.get("timeline")
        timeline = timeline if isinstance(timeline, dict) else {}
        columns = list(timeline.get("columns") or LOAD_COLUMNS)
        seconds = tuple(LoadSecond.from_row(columns, row) for row in timeline.get("rows") or ())
        return cls(summary, optional_number(data, "started_at"), seconds)

    @property
    def elapsed(self) -> float:
        """Seconds the run took (the summary's, else one per second recorded)."""
        value = self.summary.get("elapsed_s")
        return float(value) if isinstance(value, int | float) and value else float(len(self.seconds))

    @property
    def mode(self) -> str:
        """closed, open, websocket, ..."""
        return str(self.summary.get("mode", ""))


def write_load_result(path: Path, record: LoadRecord) -> None:
    """Save a load run (its folder created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record.to_json()) + "\n")


def read_load_result(path: Path) -> LoadRecord | None:
    """A saved load run, or None when the file is missing, cut short or no JSON object."""
    data = json_file(path)
    return None if data is None else LoadRecord.from_json(data)
