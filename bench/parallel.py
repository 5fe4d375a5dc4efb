"""Benchmark: the @integration (not @slow) suite sequentially and with `--workers 2, 3, 4`; a reused environment.

Each run is `harness run [--workers N] --tags @integration --tags "not @slow"` in a fresh process,
sequential first (its durations then plan the split runs). Prints wall time, scenario and step
counts (they must be equal every time, else exit 1), peak memory of the largest behave process
(`workers.json`; for the sequential run the largest child process), and then
``reuse_first_step_s=<y>``: seconds from launching behave with ``-D reuse=tiny`` (the `tiny`
environment of tests/fixtures/parallel kept up by `harness up`) to its first step, median of 5, beside
its floor (bare behave, no hooks, to the same marker step; the two alternate),
and as the last line ``speedup_w3=<x>``: sequential wall time / wall time with 3 workers, after
the floor beside it: ``floor_w3_s`` = the time the @serial worker runs alone + the rest of the
sequential run at the best of: spread perfectly over 3 workers (Amdahl), or its CPU seconds
(measured in the sequential run) on every core; ``ceiling_w3`` = sequential / floor. Each run
also records the machine's CPU use (``cpu_busy``). Goals: x >= 1.8, y <= 0.3.
Results also go to bench/results/parallel.json.
With ``--rounds R`` every configuration runs R times, the order reversed every other round
(1,2,3,4 then 4,3,2,1 ...), and each is reported by its median run (every wall time beside it).
Run: .venv/bin/python bench/parallel.py [--workers 2,3,4] [--rounds 2] [--tags ...] [--reuse-only]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "parallel"
RESULTS = REPO / "bench" / "results" / "parallel.json"
DEFAULT_TAGS = ["--tags", "@integration", "--tags", "not @slow"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}


def run_suite(workers: int, tags: list[str]) -> dict[str, Any]:
    """One `harness run`: wall time, exit code, counts and peak memory."""
    args = ["--workers", str(workers)] if workers > 1 else []
    cpu_before = _cpu_times()
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", *args, *tags], cwd=REPO, env=_env(),
                                stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # this run's own peak: its largest process, its children included
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    folder = next((Path(line.rsplit("outputs in ", 1)[1].strip()) for line in stdout.splitlines()
                   if line.startswith("harness run ") and "outputs in" in line), None)
    if folder is None:
        raise SystemExit(f"harness run printed no run folder:\n{stdout[-3000:]}\n{stderr[-3000:]}")
    return {"workers": workers, "wall_s": round(wall, 1), "exit": proc.returncode, "folder": str(folder),
            "load_average_1m_after": round(os.getloadavg()[0], 1),  # other work on the 2 cores skews the times
            "cpu_busy": _busy(cpu_before, _cpu_times()), "serial_s": _serial_wall(folder),
            "counts": _counts(folder), "peak_mb": _peak_mb(folder, usage.ru_maxrss)}


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _busy(before: tuple[int, int], after: tuple[int, int]) -> float:
    """The machine's CPU use between two samples, 0..1 (all cores)."""
    total = after[1] - before[1]
    return round((after[0] - before[0]) / total, 3) if total else 0.0


def _serial_wall(folder: Path) -> float:
    """Seconds the @serial items ran alone (0 for a sequential run): from the moment the other workers were
    all done (the gate opened; their environments may have come up earlier) to the run's end."""
    from harness.runfolder import RunFolder

    summary = RunFolder(folder).read_workers()
    return round(summary.alone_s or 0.0, 2) if summary is not None else 0.0


def _counts(folder: Path) -> dict[str, dict[str, int]]:
    from harness.analysis.inputs import load
    from harness.analysis.model import Counts

    run = load([str(folder)])
    return {"scenarios": Counts.of(s.status for s in run.scenarios()).as_dict(),
            "steps": Counts.of(s.status for s in run.steps()).as_dict()}


def _status_changes(first: str, other: str) -> dict[str, tuple[str, str]]:
    """Scenarios whose status differs between two runs (a flaky scenario of the suite shows here)."""
    from harness.analysis.inputs import load

    before = {s.key: s.status for s in load([first]).scenarios()}
    after = {s.key: s.status for s in load([other]).scenarios()}
    return {k: (before.get(k, "-"), after.get(k, "-")) for k in sorted(before.keys() | after.keys())
            if before.get(k) != after.get(k)}


def _peak_mb(folder: Path, run_maxrss_kb: int) -> float:
    """The largest behave process: from workers.json for a split run, else the run's own peak (kB from wait4)."""
    from harness.runfolder import RunFolder

    summary = RunFolder(folder).read_workers()
    if summary is not None:
        return max(w.peak_rss_mb for w in summary.by_worker)
    return round(run_maxrss_kb / 1024, 1)


