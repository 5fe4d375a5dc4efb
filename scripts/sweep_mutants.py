"""`make sweep-mutants`: does the resilience sweep find product bugs that no scenario was written for?

Run the sweep once on the unswitched stack, then once per mutation switch (services/README.md,
"Mutation switches"; the switch goes on through ``HARNESS_SWITCHES``, as `make mutants` does with
``-D switches=``), each time with the same selection and the same fault kinds. The chaos features
written to catch the switches (scripts/mutants.py) stay out of the selection: a switch found here is
found by ordinary scenarios under a fault the sweep chose. A switch is *found* when at least one cell
changed against the unswitched sweep to detected or no recovery (``tolerated → detected``,
``tolerated → no recovery``, ``detected → no recovery``); each switched sweep also gets
``--baseline UNSWITCHED``, so its sweep.md lists every change. Prints a table and, last, ``found=N/M``.
Exit 0 when every switch is found, 1 otherwise, 2 when the unswitched sweep gave no results.

    python scripts/sweep_mutants.py [--only SWITCH]... [--faults KINDS] [--targets GLOB]... [--budget MIN]
                                    -- [harness sweep selection: --env ENV, paths, --tags]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / ".venv" / "bin" / "harness"
OUT = ROOT / ".harness" / "sweep-mutants"
sys.path.insert(0, str(ROOT / "scripts"))
from mutants import MUTANTS  # noqa: E402  (the switches and the chaos features written to catch them)

DEFAULT_SWITCHES = ("HIVE_NO_RETRY", "WORKER_DROP_AFTER_RESTART", "QUEEN_DISPATCH_TO_LOST", "HIVE_KEEP_PARTITIONED",
                    "QUEEN_FORGET_RUNNING")
DEFAULT_FAULTS = "kill,pause,restart,partition"
FOUND_TO = ("detected", "no recovery")
FOUND_FROM = ("tolerated", "detected")


@dataclass(frozen=True)
class Change:
    """One cell whose outcome changed with the switch on."""

    cell: str
    before: str
    after: str

    def __str__(self) -> str:
        return f"{self.cell}: {self.before} → {self.after}"


@dataclass(frozen=True)
class Sweep:
    """One sweep's results as this script needs them."""

    outcomes: Mapping[str, str]
    left_out: tuple[str, ...] = ()
    wall_s: float = 0.0
    folder: str = ""
    failed: Mapping[str, int] = field(default_factory=dict)  # cell -> scenarios that failed in it


def changes(before: Mapping[str, str], after: Mapping[str, str]) -> list[Change]:
    """Cells that ran in both sweeps and changed to detected or no recovery (tolerated → detected, ...)."""
    found = []
    for cell, outcome in after.items():
        old = before.get(cell, "")
        if outcome in FOUND_TO and old in FOUND_FROM and old != outcome:
            found.append(Change(cell, old, outcome))
    return found


def read_sweep(data: Mapping[str, object], folder: str = "") -> Sweep:
    """A sweep.json's outcomes, its left-out scenarios (fail fault-free) and wall time."""
    cells = data.get("cells") or []
    left = data.get("left_out") or []
    return Sweep({str(c["label"]): str(c["outcome"]) for c in cells},  # type: ignore[attr-defined]
                 tuple(str(s.get("location")) for s in left),  # type: ignore[attr-defined]
                 float(data.get("wall_s") or 0.0), folder,  # type: ignore[arg-type]
                 {str(c["label"]): len(c.get("failed") or []) for c in cells})  # type: ignore[attr-defined]


def worse(before: Sweep, after: Sweep) -> list[str]:
    """Detected cells in both whose switched run failed more scenarios (shown, not counted: the issue counts
    outcome changes only)."""
    return [cell for cell, outcome in after.outcomes.items()
            if outcome == before.outcomes.get(cell) == "detected"
            and after.failed.get(cell, 0) > before.failed.get(cell, 0)]


def catching_features(switches: Sequence[str]) -> list[str]:
    """The feature files scripts/mutants.py runs to catch these switches (kept out of the sweep)."""
    return sorted({part for m in MUTANTS if m.switch in switches for part in m.selection if part.endswith(".feature")})


