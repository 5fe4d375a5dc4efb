"""The sweep itself: plan, bring the environment up once, baseline, then cell after cell.

    plan         behave --dry-run of the selection: its scenarios and their environment
    bring up     one Environment, owned by this process (its watchdog takes it down if we die); each cell's
                 behave process attaches to it (``-D reuse=ENV -D reuse_run=<sweep id>``); taken down in
                 ``finally``, Ctrl-C included
    baseline     the selection fault-free with connection counters (harness.run.sweep_hook); failing
                 scenarios are left out and listed
    cells        most-exercising first; behave with ``-D sweep_fault=...`` on the cell's scenarios; then
                 recovery: probes (env.settle) and the smoke scenario again, within the ready timeout; an
                 environment that does not recover is replaced and the cell is "no recovery"
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from harness.analysis.inputs import load
from harness.env.config import Settings, load_environment, resolve_parameters
from harness.env.lifecycle import Environment
from harness.env.prepare import source_text
from harness.env.tags import env_tag
from harness.errors import ConfigError, HarnessError
from harness.faults.kinds import KINDS, FaultSpec
from harness.faults.ports import compose_ports
from harness.run.sweep_hook import FAULT_KEY, OBSERVE_KEY
from harness.runfolder import EnvFolder, RunFolder
from harness.sweep.observe import Reduction, edges_by_scenario, reduce
from harness.sweep.outcome import PASSED, CellResult, ScenarioResult, scenario_results
from harness.sweep.space import Topology, fault_space

logger = logging.getLogger(__name__)

Out = Callable[[str], None]


@dataclass(frozen=True)
class SweepOptions:
    """What `harness sweep` was asked for (harness.sweep.cli builds it)."""

    selection: tuple[str, ...] = ()  # behave paths and --tags
    env: str = ""
    kinds: tuple[str, ...] = ()
    globs: tuple[str, ...] = ()
    budget_s: float | None = None
    smoke: str = ""
    each_replica: bool = False
    overrides: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class SweepResult:
    """Everything the reports need."""

    env: str
    run_id: str
    scenarios: list[str]
    left_out: list[ScenarioResult]
    cells: list[CellResult]
    reduction: Reduction | None
    smoke: str
    wall_s: float = 0.0
    baseline_s: float = 0.0
    observe_s: float = 0.0
    stopped: str = ""  # "budget" or "interrupted" when cells did not run


@dataclass(frozen=True)
class Plan:
    """The selection's scenarios (``file:line``) and names, and the environment they run on."""

    env: str
    scenarios: tuple[str, ...]
    names: dict[str, str]


def plan(options: SweepOptions, settings: Settings, folder: Path) -> Plan:
    """The scenarios of the selection (behave --dry-run) and the one environment they need."""
    out = folder / "dry-run.json"
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "behave", "--dry-run", "--no-summary", "-f", "json", "-o", str(out),
           *options.selection]
    done = subprocess.run(cmd, cwd=settings.root, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1) or not out.is_file():
        raise ConfigError(f"behave could not read the selection {' '.join(options.selection) or '(all)'}: "
                          f"{done.stderr.strip()[-500:]}", key="selection", hint="check the paths and --tags")
    features = json.loads(out.read_text() or "[]")
    scenarios: list[str] = []
    names: dict[str, str] = {}
    envs: set[str] = set()
    for feature in features:
        for element in feature.get("elements") or []:
            if element.get("type") != "scenario" or element.get("status") == "skipped":  # not selected
                continue
            scenarios.append(str(element["location"]))
            names[str(element["location"])] = str(element.get("name", ""))
            envs.add(env_tag(list(element.get("tags") or [])) or env_tag(list(feature.get("tags") or [])) or "")
    if not scenarios:
        raise ConfigError("the selection holds no scenario", key="selection", hint="check the paths and --tags")
    if options.env:
        return Plan(options.env, tuple(scenarios), names)
    if len(envs) != 1 or "" in envs:
        raise ConfigError(f"the selection runs on {', '.join(sorted(e or '(no @env tag)' for e in envs))}: "
                          "a sweep needs one environment", key="--env",
                          hint="name one with --env ENV, or select features of one environment")
    return Plan(envs.pop(), tuple(scenarios), names)


