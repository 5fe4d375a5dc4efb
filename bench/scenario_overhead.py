"""Per-scenario overhead of the harness: 200 trivial scenarios with our hooks vs plain behave.

Method: a generated project (in a temp folder) holds one feature of N scenarios x 3 trivial
steps, tagged ``@env.tiny`` (one container: ``python3 -m http.server`` on the base image, an
HTTP probe). Runs, each in a fresh process:

  plain    behave, the same steps, no environment.py (no hooks), no tag handling;
  hooks    behave with the harness hooks (environment.py star-imports harness.run.behave_hooks):
           the session, the environment selected and checked before every scenario (its
           containers listed; its probe re-run unless it passed within timeouts.recheck after a
           clean pass), per-step verification counting, cleanups;
  harness  ``harness run``: the hooks plus the run record, behave JSON, JUnit and rerun file;
  harness_recheck_0  the same with ``timeouts.recheck: 0``: the probe runs before every scenario.

The first step of every scenario appends ``time.perf_counter()`` to a marks file. Per-scenario
time is (mark of scenario N - mark of scenario 1) / (N - 1): the environment's one-time start
(in ``before_feature``, before scenario 1) and process start-up are outside the window, and every
per-scenario cost (hooks, formatters, steps) is inside it. Overhead = hooks-or-harness minus
plain. Median of ``--rounds`` rounds. Goal: <= 5 ms per scenario (issue 29), printed with the
machine's load average and CPU steal over the run (the figure moves 2x with the machine).
Last line: ``overhead_ms_per_scenario=<harness run - plain>``.
"""

from __future__ import annotations

import argparse
import datetime
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

from harness.load.machine import Machine, Watch

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
RESULTS = ROOT / "bench" / "results" / "scenario_overhead.json"
GOAL_MS = 5.0

ENV_YAML = """\
description: One tiny HTTP service, for the overhead benchmark.
template: tiny.yaml.j2
parameters:
  base_image: {default: "harness-base:bookworm-1", description: the image}
services:
  web: {port: 8000, probe: {http: /}}
timeouts: {ready: 30, probe_interval: 0.1, down: 2}
"""
TEMPLATE = """\
services:
  web:
    image: {{ base_image }}
    init: true
    command: ["python3", "-m", "http.server", "8000"]
"""
STEPS = """\
import os, time
from behave import step

MARKS = os.environ["OVERHEAD_MARKS"]


@step("step 1 of scenario {i:d}")
def first(context, i):
    with open(MARKS, "a") as out:
        out.write(f"{time.perf_counter()}\\n")


@step("step {n:d} of scenario {i:d}")
def other(context, n, i):
    pass
"""


def feature(scenarios: int) -> str:
    """One feature of SCENARIOS scenarios, 3 trivial steps each."""
    lines = ["@env.tiny", "Feature: overhead", ""]
    for i in range(1, scenarios + 1):
        lines += [f"  Scenario: trivial {i}",
                  *(f"    Given step {n} of scenario {i}" for n in (1, 2, 3)), ""]
    return "\n".join(lines)


def make_project(base: Path, scenarios: int, hooks: bool, recheck: float | None = None) -> Path:
    """A project folder: features, steps, and (with hooks) environment.py, environments, compose.

    ``recheck``: the environment's ``timeouts.recheck`` (None: the default)."""
    project = base / ("plain" if not hooks else "hooks" if recheck is None else f"hooks-recheck-{recheck:g}")
    (project / "features").mkdir(parents=True)
    (project / "steps").mkdir()
    (project / "features" / "overhead.feature").write_text(feature(scenarios))
    (project / "steps" / "trivial.py").write_text(STEPS)
    if hooks:
        (project / "environment.py").write_text("from harness.run.behave_hooks import *  # noqa: F403\n")
        (project / "environments").mkdir()
        env_yaml = ENV_YAML if recheck is None else ENV_YAML.replace("down: 2}", f"down: 2, recheck: {recheck:g}}}")
        (project / "environments" / "tiny.yaml").write_text(env_yaml)
        (project / "compose").mkdir()
        (project / "compose" / "tiny.yaml.j2").write_text(TEMPLATE)
    return project


def per_scenario_ms(project: Path, argv: list[str]) -> tuple[float, float]:
    """Run ARGV in PROJECT; (ms per scenario from the marks, wall seconds of the whole process)."""
    marks = project / "marks.txt"
    marks.unlink(missing_ok=True)
    env = {**os.environ, "OVERHEAD_MARKS": str(marks), "HARNESS_ROOT": str(project)}
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    times = [float(line) for line in marks.read_text().split()]
    return (times[-1] - times[0]) / (len(times) - 1) * 1e3, wall