def reuse_first_step(repeats: int = 5) -> tuple[float, float]:
    """Median seconds from launching behave (-D reuse=tiny) to its first step, on a kept `tiny`; and the floor:
    the same for bare behave (no hooks, one step module writing the same marker), alternating round by round."""
    with tempfile.TemporaryDirectory() as tmp:
        project, bare = Path(tmp) / "parallel", Path(tmp) / "bare"
        shutil.copytree(FIXTURE, project)
        (bare / "steps").mkdir(parents=True)
        (bare / "bare.feature").write_text("Feature: bare\n  Scenario: first step\n    Given a marker\n")
        (bare / "steps" / "bare_steps.py").write_text(
            "import os, pathlib\nfrom behave import given\n\n\n@given('a marker')\ndef step(context):\n"
            "    folder = pathlib.Path('.harness/started')\n    folder.mkdir(parents=True, exist_ok=True)\n"
            "    (folder / str(os.getpid())).write_text('')\n")
        up = subprocess.run([sys.executable, "-m", "harness.cli", "up", "tiny", "--keep"], cwd=project,
                            env=_env(), capture_output=True, text=True)
        if up.returncode != 0:
            raise SystemExit(f"harness up tiny failed:\n{up.stdout}\n{up.stderr}")
        run_id = up.stdout.split()[1]
        reused: list[float] = []
        floor: list[float] = []
        try:
            for n in range(repeats):
                order = [(reused, project, ["-D", "reuse=tiny", "envfeatures/web_a.feature"]), (floor, bare, [])]
                for into, folder, args in order if n % 2 == 0 else order[::-1]:
                    into.append(_first_step(folder, args))
            return statistics.median(reused), statistics.median(floor)
        finally:
            subprocess.run([sys.executable, "-m", "harness.cli", "down", run_id], cwd=project, env=_env(),
                           capture_output=True)


def _first_step(project: Path, args: list[str]) -> float:
    started = project / ".harness" / "started"
    shutil.rmtree(started, ignore_errors=True)
    launched = time.time()
    proc = subprocess.run([sys.executable, "-m", "behave", *args], cwd=project, env=_env(), capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise SystemExit(f"behave {' '.join(args)} failed:\n{proc.stdout[-2000:]}")
    return next(started.iterdir()).stat().st_mtime - launched


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One configuration's rounds: the median wall time (and serial time), the rest from the run nearest to
    it, every round's wall time beside it."""
    walls = [r["wall_s"] for r in runs]
    middle = statistics.median(walls)
    nearest = min(runs, key=lambda r: abs(r["wall_s"] - middle))
    return {**nearest, "wall_s": round(middle, 1), "serial_s": round(statistics.median(r["serial_s"] for r in runs), 2),
            "walls_s": walls}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--workers", default="2,3,4", help="worker counts to run after the sequential run")
    parser.add_argument("--tags", action="append", help="behave tag expressions (default: @integration, not @slow)")
    parser.add_argument("--reuse-only", action="store_true", help="only reuse_first_step_s (no suite runs)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="rounds of every configuration, the order reversed every other round (medians)")
    args = parser.parse_args()
    if args.reuse_only:
        reuse_s, bare_s = reuse_first_step()
        print(f"reuse_first_step_s={reuse_s:.3f} (floor: bare behave to its first step {bare_s:.3f} s)")
        saved = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
        saved.update(reuse_first_step_s=round(reuse_s, 3), reuse_floor_s=round(bare_s, 3),
                     reuse_when=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        RESULTS.write_text(json.dumps(saved, indent=1) + "\n")
        return 0
    tags = [x for t in args.tags for x in ("--tags", t)] if args.tags else DEFAULT_TAGS
    order = [1, *(int(x) for x in args.workers.split(","))]
    runs = [run_suite(n, tags) for k in range(max(1, args.rounds)) for n in (order if k % 2 == 0 else order[::-1])]
    results = [_median_run([r for r in runs if r["workers"] == n]) for n in order]
    print(f"{'workers':>7} {'wall s':>7} {'exit':>4} {'peak MB':>8} {'CPU busy':>8} {'serial s':>8}  scenarios / steps")
    for r in results:
        sc, st = r["counts"]["scenarios"], r["counts"]["steps"]
        print(f"{r['workers']:>7} {r['wall_s']:>7} {r['exit']:>4} {r['peak_mb']:>8} {r['cpu_busy']:>8.0%} "
              f"{r['serial_s']:>8.1f}  {sc['passed']}/{sc['total']} passed, {st['passed']}/{st['total']} steps passed")
    same = all(r["counts"] == results[0]["counts"] and r["exit"] == results[0]["exit"] for r in runs)
    print("counts and exit codes: " + ("the same in every run" if same else "DIFFERENT"))
    if not same:
        for r in results[1:]:
            for key, (a, b) in _status_changes(results[0]["folder"], r["folder"]).items():
                print(f"  sequential {a} → workers={r['workers']} {b}: {key}")
    reuse_s, bare_s = reuse_first_step()
    w3 = next((r for r in results if r["workers"] == 3), results[-1])
    speedup = results[0]["wall_s"] / w3["wall_s"]
    # the floor: the @serial part runs alone; the rest can go no faster than spread perfectly over 3
    # workers (Amdahl) nor than its CPU seconds (measured in the sequential run) on all the cores
    cores = os.cpu_count() or 1
    sequential, serial = results[0]["wall_s"], w3["serial_s"]
    rest = sequential - serial
    cpu_rest = results[0]["cpu_busy"] * cores * sequential * (rest / sequential if sequential else 0.0)
    floor = serial + max(rest / 3, cpu_rest / cores)
    ceiling = sequential / floor if floor else 0.0
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"runs": results, "every_run": runs, "rounds": max(1, args.rounds),
                                   "same_counts": same, "reuse_first_step_s": round(reuse_s, 3),
                               "reuse_floor_s": round(bare_s, 3),
                               "speedup_w3": round(speedup, 2), "floor_w3_s": round(floor, 1),
                               "ceiling_w3": round(ceiling, 2), "cpus": os.cpu_count(),
                               "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=1) + "\n")
    print(f"reuse_first_step_s={reuse_s:.3f} (floor: bare behave to its first step {bare_s:.3f} s)")
    print(f"floor_w3_s={floor:.1f} (serial {serial:.1f} s alone + the rest: max({rest:.1f} s / 3 workers, "
          f"{cpu_rest:.1f} CPU-s / {cores} cores)) ceiling_w3={ceiling:.2f}")
    print(f"speedup_w3={speedup:.2f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
