"""A project's ``resilience.yaml``: what should hold, per service and fault kind.

    worker: {kill: tolerated, pause: tolerated}
    queen:  {kill: detected}
    "*":    {latency: tolerated}          # a glob names several services
    "test-machine->queen": {partition: detected}     # one edge, client -> server (globs on either side)

A cell whose outcome differs from its expectation is a finding: expected tolerated but detected is a
resilience bug; expected detected but tolerated is a blind scenario or a dead dependency. An intermittent cell
(its ``--confirm`` tries disagreed) is a finding against any expectation: expected tolerated, it sometimes
breaks; expected detected, the scenarios see the fault only sometimes (a race with it). An edge
cell is looked up under the edge keys first (``A->B``), then its server side, then its client side;
within each, in the file's order.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.errors import ConfigError
from harness.faults.kinds import EDGE_KINDS, KINDS, SERVICE_KINDS
from harness.sweep.outcome import DETECTED, INTERMITTENT, NO_RECOVERY, TOLERATED, CellResult

EXPECTABLE = (TOLERATED, DETECTED, NO_RECOVERY)
FILE = "resilience.yaml"
EDGE = "->"

Expectations = Mapping[str, Mapping[str, str]]


def load_expectations(path: Path) -> dict[str, dict[str, str]]:
    """The expectations of ``path`` (none when it is missing); an unknown kind or outcome names file and key."""
    if not path.is_file():
        return {}
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise ConfigError("not a mapping of service -> {kind: outcome}", file=str(path), key="",
                          hint="e.g. `worker: {kill: tolerated}`")
    found: dict[str, dict[str, str]] = {}
    for service, kinds in raw.items():
        if not isinstance(kinds, dict):
            raise ConfigError("not a mapping of kind -> outcome", file=str(path), key=str(service),
                              hint="e.g. `{kill: tolerated}`")
        for kind, outcome in kinds.items():
            if kind not in KINDS:
                raise ConfigError(f"unknown fault kind {kind!r}", file=str(path), key=f"{service}.{kind}",
                                  hint=f"kinds: {', '.join(KINDS)}")
            if EDGE in str(service) and kind in SERVICE_KINDS:
                raise ConfigError(f"{kind!r} is a fault of one service, not of an edge", file=str(path),
                                  key=f"{service}.{kind}", hint=f"edge kinds: {', '.join(EDGE_KINDS)}; name the "
                                  "service alone for the others")
            if outcome not in EXPECTABLE:
                raise ConfigError(f"unknown outcome {outcome!r}", file=str(path), key=f"{service}.{kind}",
                                  hint=f"outcomes: {', '.join(EXPECTABLE)}")
            found.setdefault(str(service), {})[str(kind)] = str(outcome)
    return found


def expected(expectations: Expectations, cell: CellResult) -> str:
    """The outcome expected of a cell, or "" when nothing is said about it."""
    client, server = cell.fault.target.partition("#")[0], cell.fault.peer.partition("#")[0]
    kind = cell.fault.kind
    if server:
        for pattern, kinds in expectations.items():
            a, arrow, b = pattern.partition(EDGE)
            if arrow and kind in kinds and fnmatch.fnmatchcase(client, a) and fnmatch.fnmatchcase(server, b):
                return kinds[kind]
    for side in ([server, client] if server else [client]):
        for pattern, kinds in expectations.items():
            if EDGE not in pattern and fnmatch.fnmatchcase(side, pattern) and kind in kinds:
                return kinds[kind]
    return ""


@dataclass(frozen=True)
class Finding:
    """A cell whose outcome differs from its expectation."""

    cell: str
    expected: str
    actual: str

    @property
    def meaning(self) -> str:
        """What the difference most likely says."""
        if self.actual == INTERMITTENT:
            if self.expected == TOLERATED:
                return "resilience bug, intermittent: sometimes breaks"
            if self.expected == DETECTED:
                return "detected only sometimes: the scenarios race the fault"
            return "differs, intermittent"
        if self.expected == TOLERATED:
            return "resilience bug"
        if self.actual == TOLERATED:
            return "blind scenario or dead dependency"
        return "differs"


def findings(expectations: Expectations, cells: Sequence[CellResult]) -> list[Finding]:
    """Every exercised cell whose outcome is not the expected one (an intermittent cell never is)."""
    found = []
    for cell in cells:
        want = expected(expectations, cell)
        if want and cell.outcome in (*EXPECTABLE, INTERMITTENT) and cell.outcome != want:
            found.append(Finding(cell.fault.label, want, cell.outcome))
    return found