def topology(env: Environment, overrides: dict[str, dict[str, float]]) -> Topology:
    """Services (replicas), servers (a port) and published services, from the rendered compose file."""
    doc = yaml.safe_load(source_text(env.spec, env.params, env.settings, env.run_id)) or {}
    replicas: dict[str, int] = {}
    servers, published = set(), set()
    for name, entry in (doc.get("services") or {}).items():
        entry = entry or {}
        replicas[str(name)] = int((entry.get("deploy") or {}).get("replicas") or entry.get("scale") or 1)
        port = next((s.port for s in env.spec.services if fnmatch.fnmatchcase(str(name), s.pattern) and s.port), None)
        if compose_ports(doc, str(name)) or port:
            servers.add(str(name))
        if entry.get("ports") or port:
            published.add(str(name))
    return Topology(replicas, frozenset(servers), frozenset(published), overrides)


class Sweep:
    """One sweep: ``run()`` returns the result, with the finished cells even after Ctrl-C."""

    def __init__(self, options: SweepOptions, settings: Settings, folder: RunFolder, *, out: Out = print) -> None:
        self.options = options
        self.settings = settings
        self.folder = folder
        self.out = out
        self.env: Environment | None = None
        self._instances = 0
        self._started = time.monotonic()

    def environment(self, name: str) -> Environment:
        """An unstarted handle on the sweep's environment (for --list and bring-up)."""
        spec = load_environment(name, self.settings.env_dir)
        params = resolve_parameters(spec, {}, strict=False)
        env = Environment(spec, params, self.settings, run_id=self.folder.run_id, instance=self._instances)
        self._instances += 1
        return env

    def run(self, the_plan: Plan) -> SweepResult:
        """Bring up, baseline, cells; the environment is taken down whatever happens."""
        result = SweepResult(the_plan.env, self.folder.run_id, list(the_plan.scenarios), [], [], None, "")
        try:
            self.env = self.environment(the_plan.env).start()
            self._baseline(the_plan, result)
            if result.scenarios:
                self._cells(result)
        except KeyboardInterrupt:
            result.stopped = "interrupted"
        finally:
            result.wall_s = round(time.monotonic() - self._started, 1)
            if self.env is not None:
                self.env.down()
        return result

    # -- baseline ----------------------------------------------------------------------

    def _baseline(self, the_plan: Plan, result: SweepResult) -> None:
        started = time.monotonic()
        folder = self.folder.sweep_baseline()
        self.out(f"baseline: {len(the_plan.scenarios)} scenario(s) fault-free, counting connections")
        results = self._behave(folder, list(the_plan.scenarios), [OBSERVE_KEY, str(self.folder.observed)])
        result.baseline_s = round(time.monotonic() - started, 1)
        by_location = {r.location: r for r in results}
        result.left_out = [r for r in results if r.status != PASSED]
        result.scenarios = [s for s in the_plan.scenarios if s in by_location and by_location[s].status == PASSED]
        for r in result.left_out:
            self.out(f"  left out (fails fault-free): {r.location} {r.name}: {r.error}")
        result.smoke = self._smoke(result.scenarios, the_plan.names)

    def _smoke(self, scenarios: list[str], names: dict[str, str]) -> str:
        wanted = self.options.smoke
        if not wanted:
            return scenarios[0] if scenarios else ""
        found = [s for s in names if wanted in (s, names[s]) or wanted.lower() in names[s].lower()]
        if not found:
            raise ConfigError(f"--smoke {wanted!r} names no scenario of the selection", key="--smoke",
                              hint="give a scenario's name (or part of it) or its file:line")
        return found[0]

    # -- cells -------------------------------------------------------------------------

    def _cells(self, result: SweepResult) -> None:
        assert self.env is not None
        space = fault_space(topology(self.env, self.options.overrides), self.options.kinds or KINDS,
                            self.options.globs, each_replica=self.options.each_replica)
        observed = self.folder.read_observed()
        edges = edges_by_scenario(
            replace(o, scenario=o.scenario.split(": ", 1)[0]) for o in observed)
        result.reduction = reduce(space, result.scenarios, edges)
        todo = sorted(space, key=lambda f: -len(result.reduction.scenarios[f]) if result.reduction else 0)
        runnable = [f for f in todo if result.reduction.scenarios[f]]
        self.out(f"fault space: {len(space)} cells; {len(runnable)} exercised; scenario runs "
                 f"{result.reduction.runs} instead of {result.reduction.unreduced_runs} "
                 f"(the reduction saved {result.reduction.saved})")
        result.cells = [CellResult(f, ran=True) for f in todo if not result.reduction.scenarios[f]]
        durations: list[float] = []
        for number, fault in enumerate(runnable, 1):
            if self._over_budget(durations):
                result.stopped = "budget"
                result.cells += [CellResult(f, ran=False) for f in runnable[number - 1:]]
                return
            try:
                cell = self._cell(number, fault, list(result.reduction.scenarios[fault]), result.smoke)
            except KeyboardInterrupt:
                result.cells += [CellResult(f, ran=False) for f in runnable[number - 1:]]
                raise
            durations.append(cell.seconds)
            result.cells.append(cell)
            self._progress(number, len(runnable), cell, durations)

    def _over_budget(self, durations: list[float]) -> bool:
        if self.options.budget_s is None:
            return False
        typical = sum(durations) / len(durations) if durations else 0.0
        return time.monotonic() - self._started + typical > self.options.budget_s

    def _progress(self, number: int, total: int, cell: CellResult, durations: list[float]) -> None:
        left = (total - number) * sum(durations) / len(durations)
        recovery = f"recovery {cell.recovery_s:.1f} s" if cell.recovery_s is not None else "no recovery"
        failed = f"{len(cell.failed)}/{len(cell.scenarios)} failed"
        self.out(f"[{number}/{total}] {cell.fault.label}: {cell.outcome} ({failed}, {recovery}) "
                 f"· {time.monotonic() - self._started:.0f} s elapsed, ~{left:.0f} s left")

    def _cell(self, number: int, fault: FaultSpec, scenarios: list[str], smoke: str) -> CellResult:
        assert self.env is not None
        started = time.monotonic()
        before = len(self._timeline())
        folder = self.folder.sweep_cell(number, fault.label)
        results = self._behave(folder, scenarios, [FAULT_KEY, json.dumps(fault.as_dict())])
        events = self._timeline()[before:]
        undone = max((e.wall for e in events if e.action == "revert" and e.wall), default=time.time())
        recovered, recovery_s = self._recover(number, smoke, undone)
        timeline_dicts = tuple({"scenario": e.scenario, "at": e.wall, "action": e.action, "what": e.what,
                                "target": e.target, "error": e.error} for e in events)
        return CellResult(fault, tuple(results), recovered, recovery_s, round(time.monotonic() - started, 1),
                          True, timeline_dicts, str(folder.path.relative_to(self.folder.path)))

    def _timeline(self) -> list[Any]:
        assert self.env is not None
        return EnvFolder(self.env.run_dir).read_timeline()

    def _recover(self, number: int, smoke: str, undone: float) -> tuple[bool, float | None]:
        """Seconds from the undo until every probe and the smoke scenario pass; else replace the environment."""
        assert self.env is not None
        deadline = undone + self.env.spec.timeouts.ready
        attempt = 0
        while time.time() < deadline:
            problems = self.env.settle(within=max(0.0, deadline - time.time()))
            if problems:
                break
            attempt += 1
            smoked = self._behave(self.folder.sweep_smoke(number * 100 + attempt), [smoke], [])
            if smoked and all(r.status == PASSED for r in smoked):
                return True, round(time.time() - undone, 1)
        self.out(f"  environment did not recover within {self.env.spec.timeouts.ready:g} s: replacing it")
        self.env.down()
        name = self.env.name
        self.env = None
        self.env = self.environment(name).start()
        return False, None

    # -- behave ------------------------------------------------------------------------

    def _behave(self, folder: RunFolder, scenarios: list[str], define: Sequence[str]) -> list[ScenarioResult]:
        """Run ``scenarios`` on the sweep's environment; their results (empty when behave wrote none)."""
        assert self.env is not None
        folder.path.mkdir(parents=True, exist_ok=True)
        defines = ["-D", f"reuse={self.env.name}", "-D", f"reuse_run={self.folder.run_id}"]
        if self.options.env:
            defines += ["-D", f"env={self.options.env}"]
        if define:
            defines += ["-D", f"{define[0]}={define[1]}"]
        cmd = [sys.executable, "-m", "behave", *folder.behave_outputs(), "-f", "null", "--no-summary",
               "-D", f"run_id={folder.run_id}", *defines, *scenarios]
        environ = {**os.environ, "HARNESS_RUN_ID": self.folder.run_id}
        with folder.behave_log.open("wb") as log, subprocess.Popen(
                cmd, cwd=self.settings.root, env=environ, stdout=log, stderr=subprocess.STDOUT) as proc:
            try:
                code = proc.wait()
            except KeyboardInterrupt:  # behave reverts its fault and leaves; wait for it
                proc.terminate()
                proc.wait()
                raise
        if code not in (0, 1):
            logger.warning("behave exited %s in %s", code, folder.path)
        try:
            wanted = set(scenarios)  # behave lists the scenarios it skipped beside the selected ones
            return [r for r in scenario_results(load([str(folder.path)])) if r.location in wanted]
        except HarnessError as exc:
            logger.warning("no results in %s: %s", folder.path, exc)
            return []

