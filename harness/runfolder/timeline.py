"""``<env>/timeline.ndjson``: the fault events of every scenario, one JSON object a line.

    {"scenario": "f.feature:12: name", "at": 1.5, "wall": 1733468400.123, "action": "inject",
     "what": "pause hive-1", "target": "h-hive-1", "error": "", "worker": "w2"}

``at``: seconds since the scenario's fault stack started; ``wall``: epoch seconds (folders written
before it existed lack it); ``worker``: only on the lines a split run gathered from its workers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.runfolder.codec import json_lines, number, optional_number, text


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of a timeline: a fault injected, reverted, or failing to be."""

    scenario: str
    at: float
    action: str
    what: str
    target: str
    error: str = ""
    wall: float | None = None
    worker: str = ""

    def to_json(self) -> dict[str, Any]:
        """The line's object (keys in the order the file has always had them)."""
        data: dict[str, Any] = {"scenario": self.scenario, "at": self.at}
        if self.wall is not None:
            data["wall"] = self.wall
        data.update(action=self.action, what=self.what, target=self.target, error=self.error)
        if self.worker:
            data["worker"] = self.worker
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TimelineEntry:
        """An entry from a line's object; a missing field is its default."""
        return cls(text(data, "scenario"), number(data, "at"), text(data, "action"), text(data, "what"),
                   text(data, "target"), text(data, "error"), optional_number(data, "wall"), text(data, "worker"))

    def from_worker(self, label: str) -> TimelineEntry:
        """This entry as gathered from worker ``label``."""
        return replace(self, worker=label)


def append_timeline(path: Path, entries: Iterable[TimelineEntry]) -> None:
    """Add entries to a timeline file (created with its folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as out:
        for entry in entries:
            out.write(json.dumps(entry.to_json()) + "\n")


def read_timeline(path: Path) -> list[TimelineEntry]:
    """Every entry of a timeline file (none when missing; a line that is no JSON object is skipped)."""
    return [TimelineEntry.from_json(data) for data in json_lines(path)]
