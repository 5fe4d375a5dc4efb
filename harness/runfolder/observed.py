"""``observed.ndjson``: the connections each scenario of a sweep's baseline caused, one line per scenario.

    {"scenario": "features/x.feature:12", "edges": [["test-machine", "api", 41], ["api", "db", 12]]}
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Observed:
    """The edges (client, server, packets) one scenario caused, by service name."""

    scenario: str
    edges: tuple[tuple[str, str, int], ...]


def append_observed(path: Path, entries: Iterable[Observed]) -> None:
    """Append one line per scenario."""
    with path.open("a") as out:
        for entry in entries:
            out.write(json.dumps({"scenario": entry.scenario, "edges": [list(e) for e in entry.edges]}) + "\n")


def read_observed(path: Path) -> list[Observed]:
    """Every scenario's edges (a line a killed writer cut short is skipped; a missing file is none)."""
    if not path.is_file():
        return []
    found = []
    for line in path.read_text().splitlines():
        try:
            raw = json.loads(line)
            edges = tuple((str(c), str(s), int(p)) for c, s, p in raw.get("edges") or [])
            found.append(Observed(str(raw["scenario"]), edges))
        except (ValueError, KeyError, TypeError):
            continue
    return found
