"""Benchmark: `harness analyze` on synthetic behave JSON vs a bare json.load of the same file.

Prints a table (sizes 25k/50k/100k steps, to show it is linear) and, last, ``ratio=<x> peak_mb=<y>``
for the 100k-step file: x = analyze time (imports included) / bare json.load time (best of 3,
each in a fresh process; a column also shows json.load with the cyclic GC off, as analyze runs),
y = peak RSS of the analyze process. Run: .venv/bin/python bench/analyze_speed.py
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
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
    analyze_main([sys.argv[1]])
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


def _measure(script: str, path: Path, *extra: str, repeat: int = 3) -> tuple[float, float]:
    best, peak = float("inf"), 0.0
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", script, str(path), *extra], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
        best, peak = min(best, float(out[0])), max(peak, float(out[1]))
    return best, peak


def main() -> None:
    """Measure 25k, 50k and 100k steps; print the table and the 100k ratio line."""
    print(f"{'steps':>8} {'MB':>6} {'json.load s':>12} {'(gc off) s':>11} {'analyze s':>10} {'ratio':>6} "
          f"{'ratio gc-off':>13} {'peak MB':>8}")
    ratio = peak = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for steps in (25_000, 50_000, 100_000):
            path = Path(tmp) / f"behave-{steps}.json"
            path.write_text(json.dumps(synthetic(steps)))
            load_s, _ = _measure(LOAD, path)
            load_nogc, _ = _measure(LOAD, path, "nogc")
            analyze_s, peak = _measure(ANALYZE, path)
            ratio = analyze_s / load_s
            print(f"{steps:>8} {path.stat().st_size / 1e6:>6.1f} {load_s:>12.3f} {load_nogc:>11.3f} "
                  f"{analyze_s:>10.3f} {ratio:>6.2f} {analyze_s / load_nogc:>13.2f} {peak:>8.0f}")
    print(f"ratio={ratio:.2f} peak_mb={peak:.0f}")


if __name__ == "__main__":
    main()
