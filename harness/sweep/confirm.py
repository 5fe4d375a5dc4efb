"""Confirmation tries (``--confirm N``): a cell whose outcome would mean something is run again before it is believed.

Identical sweeps disagreed on 15-19 of 94 exercised cells: a fault whose effect sets in after a heartbeat or
two races the short scenarios, and the same cell comes out tolerated in one sweep and detected in the next.
So a cell is tried again (up to ``N`` more times, each try the whole cell: its scenarios under the fault, then
the recovery) when its outcome is

    detected          every detection is confirmed (a resilience bug or a scenario that sees the fault)
    a finding         tolerated where resilience.yaml expects detected (or the reverse): a finding is news

Tries stop at the first that disagrees: the cell is then *intermittent* (each try's failing scenarios are
kept). A try without recovery, or whose fault could not go in, ends the tries too (its outcome stands). A
tolerated cell without expectation, or as expected, is not tried again: confirming every cell would double
the sweep. Under ``--first-failure`` a try starts with the scenarios that failed in the earlier tries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from harness.sweep.outcome import DETECTED, TOLERATED, CellResult

CONFIRM_DEFAULT = 1  # one more try of a detected cell, or of a finding, before it is believed


def wants_another_try(cell: CellResult, expected: str, tries_left: int) -> bool:
    """Whether ``cell`` (its tries so far) is tried once more: it is detected, or differs from ``expected``,
    and every try so far agrees."""
    if tries_left <= 0:
        return False
    outcome = cell.outcome
    if outcome == DETECTED:
        return True
    return outcome == TOLERATED and bool(expected) and expected != TOLERATED


def retry_order(scenarios: Sequence[str], cell: CellResult) -> list[str]:
    """The cell's scenarios for its next try: those that failed in an earlier try first (in the order they
    failed), then the others in their order."""
    failed = list(dict.fromkeys(location for locations in cell.failed_by_try for location in locations))
    first = [s for s in failed if s in scenarios]
    return first + [s for s in scenarios if s not in first]


def with_try(cell: CellResult, again: CellResult) -> CellResult:
    """``cell`` with one more try: its results, timeline and seconds added; recovered only if both recovered,
    the slower recovery kept; phases added up."""
    recovery = None if not (cell.recovered and again.recovered) else max(
        (r for r in (cell.recovery_s, again.recovery_s) if r is not None), default=None)
    phases = {k: round(cell.phases.get(k, 0.0) + again.phases.get(k, 0.0), 1)
              for k in [*cell.phases, *(k for k in again.phases if k not in cell.phases)]}
    return replace(cell, tries=(*cell.tries, again.scenarios), recovered=cell.recovered and again.recovered,
                   recovery_s=recovery, seconds=round(cell.seconds + again.seconds, 1),
                   timeline=(*cell.timeline, *again.timeline), phases=phases)
