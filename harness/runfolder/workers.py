"""``<run>/workers.json``: a split run's plan and what each worker did.

``items``: each worker's planned share; ``ran``: what it ran (its share less and plus what was taken
over); ``alone_s``: the seconds the @serial items' worker ran alone (from its gate's opening), when it had one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.runfolder.codec import json_file, number, optional_number, text


@dataclass(frozen=True, slots=True)
class WorkerSummary:
    """One worker of a split run."""

    label: str
    run_id: str
    items: tuple[str, ...]
    ran: tuple[str, ...]
    exit_codes: tuple[int, ...]
    wall_s: tuple[float, ...]
    attempts: int
    peak_rss_mb: float

    def to_json(self) -> dict[str, Any]:
        """The worker's object in ``by_worker``."""
        return {"label": self.label, "run_id": self.run_id, "items": list(self.items), "ran": list(self.ran),
                "exit_codes": list(self.exit_codes), "wall_s": list(self.wall_s), "attempts": self.attempts,
                "peak_rss_mb": self.peak_rss_mb}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkerSummary:
        """A worker from its object."""
        return cls(text(data, "label"), text(data, "run_id"), tuple(map(str, data.get("items") or ())),
                   tuple(map(str, data.get("ran") or ())), tuple(int(c) for c in data.get("exit_codes") or ()),
                   tuple(float(w) for w in data.get("wall_s") or ()), int(number(data, "attempts")),
                   number(data, "peak_rss_mb"))


@dataclass(frozen=True, slots=True)
class WorkersSummary:
    """A split run: its options, wall time and workers."""

    workers: int
    shard: str
    retries: int
    wall_s: float
    by_worker: tuple[WorkerSummary, ...]
    alone_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The file's object."""
        return {"workers": self.workers, "shard": self.shard, "retries": self.retries, "wall_s": self.wall_s,
                **({} if self.alone_s is None else {"alone_s": self.alone_s}),
                "by_worker": [w.to_json() for w in self.by_worker]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkersSummary:
        """A summary from the file's object."""
        return cls(int(number(data, "workers")), text(data, "shard"), int(number(data, "retries")),
                   number(data, "wall_s"),
                   tuple(WorkerSummary.from_json(w) for w in data.get("by_worker") or () if isinstance(w, dict)),
                   optional_number(data, "alone_s"))


def write_workers(path: Path, summary: WorkersSummary) -> None:
    """Save a split run's summary."""
    path.write_text(json.dumps(summary.to_json(), indent=1) + "\n")


def read_workers(path: Path) -> WorkersSummary | None:
    """A split run's summary, or None when missing or unreadable."""
    data = json_file(path)
    return None if data is None else WorkersSummary.from_json(data)
