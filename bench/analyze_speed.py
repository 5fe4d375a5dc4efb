"""Benchmark: `harness analyze --json OUT` on synthetic behave JSON vs a bare json.load of the same file.

Prints a table (sizes 25k/50k/100k steps, to show it is linear), a 50 MB JUnit case, and, last,
``ratio=<x> peak_mb=<y> junit_s=<z> junit_peak_mb=<w>``: x = analyze time with ``--json`` written
(imports included) / json.load time under the same GC setting as the analyzer (cyclic GC off),
best of 5, each in a fresh process; y = peak RSS of the analyze process at 100k steps; z, w = the
same analyze run on a 50 MB JUnit file (140k testcases, 5% failing). Goals: x <= 3, y <= 500,
z <= 3. Results also go to bench/results/analyze_speed.json. Run: .venv/bin/python bench/analyze_speed.py
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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

ANALYZE = """
import io, resource, sys, time, contextlib
t = time.perf_counter()
from harness.analysis.cli import analyze_main
with contextlib.redirect_stdout(io.StringIO()):
    analyze_main([sys.argv[1], *(["--json", sys.argv[2]] if len(sys.argv) > 2 else [])])
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


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


def _measure(script: str, path: Path, *extra: str, repeat: int = 5) -> tuple[float, float]:
    best, peak = float("inf"), 0.0
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", script, str(path), *extra], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
        best, peak = min(best, float(out[0])), max(peak, float(out[1]))
    return best, peak


def main() -> None:
    """Measure 25k, 50k and 100k steps and the 50 MB JUnit file; print the table and the summary line."""
    print(f"{'input':>12} {'MB':>6} {'json.load s':>12} {'analyze s':>10} {'+--json s':>10} {'ratio':>6} "
          f"{'out MB':>7} {'peak MB':>8}")
    ratio = peak = 0.0
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "analysis.json"
        for steps in (25_000, 50_000, 100_000):
            path = Path(tmp) / f"behave-{steps}.json"
            path.write_text(json.dumps(synthetic(steps)))
            load_s, _ = _measure(LOAD, path, "nogc")  # the analyzer runs with the cyclic GC off too
            bare_s, _ = _measure(ANALYZE, path)
            analyze_s, peak = _measure(ANALYZE, path, str(out))
            ratio = analyze_s / load_s
            print(f"{steps:>6} steps {path.stat().st_size / 1e6:>6.1f} {load_s:>12.3f} {bare_s:>10.3f} "
                  f"{analyze_s:>10.3f} {ratio:>6.2f} {out.stat().st_size / 1e6:>7.1f} {peak:>8.0f}")
        path = Path(tmp) / "junit-50mb.xml"
        path.write_text(junit(50_000_000))
        bare_s, _ = _measure(ANALYZE, path)
        junit_s, junit_peak = _measure(ANALYZE, path, str(out))
        print(f"{'JUnit':>12} {path.stat().st_size / 1e6:>6.1f} {'':>12} {bare_s:>10.3f} {junit_s:>10.3f} "
              f"{'':>6} {out.stat().st_size / 1e6:>7.1f} {junit_peak:>8.0f}")
    result = {"ratio": round(ratio, 2), "peak_mb": round(peak), "junit_s": round(junit_s, 2),
              "junit_peak_mb": round(junit_peak), "gc": "cyclic GC off in both (the analyzer's setting)",
              "load_average_before": load_before, "load_average_after": [round(x, 2) for x in os.getloadavg()],
              "cpus": os.cpu_count(), "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (REPO / "bench" / "results" / "analyze_speed.json").write_text(json.dumps(result, indent=1) + "\n")
    print(" ".join(f"{k}={v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
