"""Large suites (issue 29, goal 4): 5,000 scenarios through `harness run`, then 20 such runs analyzed.

Part 1 — the runner at scale. The generated project of bench/scenario_overhead.py (one feature,
N scenarios x 3 trivial steps, one ``@env.tiny`` container with an HTTP probe, no faults) runs
through plain behave and through ``harness run``, order alternating over ``--rounds``. Per-scenario
time comes from first-step timestamps (the environment's start is outside the window); the
overhead is harness minus plain. The runner's peak RSS is the ``harness run`` process tree's
maximum resident set (RUSAGE_CHILDREN of a wrapper that runs only it). Goals: overhead <= 5 ms,
peak RSS <= 300 MB.

Part 2 — the analyzer at scale. The harness run's folder is copied 20 times, each copy's feature
path renamed (``features/overhead.feature`` -> ``features/overhead_K.feature``) so the 20 runs hold
20 x N distinct scenarios, as 20 shards of one suite would. ``harness analyze F1 ... F20 --json OUT``
(the whole command: start-up, imports, default GC) is compared with ``json.load`` of the 20
behave.json files in one fresh process (default GC), medians over alternating rounds. Goal: <= 3x.

Last line: ``overhead_ms=<x> peak_rss_mb=<y> merge_ratio=<z>`` (and the machine's state above it).
Run: .venv/bin/python bench/large_suite.py [--scenarios 5000] [--rounds 2] [--copies 20]
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

from harness.load.machine import Watch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scenario_overhead import VENV, leftovers, make_project, per_scenario_ms  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "large_suite.json"
GOALS = {"overhead_ms": 5.0, "peak_rss_mb": 300.0, "merge_ratio": 3.0}
FEATURE = "features/overhead.feature"

PEAK = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, done.returncode, file=sys.stderr)
"""

LOAD_ALL = """
import json, sys, time
t = time.perf_counter()
for name in sys.argv[1:]:
    with open(name, 'rb') as f:
        json.load(f)
print(time.perf_counter() - t)
"""


def run_harness(project: Path) -> tuple[float, float, Path]:
    """``harness run`` in PROJECT under a wrapper: (ms per scenario, peak RSS MB, the run folder)."""
    argv = [sys.executable, "-c", PEAK, str(VENV / "harness"), "run", "features"]
    marks = project / "marks.txt"
    marks.unlink(missing_ok=True)
    env = {"OVERHEAD_MARKS": str(marks), "HARNESS_ROOT": str(project)}
    done = subprocess.run(argv, cwd=project, env={**os.environ, **env}, capture_output=True, text=True)
    peak_mb, code = done.stderr.strip().splitlines()[-1].split()
    if code != "0":
        sys.exit(f"harness run exited {code}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    times = [float(line) for line in marks.read_text().split()]
    runs = sorted(p for p in (project / ".harness" / "runs").iterdir() if not p.is_symlink())
    return (times[-1] - times[0]) / (len(times) - 1) * 1e3, float(peak_mb), runs[-1]


def copies(run: Path, base: Path, count: int) -> list[Path]:
    """COUNT copies of RUN, each naming its own feature file (distinct scenarios, like shards)."""
    folders = []
    for k in range(count):
        target = base / f"run-{k:02d}"
        shutil.copytree(run, target, symlinks=True)
        for path in target.rglob("*"):
            if path.is_file() and path.suffix in (".json", ".ndjson", ".xml", ".txt"):
                text = path.read_text(errors="replace")
                if FEATURE in text:
                    path.write_text(text.replace(FEATURE, f"features/overhead_{k:02d}.feature"))
        folders.append(target)
    return folders


def merge_ratio(folders: list[Path], rounds: int) -> tuple[float, float, float]:
    """(median analyze command s, median json.load s of the behave JSON, ratio); order alternates."""
    out = folders[0].parent / "analysis.json"
    analyze = [str(VENV / "harness"), "analyze", *map(str, folders), "--json", str(out)]
    load = [sys.executable, "-c", LOAD_ALL, *(str(f / "behave.json") for f in folders)]
    commands: list[float] = []
    loads: list[float] = []
    for r in range(rounds):
        for side in ((0, 1) if r % 2 == 0 else (1, 0)):
            if side == 0:
                t = time.perf_counter()
                done = subprocess.run(analyze, capture_output=True, text=True)
                commands.append(time.perf_counter() - t)
                if done.returncode not in (0, 1):
                    sys.exit(f"harness analyze exited {done.returncode}: {done.stderr[-1500:]}")
            else:
                loads.append(float(subprocess.run(load, capture_output=True, text=True, check=True).stdout))
    counted = json.loads(out.read_text())["summary"]
    print(f"analyze merged {len(folders)} runs: {counted['scenarios']['total']} scenarios")
    command_s, load_s = statistics.median(commands), statistics.median(loads)
    return command_s, load_s, command_s / load_s


def main() -> int:
    """Both parts; the summary line last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--copies", type=int, default=20)
    args = parser.parse_args()
    watch = Watch()
    plain_ms: list[float] = []
    harness_ms: list[float] = []
    peaks: list[float] = []
    with tempfile.TemporaryDirectory(prefix="large-suite-") as tmp:
        plain = make_project(Path(tmp), args.scenarios, hooks=False)
        hooked = make_project(Path(tmp), args.scenarios, hooks=True)
        behave = [str(VENV / "behave"), "--no-summary", "-f", "null", "features"]
        run = hooked
        for r in range(args.rounds):
            for side in ((0, 1) if r % 2 == 0 else (1, 0)):
                if side == 0:
                    plain_ms.append(per_scenario_ms(plain, behave)[0])
                else:
                    ms, peak, run = run_harness(hooked)
                    harness_ms.append(ms)
                    peaks.append(peak)
        overhead = statistics.median(harness_ms) - statistics.median(plain_ms)
        print(f"{args.scenarios} scenarios: plain {statistics.median(plain_ms):.2f} ms, harness run "
              f"{statistics.median(harness_ms):.2f} ms per scenario; overhead {overhead:.2f} ms "
              f"(goal <= {GOALS['overhead_ms']:g}); runner peak RSS {max(peaks):.0f} MB "
              f"(goal <= {GOALS['peak_rss_mb']:g})")
        folders = copies(run, Path(tmp) / "copies", args.copies)
        command_s, load_s, ratio = merge_ratio(folders, max(args.rounds, 3))
        print(f"analyze {args.copies} runs: {command_s:.2f} s; json.load of their behave JSON {load_s:.2f} s; "
              f"ratio {ratio:.2f} (goal <= {GOALS['merge_ratio']:g})")
    stray = leftovers()
    machine = watch.state()
    print(machine.line())
    result = {"scenarios": args.scenarios, "rounds": args.rounds, "copies": args.copies,
              "plain_ms": [round(x, 3) for x in plain_ms], "harness_ms": [round(x, 3) for x in harness_ms],
              "overhead_ms": round(overhead, 3), "peak_rss_mb": round(max(peaks)),
              "analyze_s": round(command_s, 3), "json_load_s": round(load_s, 3), "merge_ratio": round(ratio, 2),
              "goals": GOALS, "leftover_containers": len(stray), "machine": machine.as_dict(),
              "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(f"overhead_ms={overhead:.2f} peak_rss_mb={max(peaks):.0f} merge_ratio={ratio:.2f}")
    return 1 if stray else 0


if __name__ == "__main__":
    sys.exit(main())