def selection_without(selection: Sequence[str], features: Sequence[str]) -> list[str]:
    """The selection with behave's ``--exclude`` of the catching features; naming one of them is an error."""
    named = [s for s in selection if any(Path(s) == Path(f) or s.startswith(f + ":") for f in features)]
    if named:
        raise SystemExit(f"sweep-mutants: the selection names {', '.join(named)}, written to catch a switch: "
                         "leave it out (the sweep must find the switch with ordinary scenarios)")
    pattern = "|".join(re.escape(Path(f).name) for f in features)
    return [*selection, f"--exclude={pattern}"] if pattern else list(selection)


def run_sweep(args: Sequence[str], switch: str, label: str) -> Sweep | None:
    """`harness sweep ARGS` with SWITCH on (none: unswitched); its results, or None when it wrote none."""
    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / f"{label}.log"
    environ = {k: v for k, v in os.environ.items() if k != "HARNESS_SWITCHES"}
    if switch:
        environ["HARNESS_SWITCHES"] = switch
    with log.open("w") as out:
        subprocess.run([str(HARNESS), "sweep", *args], cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT,
                       check=False)
    found = re.search(r"files in (\S+)", log.read_text())
    file = Path(found.group(1)) / "sweep.json" if found else None
    if file is None or not file.is_file():
        print(f"sweep-mutants: {label}: no sweep.json (see {log})", file=sys.stderr)
        return None
    return read_sweep(json.loads(file.read_text()), str(file.parent))


def table(rows: Sequence[tuple[str, str, Sweep | None, list[Change], list[str]]]) -> list[str]:
    """The Markdown table: switch, what it breaks, cells changed, the first change, detected cells failing more
    scenarios, left out, wall time."""
    lines = ["| switch | breaks | cells changed to detected / no recovery | first change | detected, more failures | "
             "left out fault-free | wall s |", "|---|---|---|---|---|---|---|"]
    for switch, breaks, swept, found, more in rows:
        if swept is None:
            lines.append(f"| {switch} | {breaks} | (no results) | | | | |")
            continue
        first = str(found[0]) if found else "(none: NOT FOUND)"
        lines.append(f"| {switch} | {breaks} | {len(found)} | {first} | {', '.join(more) or '-'} | "
                     f"{len(swept.left_out)} | {swept.wall_s:.0f} |")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Unswitched sweep, then one per switch; the table and found=N/M."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", action="append", default=[], help="a switch to run (repeatable)")
    parser.add_argument("--faults", default=DEFAULT_FAULTS, help=f"fault kinds, the same for every switch "
                        f"(default {DEFAULT_FAULTS})")
    parser.add_argument("--targets", action="append", default=[], help="only these targets (globs), every switch")
    parser.add_argument("--budget", type=float, help="minutes per sweep")
    parser.add_argument("selection", nargs="*", help="after --: --env ENV, feature paths, --tags")
    args = parser.parse_args(argv)
    switches = list(args.only or DEFAULT_SWITCHES)
    by_switch = {m.switch: m for m in MUTANTS}
    unknown = [s for s in switches if s not in by_switch]
    if unknown:
        raise SystemExit(f"sweep-mutants: unknown switch(es) {', '.join(unknown)}; known: {', '.join(by_switch)}")
    common = [*selection_without(args.selection, catching_features(switches)), "--faults", args.faults,
              *(f"--targets={t}" for t in args.targets), *(["--budget", f"{args.budget:g}"] if args.budget else [])]
    started = time.monotonic()
    base = run_sweep(common, "", "unswitched")
    if base is None:
        return 2
    print(f"unswitched: {len(base.outcomes)} cells, {base.wall_s:.0f} s ({base.folder})", file=sys.stderr, flush=True)
    rows: list[tuple[str, str, Sweep | None, list[Change], list[str]]] = []
    for switch in switches:
        swept = run_sweep([*common, "--baseline", base.folder], switch, switch.lower())
        found = changes(base.outcomes, swept.outcomes) if swept is not None else []
        print(f"{switch}: {len(found)} cell(s) changed" + (f", e.g. {found[0]}" if found else ""), file=sys.stderr,
              flush=True)
        more = worse(base, swept) if swept is not None else []
        rows.append((switch, by_switch[switch].breaks, swept, found, more))
    print("\n".join(table(rows)))
    print(f"selection: {' '.join(common)}")
    print(f"time={time.monotonic() - started:.0f}s")
    found_n = sum(1 for row in rows if row[3])
    print(f"found={found_n}/{len(rows)}")
    return 0 if found_n == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
