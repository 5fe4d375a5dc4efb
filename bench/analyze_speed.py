"""Benchmark: the whole `harness analyze FILE --json OUT` command vs json.load of the same file.

As a user runs it (issue 29): the analyze side is the `harness` console script in a fresh process,
wall time from spawn to exit (interpreter start-up and imports included, default GC); the peer is
``json.load`` of the same file in a fresh process with the default GC (the time of the load alone,
start-up excluded: the stricter reading). The order alternates over ROUNDS rounds; the medians are
compared. The floor printed beside the ratio is json.load with the cyclic GC off (what parsing
alone costs) and the bare interpreter start-up.

Prints a table (sizes 25k/50k/100k steps, to show it is linear), a 50 MB JUnit case, and, last,
``ratio=<x> peak_mb=<y> junit_s=<z> junit_peak_mb=<w> ...``: x = command / json.load at 100k
steps; y = peak RSS of the analyze process at 100k steps; z, w = the same command on a 50 MB JUnit
file (140k testcases, 5% failing). Goals (issue 29): x <= 2.5, z <= 2.5 s, w <= 400 MB. Results also
go to bench/results/analyze_speed.json with the machine's load average and CPU steal.
Run: .venv/bin/python bench/analyze_speed.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.load.machine import Watch

REPO = Path(__file__).resolve().parents[1]
STEPS_PER_SCENARIO = 10
SCENARIOS_PER_FEATURE = 50

LOAD = """
import gc, json, resource, sys, time
if len(sys.argv) > 2:
    gc.disable()
t = time.perf_counter()
with open(sys.argv[1], 'rb') as f:
    json.load(f)
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

HARNESS = Path(sys.executable).with_name("harness")  # the console script a user runs


def _command(path: Path, out: Path | None) -> float:
    """Wall seconds of ``harness analyze PATH [--json OUT]`` in a fresh process, spawn to exit."""
    argv = [str(HARNESS), "analyze", str(path), *(["--json", str(out)] if out else [])]
    t = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    if done.returncode not in (0, 1):  # 1: the synthetic run has failures
        raise SystemExit(f"harness analyze {path} exited {done.returncode}: {done.stderr.decode()[-400:]}")
    return wall


def _load(path: Path, gc_off: bool) -> float:
    out = subprocess.run([sys.executable, "-c", LOAD, str(path), *(["nogc"] if gc_off else [])], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0])


def _startup() -> float:
    """Seconds for the bare interpreter to start and exit (part of any command's floor)."""
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - t


def _step(rng: random.Random, f: int, s: int, i: int, status: str | None) -> dict[str, object]:
    step: dict[str, object] = {"keyword": "Then" if i else "Given", "step_type": "then" if i else "given",
                               "name": f"the service answers request {i} of scenario {s}",
                               "location": f"features/f{f}.feature:{s * 12 + i + 3}",
                               "match": {"location": f"steps/s{i % 7}.py:{i * 4 + 1}", "arguments": []}}
    if status is not None:
        step["result"] = {"status": status, "duration": rng.random() / 100}
        if status == "failed":
            step["result"]["error_message"] = [  # type: ignore[index]
                f"ASSERT FAILED: expected 200, got {rng.choice((404, 500, 503))} from /api/v1/jobs/{s}",
                "Authorization: Bearer eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl"]
    return step


def _scenario(rng: random.Random, f: int, s: int) -> dict[str, object]:
    fail_at = rng.randrange(STEPS_PER_SCENARIO) if rng.random() < 0.3 else None
    kind = "failed" if rng.random() < 0.7 else "error"
    steps = []
    for i in range(STEPS_PER_SCENARIO):
        status = "passed" if fail_at is None or i < fail_at else (kind if i == fail_at else None)
        steps.append(_step(rng, f, s, i, status))
    status = "passed" if fail_at is None else kind
    return {"type": "scenario", "keyword": "Scenario", "name": f"scenario {s}", "tags": [f"p{s % 3}"],
            "location": f"features/f{f}.feature:{s * 12 + 2}", "status": status, "steps": steps}


def synthetic(steps: int, seed: int = 7) -> list[dict[str, object]]:
    """A behave 1.3 JSON document with ``steps`` steps (30% of scenarios fail somewhere)."""
    rng = random.Random(seed)
    features = steps // (STEPS_PER_SCENARIO * SCENARIOS_PER_FEATURE)
    return [{"keyword": "Feature", "name": f"feature {f}", "tags": [f"component.c{f % 6}"],
             "location": f"features/f{f}.feature:1", "status": "failed",
             "elements": [_scenario(rng, f, s) for s in range(SCENARIOS_PER_FEATURE)]}
            for f in range(features)]


