"""`make mutants`: prove the chaos and load claims can fail.

For each mutation switch of the reference stack (services/README.md, "Failure switches") run the
scenarios chosen to catch it against a stack with that switch on, then the same scenarios on the
unswitched stack. A switch is caught when a scenario fails with it and passes without it. Prints a
table switch -> failed scenarios -> failure message, and as its last line ``caught=N/M``.
Exit 0 when every switch is caught, 1 otherwise. ``--only NAME`` (repeatable) picks switches.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / ".venv" / "bin" / "harness"
OUT = ROOT / ".harness" / "mutants"


@dataclass(frozen=True)
class Mutant:
    """A switch (environment variable set to 1 on every service) and the scenarios that must catch it."""

    switch: str
    breaks: str
    selection: tuple[str, ...]


MUTANTS = (
    Mutant("QUEEN_FORGET_RUNNING", "the queen forgets running jobs on restart",
           ("features/chaos.queen-restart.feature",)),
    Mutant("HIVE_NO_RETRY", "the hive does not retry a job whose worker died before the first token",
           ("features/chaos.worker-early-death.feature",)),
    Mutant("WORKER_DROP_AFTER_RESTART", "a restarted worker acknowledges jobs and drops them",
           ("features/chaos.worker-churn.feature",)),
    Mutant("QUEEN_DISPATCH_TO_LOST", "the queen leaves jobs in 202 on a paused (lost) hive",
           ("features/chaos.paused-hive.feature",)),
    Mutant("HIVE_KEEP_PARTITIONED", "the hive keeps a partitioned worker ready",
           ("features/chaos.partition-hive-worker.feature",)),
    Mutant("QUEEN_NO_EVENT_REPLAY", "the event channel drops events published while a subscriber was away",
           ("features/websocket.events.feature", "--name", "resumes with since")),
    Mutant("WORKER_ONE_AT_A_TIME", "a worker runs one job at a time whatever slots it advertises",
           ("features/load.concurrency.feature", "--tags", "not @slow")),
    Mutant("QUEEN_BUFFER_STREAM", "the queen holds a stream's events until the job ends",
           ("features/load.latency.feature", "--name", "time to the first streamed event")),
)


@dataclass(frozen=True)
class Failure:
    """One failed scenario and the first lines of its failure message."""

    scenario: str
    message: str


def run(selection: tuple[str, ...], switch: str | None, label: str) -> tuple[list[str], list[Failure], float]:
    """Run the selection (with SWITCH on when given); the scenarios run, those that failed, seconds."""
    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / f"{label}.log"
    argv = [str(HARNESS), "run", *(["-D", f"switches={switch}"] if switch else []), *selection]
    started = time.monotonic()
    with log.open("w") as out:
        subprocess.run(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False)
    elapsed = time.monotonic() - started
    found = re.search(r"outputs in (\S+)", log.read_text())
    report = Path(found.group(1)) / "behave.json" if found else None
    if report is None or not report.is_file():
        return [], [Failure("(no run)", f"harness run wrote no behave.json; see {log}")], elapsed
    return (*_scenarios(json.loads(report.read_text())), elapsed)


def _scenarios(features: list[dict[str, object]]) -> tuple[list[str], list[Failure]]:
    ran: list[str] = []
    failed: list[Failure] = []
    for feature in features:
        for element in feature.get("elements", []) or []:  # type: ignore[attr-defined]
            if element.get("type") == "background" or element.get("status") == "skipped":
                continue
            name = f"{Path(str(element.get('location', ''))).name.split(':')[0]}: {element.get('name')}"
            ran.append(name)
            if element.get("status") != "passed":
                failed.append(Failure(name, _message(element)))
    return ran, failed


def _message(element: dict[str, object]) -> str:
    for step in element.get("steps", []) or []:  # type: ignore[attr-defined]
        result = step.get("result") or {}
        if result.get("status") in ("failed", "undefined", "error"):
            text = result.get("error_message") or f"step {step.get('name')!r} {result.get('status')}"
            if isinstance(text, list):
                text = "\n".join(text)
            lines = [line.strip() for line in str(text).splitlines()
                     if line.strip() and not line.startswith(("Traceback", "  File", "Hint"))]
            return " / ".join(lines[:3])[:400]
    return f"scenario {element.get('status')}"


def main(argv: list[str] | None = None) -> int:
    """Run every switch (or the --only ones), print the table and caught=N/M."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], help="a switch to run (repeatable)")
    args = parser.parse_args(argv)
    mutants = [m for m in MUTANTS if not args.only or m.switch in args.only]
    started, caught, rows = time.monotonic(), 0, []
    for mutant in mutants:
        ran, failed, switched_s = run(mutant.selection, mutant.switch, mutant.switch.lower())
        base_ran, base_failed, base_s = run(mutant.selection, None, f"{mutant.switch.lower()}-unswitched")
        base_bad = {f.scenario for f in base_failed}
        catching = [f for f in failed if f.scenario in base_ran and f.scenario not in base_bad]
        caught += bool(catching)
        print(f"{mutant.switch}: {len(failed)}/{len(ran)} failed switched ({switched_s:.0f} s), "
              f"{len(base_failed)}/{len(base_ran)} unswitched ({base_s:.0f} s)", file=sys.stderr, flush=True)
        rows.append((mutant, failed, base_failed, catching))
    print("| switch | breaks | scenarios that failed with it | failure message | unswitched |")
    print("|---|---|---|---|---|")
    for mutant, failed, base_failed, catching in rows:
        shown = catching or failed
        scenarios = "; ".join(f.scenario for f in shown) or "(none: NOT CAUGHT)"
        message = (shown[0].message if shown else "").replace("|", "\\|")
        base = "all passed" if not base_failed else "FAILED: " + "; ".join(f.scenario for f in base_failed)
        print(f"| {mutant.switch} | {mutant.breaks} | {scenarios} | {message} | {base} |")
    print(f"time={time.monotonic() - started:.0f}s")
    print(f"caught={caught}/{len(mutants)}")
    return 0 if caught == len(mutants) else 1


if __name__ == "__main__":
    raise SystemExit(main())
