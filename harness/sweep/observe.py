"""Dynamic reduction: a fault on a service or an edge that a scenario never touched cannot change its outcome.

The baseline (harness.run.sweep_hook, ``observed.ndjson``) records the edges each scenario caused.
A service fault is exercised by a scenario when the service is at either end of one of its edges;
an edge fault when that very edge (client -> server) carried packets.

Background traffic (heartbeats: worker -> hive every 0.5 s on the reference stack) flows whether a scenario
runs or not, and what it carries (who is alive) is what scenarios read. A scenario shorter than a heartbeat
saw such an edge in one baseline and not in the next, so the same cell ran the worker-listing scenario in one
sweep and left it out in another. With ``--idle-edges`` the sweep also counts the edges of an idle stack
(``BACKGROUND_S`` with no scenario running) and adds them to every scenario's (``with_background``): stable,
but every short scenario then runs in every cell of a heartbeating service (more scenario runs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from harness.faults.kinds import SERVICE_KINDS, FaultSpec
from harness.runfolder import Observed

Edges = frozenset[tuple[str, str]]
BACKGROUND_S = 2.0  # seconds the idle stack's connections are counted (several heartbeats of a 0.5-1 s interval)


def edges_by_scenario(observed: Iterable[Observed]) -> dict[str, Edges]:
    """Scenario -> the edges with packets (a scenario seen twice: the union)."""
    found: dict[str, set[tuple[str, str]]] = {}
    for entry in observed:
        found.setdefault(entry.scenario, set()).update((c, s) for c, s, p in entry.edges if p > 0)
    return {k: frozenset(v) for k, v in found.items()}


def with_background(edges: Mapping[str, Edges], background: Edges) -> dict[str, Edges]:
    """Every scenario's edges with the idle stack's added: they carried traffic while it ran, whether it caused
    them or not."""
    return {scenario: found | background for scenario, found in edges.items()}


def exercises(fault: FaultSpec, edges: Edges) -> bool:
    """Whether a scenario with these edges can feel ``fault``."""
    if fault.kind in SERVICE_KINDS:
        service = fault.target.partition("#")[0]
        return any(service in edge for edge in edges)
    return (fault.target.partition("#")[0], fault.peer.partition("#")[0]) in edges


@dataclass(frozen=True)
class Reduction:
    """Each cell's scenarios, and what the reduction saved."""

    scenarios: Mapping[FaultSpec, tuple[str, ...]]
    unreduced_runs: int  # cells x scenarios: what a sweep without observation would run

    @property
    def runs(self) -> int:
        """Scenario runs left after the reduction."""
        return sum(len(s) for s in self.scenarios.values())

    @property
    def saved(self) -> int:
        """Scenario runs the reduction saved."""
        return self.unreduced_runs - self.runs


def reduce(cells: Sequence[FaultSpec], scenarios: Sequence[str], edges: Mapping[str, Edges]) -> Reduction:
    """Each cell with the scenarios (in selection order) that exercise it; a scenario never observed exercises all."""
    kept = {cell: tuple(s for s in scenarios if s not in edges or exercises(cell, edges[s])) for cell in cells}
    return Reduction(kept, len(cells) * len(scenarios))
