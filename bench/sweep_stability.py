"""Benchmark: do identical sweeps agree? Runs the same `harness sweep` several times, one after the other, and counts
the cells whose outcome differs between runs.

Each run is `harness sweep ARGS...` in a fresh process; /proc/loadavg is sampled every 5 s while it runs (the
machine is shared: a flip under load 15 says less than one at load 1). Counted over the cells exercised in
either run of a pair (not exercised, not run and fault failed left aside on both sides):

    changed      cells whose outcome differs (any outcomes)
    settled      of those, changes between tolerated, detected and no recovery (what a --baseline diff reports as
                 a change: the noise this benchmark is about)
    unsettled    of those, changes to or from intermittent (the diff marks them "not a settled change")

Results go under ``--label`` into bench/results/resilience_stability.json (other labels in the file are kept).
Run: .venv/bin/python bench/sweep_stability.py --label after [--runs 2] -- --env full-stack --faults kill ...
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "resilience_stability.json"
RAN = ("tolerated", "detected", "intermittent", "no recovery")
INTERMITTENT = "intermittent"


def outcomes(sweep_json: Path) -> dict[str, str]:
    """Cell label -> outcome of one sweep."""
    data = json.loads(sweep_json.read_text())
    return {str(c["label"]): str(c["outcome"]) for c in data["cells"]}


def compare(a: dict[str, str], b: dict[str, str]) -> dict[str, Any]:
    """The cells exercised in either sweep, and those whose outcome differs (settled and unsettled changes)."""
    exercised = sorted(label for label in set(a) | set(b) if a.get(label) in RAN or b.get(label) in RAN)
    changed = [label for label in exercised if a.get(label) != b.get(label)]
    unsettled = [label for label in changed if INTERMITTENT in (a.get(label), b.get(label))]
    return {"exercised_either": len(exercised), "changed": len(changed),
            "settled_changes": len(changed) - len(unsettled), "unsettled_changes": len(unsettled),
            "intermittent": [sum(1 for v in side.values() if v == INTERMITTENT) for side in (a, b)],
            "cells": {label: f"{a.get(label, '-')} → {b.get(label, '-')}" for label in changed}}


def run_once(args: list[str], loads: list[float]) -> tuple[Path, float]:
    """One sweep; its sweep.json and wall seconds; the load average is sampled into ``loads`` meanwhile."""
    done = threading.Event()

    def sample() -> None:
        while not done.wait(5.0):
            loads.append(float(Path("/proc/loadavg").read_text().split()[0]))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    began = time.monotonic()
    harness = str(Path(sys.executable).parent / "harness")
    proc = subprocess.run([harness, "sweep", *args], cwd=REPO, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    done.set()
    wall = time.monotonic() - began
    found = re.search(r"^results: (\S+sweep\.json)", proc.stdout, re.M)
    if found is None:
        sys.exit(f"harness sweep exited {proc.returncode} without results:\n{proc.stdout[-2000:]}\n"
                 f"{proc.stderr[-2000:]}")
    print(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "", file=sys.stderr)
    return Path(found.group(1)), wall


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--label", required=True, help="where in the results file the numbers go (e.g. before, after)")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--note", default="")
    p.add_argument("sweep", nargs=argparse.REMAINDER, help="-- then the arguments of `harness sweep`")
    args = p.parse_args()
    sweep_args = args.sweep[1:] if args.sweep[:1] == ["--"] else args.sweep
    loads: list[float] = []
    runs = []
    for n in range(1, args.runs + 1):
        file, wall = run_once(sweep_args, loads)
        data = json.loads(file.read_text())
        counts: dict[str, int] = {}
        for cell in data["cells"]:
            counts[cell["outcome"]] = counts.get(cell["outcome"], 0) + 1
        runs.append({"run_id": data["run_id"], "file": str(file), "wall_s": round(wall, 1), "counts": counts,
                     "score": data["score"]["overall"]})
        print(f"run {n}: {data['run_id']} {wall:.0f} s {counts}", file=sys.stderr, flush=True)
    pairs = [{"runs": [a["run_id"], b["run_id"]], **compare(outcomes(Path(a["file"])), outcomes(Path(b["file"])))}
             for a, b in itertools.combinations(runs, 2)]
    entry = {"command": "harness sweep " + " ".join(sweep_args), "note": args.note,
             "machine": {"cpus": os.cpu_count(), "load_average_1m": {
                 "min": min(loads, default=0.0), "max": max(loads, default=0.0),
                 "mean": round(sum(loads) / len(loads), 2) if loads else 0.0, "samples": len(loads)}},
             "runs": runs, "pairs": pairs}
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"bench": "resilience_stability"}
    results[args.label] = entry
    RESULTS.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    for pair in pairs:
        print(f"{args.label}: {pair['runs'][0]} vs {pair['runs'][1]}: {pair['changed']} of {pair['exercised_either']} "
              f"exercised cells changed ({pair['settled_changes']} settled, {pair['unsettled_changes']} "
              f"to or from intermittent)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