def junit(target_bytes: int, seed: int = 3) -> str:
    """A JUnit document of about ``target_bytes``: suites of 100 testcases, 5% failing, 3% skipped."""
    rng = random.Random(seed)
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n']
    size = suite = 0
    while size < target_bytes:
        cases = []
        for c in range(100):
            roll = rng.random()
            body = (f'<failure message="expected 200 got 500" type="AssertionError">Traceback (most recent '
                    f'call last):\n  File "t.py", line {c}, in test\nAssertionError: expected 200 got 500'
                    f"\n</failure>" if roll < 0.05 else '<skipped message="not on linux"/>' if roll < 0.08 else "")
            out = f"<system-out>log line for case {c} {'x' * rng.randrange(50, 300)}</system-out>"
            cases.append(f'<testcase classname="pkg.module{suite}.TestClass" name="test_case_{c}" '
                         f'file="pkg/module{suite}.py" line="{c * 10 + 1}" time="0.{rng.randrange(1000):03d}">'
                         f"{body}{out}</testcase>")
        chunk = f'<testsuite name="pkg.module{suite}" tests="100" time="1.5">' + "\n".join(cases) + "</testsuite>\n"
        parts.append(chunk)
        size += len(chunk)
        suite += 1
    return "".join(parts) + "</testsuites>\n"


def _rounds(path: Path, out: Path | None, rounds: int) -> tuple[float, float, float]:
    """Median json.load (default GC), median command, best json.load with GC off; order alternates."""
    loads: list[float] = []
    commands: list[float] = []
    floor = float("inf")
    for r in range(rounds):
        for side in ((0, 1) if r % 2 == 0 else (1, 0)):
            if side == 0:
                loads.append(_load(path, gc_off=False))
                floor = min(floor, _load(path, gc_off=True))
            else:
                commands.append(_command(path, out))
    return statistics.median(loads), statistics.median(commands), floor


def main() -> None:
    """Measure 25k, 50k and 100k steps and the 50 MB JUnit file; print the table and the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per size, order alternating (default 5)")
    args = parser.parse_args()
    watch = Watch()
    start_s = min(_startup() for _ in range(5))
    print(f"{'input':>12} {'MB':>6} {'json.load s':>12} {'(no GC) s':>10} {'command s':>10} {'ratio':>6} "
          f"{'out MB':>7}")
    ratio = load_s = floor = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "analysis.json"
        for steps in (25_000, 50_000, 100_000):
            path = Path(tmp) / f"behave-{steps}.json"
            path.write_text(json.dumps(synthetic(steps)))
            load_s, command_s, floor = _rounds(path, out, args.rounds)
            ratio = command_s / load_s
            print(f"{steps:>6} steps {path.stat().st_size / 1e6:>6.1f} {load_s:>12.3f} {floor:>10.3f} "
                  f"{command_s:>10.3f} {ratio:>6.2f} {out.stat().st_size / 1e6:>7.1f}")
        peak = _isolated_peak(path, out)
        junit_path = Path(tmp) / "junit-50mb.xml"
        junit_path.write_text(junit(50_000_000))
        junit_s = statistics.median(_command(junit_path, out) for _ in range(max(3, args.rounds // 2)))
        junit_peak = _isolated_peak(junit_path, out)
        print(f"{'JUnit':>12} {junit_path.stat().st_size / 1e6:>6.1f} {'':>12} {'':>10} {junit_s:>10.3f} "
              f"{'':>6} {out.stat().st_size / 1e6:>7.1f}")
    machine = watch.state()
    print(f"floor: json.load with GC off {floor:.3f} s; interpreter start-up {start_s:.3f} s; "
          f"100k-step peak {peak:.0f} MB")
    print(machine.line())
    result = {"ratio": round(ratio, 2), "peak_mb": round(peak), "junit_s": round(junit_s, 2),
              "junit_peak_mb": round(junit_peak), "json_load_s": round(load_s, 3),
              "json_load_nogc_s": round(floor, 3), "startup_s": round(start_s, 3), "rounds": args.rounds,
              "definition": "harness analyze FILE --json OUT as a subprocess (start-up, imports, default GC) "
                            "/ json.load in a fresh process, default GC; medians, order alternating",
              "machine": machine.as_dict(), "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (REPO / "bench" / "results" / "analyze_speed.json").write_text(json.dumps(result, indent=1) + "\n")
    print(" ".join(f"{k}={v}" for k, v in result.items() if not isinstance(v, (dict, str))))


def _isolated_peak(path: Path, out: Path) -> float:
    """Peak RSS (MB) of one analyze command, measured in a child that runs only it."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
    argv = [sys.executable, "-c", code, str(HARNESS), "analyze", str(path), "--json", str(out)]
    return float(subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=True).stdout)


if __name__ == "__main__":
    main()