def check_costs(project: Path, times: int = 200) -> dict[str, float]:
    """What the check before a scenario is made of, timed apart on the same environment (ms each, median of 5
    batches): one container list of the project (every scenario) and one probe of the service (only when the
    previous scenario failed or faulted, or the last pass is older than ``timeouts.recheck``)."""
    from harness.env.config import Settings
    from harness.env.place import new_run_id
    from harness.run.session import Environments

    envs = Environments(Settings.build(root=project), new_run_id(), {})
    try:
        env = envs.get("tiny")
        svc = env.readiness.services["web"]
        observed = env.readiness.refresh()[0]

        def batch(fn: Any) -> float:
            started = time.perf_counter()
            for _ in range(times):
                fn()
            return (time.perf_counter() - started) / times * 1e3

        batch(env.readiness.refresh)
        lists = [batch(env.readiness.refresh) for _ in range(5)]
        probes = [batch(lambda: svc.probe(observed)) for _ in range(5)]
    finally:
        envs.close()
    return {"container_list_ms": statistics.median(lists), "probe_ms": statistics.median(probes)}


def leftovers() -> list[str]:
    """Containers of the tiny environment still present (there must be none)."""
    out = subprocess.run(["docker", "ps", "-aq", "--filter", "label=harness.env=tiny"],
                         capture_output=True, text=True, check=False).stdout
    return out.split()


def main() -> int:
    """Run the benchmark, print a table, write the JSON results; last line is the overhead."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    watch = Watch()
    runs: dict[str, list[tuple[float, float]]] = {"plain": [], "hooks": [], "harness": [], "harness_recheck_0": []}
    with tempfile.TemporaryDirectory(prefix="overhead-") as tmp:
        plain = make_project(Path(tmp), args.scenarios, hooks=False)
        hooked = make_project(Path(tmp), args.scenarios, hooks=True)
        probing = make_project(Path(tmp), args.scenarios, hooks=True, recheck=0)
        commands = {
            "plain": (plain, [str(VENV / "behave"), "--no-summary", "-f", "null", "features"]),
            "hooks": (hooked, [str(VENV / "behave"), "--no-summary", "-f", "null", "features"]),
            "harness": (hooked, [str(VENV / "harness"), "run", "features"]),
            "harness_recheck_0": (probing, [str(VENV / "harness"), "run", "features"]),  # a probe every scenario
        }
        for _ in range(args.rounds):
            for name, (project, argv) in commands.items():
                runs[name].append(per_scenario_ms(project, argv))
        parts = check_costs(hooked)
        shutil.rmtree(hooked / ".harness", ignore_errors=True)
        shutil.rmtree(probing / ".harness", ignore_errors=True)
    stray = leftovers()
    med = {name: statistics.median(ms for ms, _ in values) for name, values in runs.items()}
    walls = {name: statistics.median(wall for _, wall in values) for name, values in runs.items()}
    overhead = med["harness"] - med["plain"]
    for name in runs:
        print(f"{name:17s} {med[name]:7.2f} ms/scenario   process wall {walls[name]:6.2f} s")
    print(f"hooks only: +{med['hooks'] - med['plain']:.2f} ms/scenario; harness run: +{overhead:.2f} "
          f"(goal <= {GOAL_MS:g}); with recheck: 0 (a probe before every scenario): "
          f"+{med['harness_recheck_0'] - med['plain']:.2f}; leftover containers: {len(stray)}")
    print(f"the check before each scenario, timed apart: container list {parts['container_list_ms']:.2f} ms "
          f"(every scenario); probe of the service {parts['probe_ms']:.2f} ms (after a clean pass only when the "
          "last one is older than timeouts.recheck)")
    machine = watch.state()
    print(machine.line())
    write_results(args, runs, med, walls, overhead, stray, machine, parts)
    print(f"overhead_ms_per_scenario={overhead:.2f}")
    return 0 if not stray else 1


def write_results(args: argparse.Namespace, runs: dict[str, list[tuple[float, float]]], med: dict[str, float],
                  walls: dict[str, float], overhead: float, stray: list[str], machine: Machine,
                  parts: dict[str, float]) -> None:
    """bench/results/scenario_overhead.json."""
    result: dict[str, Any] = {
        "bench": "scenario_overhead", "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "scenarios": args.scenarios, "steps_per_scenario": 3, "rounds": args.rounds,
        "method": "first-step timestamps of scenario 1..N, (last - first) / (N - 1); env start outside",
        "ms_per_scenario_median": {k: round(v, 3) for k, v in med.items()},
        "process_wall_s_median": {k: round(v, 3) for k, v in walls.items()},
        "rounds_ms_per_scenario": {k: [round(ms, 3) for ms, _ in v] for k, v in runs.items()},
        "overhead_hooks_ms": round(med["hooks"] - med["plain"], 3),
        "overhead_ms_per_scenario": round(overhead, 3), "goal_ms": GOAL_MS,
        "overhead_recheck_0_ms": round(med["harness_recheck_0"] - med["plain"], 3),
        "check_parts_ms": {k: round(v, 3) for k, v in parts.items()},
        "leftover_containers": len(stray), "machine": machine.as_dict(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
