"""The sweep itself: plan, bring the environments up, baseline, then the cells across the workers.

    plan         behave --dry-run of the selection: its scenarios and their environment
    bring up     one environment per worker (harness.sweep.worker), owned by this process (its watchdog takes
                 it down if we die); each cell's behave process attaches to its worker's; workers 2..N come
                 up while the baseline runs; all are taken down in ``finally``, Ctrl-C included
    baseline     the selection fault-free, ``baseline_runs`` times, with connection counters
                 (harness.run.sweep_hook); scenarios that fail in every run, or flake (pass in one and
                 fail in another), are left out and listed; the slowest passing run of each sets its time
                 limit under a fault (harness.sweep.schedule.limits)
    cells        the shard's cells (``--shard I/N``, split before the reduction), most-exercising first,
                 taken from one queue by the workers; behave with ``-D sweep_fault=...`` and the limits on
                 the cell's scenarios; then recovery (probes first, the smoke scenario once they pass,
                 timed from the undo); an environment that does not recover is replaced: "no recovery"
    tries        a detected cell, or one that differs from its expectation, is tried again on the same worker
                 (``--confirm N``, harness.sweep.confirm); tries that disagree make it "intermittent"
"""

from __future__ import annotations

import fnmatch
import json
import logging
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from harness.env.config import Settings
from harness.env.lifecycle import Environment
from harness.env.prepare import source_text
from harness.env.tags import env_tag
from harness.errors import ConfigError, HarnessError
from harness.faults.kinds import KINDS, FaultSpec
from harness.faults.observe import ConnectionCounter
from harness.faults.ports import compose_ports
from harness.run.sweep_hook import OBSERVE_KEY
from harness.runfolder import RunFolder
from harness.sweep.confirm import CONFIRM_DEFAULT, retry_order, wants_another_try, with_try
from harness.sweep.observe import BACKGROUND_S, Edges, Reduction, edges_by_scenario, reduce, with_background
from harness.sweep.outcome import CellResult, ScenarioResult
from harness.sweep.schedule import (
    AUTO,
    Budget,
    judge_baseline,
    likeliest_failure_first,
    limits,
    order,
    shard,
    space_id,
)
from harness.sweep.space import Topology, fault_space
from harness.sweep.worker import Worker

logger = logging.getLogger(__name__)

Out = Callable[[str], None]
Expect = Callable[[CellResult], str]  # the outcome resilience.yaml expects of a cell ("" when it says nothing)


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
    workers: int = 1
    shard: tuple[int, int] | None = None  # (I, N): only shard I of N of the fault space
    scenario_timeout: float | None = AUTO  # seconds a scenario may take under a fault (None: from the baseline)
    baseline_runs: int = 2  # fault-free runs; a scenario that does not pass in all of them is left out
    first_failure: bool = False  # a cell stops at its first failing scenario (detected either way)
    batch: bool = True  # a worker's cells and smoke runs go to one long-lived behave process
    confirm: int = CONFIRM_DEFAULT  # more tries of a detected cell or a finding (harness.sweep.confirm)
    onset: float = 0.0  # seconds a cut-off is held before each scenario's first step (harness.run.sweep_hook)
    idle_edges: bool = False  # the idle stack's edges count for every scenario (harness.sweep.observe)


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
    flaky: list[ScenarioResult] = field(default_factory=list)  # left out because they flaked fault-free
    limits: dict[str, float] = field(default_factory=dict)  # scenario -> seconds under a fault
    space_id: str = ""  # names the sweep's question: every shard of one sweep has the same
    space_cells: int = 0  # cells in the whole fault space (every shard)
    shard: tuple[int, int] | None = None
    workers: int = 1
    phases: dict[str, float] = field(default_factory=dict)  # seconds: bring-up, baseline, cells


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

    def __init__(self, options: SweepOptions, settings: Settings, folder: RunFolder, *, out: Out = print,
                 expect: Expect | None = None) -> None:
        self.options = options
        self.expect: Expect = expect or (lambda cell: "")
        self.settings = settings
        self.folder = folder
        self.out = out
        self.workers: list[Worker] = []
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._background: Edges = frozenset()  # the idle stack's edges (harness.sweep.observe.with_background)

    def worker(self, number: int, env: str) -> Worker:
        """Worker ``number`` of this sweep (not started)."""
        worker = Worker(number, env, self.settings, self.folder, env_override=self.options.env, out=self._say)
        worker.batch = self.options.batch
        worker.onset = self.options.onset
        return worker

    def environment(self, name: str) -> Environment:
        """An unstarted handle on the sweep's environment (for --list)."""
        return self.worker(1, name).environment()

    def _say(self, line: str) -> None:
        with self._lock:
            self.out(line)

    def run(self, the_plan: Plan) -> SweepResult:
        """Bring up, baseline, cells; every environment is taken down whatever happens."""
        result = SweepResult(the_plan.env, self.folder.run_id, list(the_plan.scenarios), [], [], None, "",
                             shard=self.options.shard, workers=max(1, self.options.workers))
        self.workers = [self.worker(n, the_plan.env) for n in range(1, result.workers + 1)]
        starter: threading.Thread | None = None
        try:
            began = time.monotonic()
            self.workers[0].start()
            result.phases["bring_up_s"] = round(time.monotonic() - began, 1)
            starter = self._start_others()
            self._baseline(the_plan, result)
            if starter is not None:
                starter.join()
            if result.scenarios:
                self._cells(result)
        except KeyboardInterrupt:
            result.stopped = "interrupted"
        finally:
            result.wall_s = round(time.monotonic() - self._started, 1)
            self._stop.set()
            if starter is not None:
                starter.join()
            self._down_all()
        return result

    def _start_others(self) -> threading.Thread | None:
        """Bring workers 2..N up on a thread (the baseline runs meanwhile); one that fails is dropped."""
        others = self.workers[1:]
        if not others:
            return None

        def start() -> None:
            for worker in others:
                if self._stop.is_set():
                    return
                try:
                    worker.start()
                except (HarnessError, OSError) as exc:
                    self._say(f"worker {worker.number}: its environment did not come up, going on without it: "
                              f"{str(exc).splitlines()[0]}")
                    worker.env = None

        thread = threading.Thread(target=start, name="sweep-bring-up", daemon=True)
        thread.start()
        return thread

    def _down_all(self) -> None:
        """Every worker's environment down; every one attempted, the first error raised."""
        errors: list[BaseException] = []
        for worker in self.workers:
            try:
                worker.down()
            except (HarnessError, OSError) as exc:
                logger.error("worker %s: taking its environment down: %s", worker.number, exc)
                errors.append(exc)
        if errors:
            raise errors[0]

    # -- baseline ----------------------------------------------------------------------

    def _baseline(self, the_plan: Plan, result: SweepResult) -> None:
        started = time.monotonic()
        runs = max(1, self.options.baseline_runs)
        self.out(f"baseline: {len(the_plan.scenarios)} scenario(s) fault-free, {runs} run(s), counting connections")
        # every run counts: a scenario shorter than a heartbeat may miss one in one run and not in the other, and
        # the reduction must keep every pair any run saw (the union)
        observe = [(OBSERVE_KEY, str(self.folder.observed))]
        outcomes = [self.workers[0].behave(self.folder.sweep_baseline(n), list(the_plan.scenarios), observe)
                    for n in range(1, runs + 1)]
        result.baseline_s = result.phases["baseline_s"] = round(time.monotonic() - started, 1)
        judged = judge_baseline(the_plan.scenarios, outcomes)
        result.left_out = list(judged.left_out)
        result.flaky = list(judged.flaky)
        result.scenarios = list(judged.kept)
        result.limits = limits({s: judged.durations[s] for s in judged.kept}, self.options.scenario_timeout)
        for r in judged.failing:
            self.out(f"  left out (fails fault-free): {r.location} {r.name}: {r.error}")
        for r in judged.flaky:
            self.out(f"  left out (flaky fault-free: passed in some of {runs} runs): {r.location} {r.name}: "
                     f"{r.error}")
        result.smoke = self._smoke(result.scenarios, the_plan.names)
        self._background = self._idle_edges() if self.options.idle_edges else frozenset()

    def _idle_edges(self) -> Edges:
        """The edges that carry traffic with no scenario running (heartbeats), counted ``BACKGROUND_S`` seconds on
        the first worker's environment (harness.sweep.observe); none when they cannot be counted."""
        env = self.workers[0].env
        if env is None:
            return frozenset()
        try:
            counter = ConnectionCounter(env)
            counter.zero()
            time.sleep(BACKGROUND_S)
            found = frozenset((e.client, e.server) for e in counter.read() if e.packets > 0)
        except (HarnessError, OSError) as exc:
            logger.warning("the idle stack's connections could not be counted: %s", exc)
            return frozenset()
        self.out(f"  background: {len(found)} edge(s) carry traffic with no scenario running "
                 f"({', '.join(f'{c}->{s}' for c, s in sorted(found)) or 'none'}): every scenario counts them")
        return found

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
        first = self.workers[0].env
        assert first is not None
        space = fault_space(topology(first, self.options.overrides), self.options.kinds or KINDS,
                            self.options.globs, each_replica=self.options.each_replica)
        result.space_id = space_id(result.env, self.options.selection, space)
        result.space_cells = len(space)
        mine = shard(space, self.options.shard)
        edges = with_background(edges_by_scenario(replace(o, scenario=o.scenario.split(": ", 1)[0])
                                                  for o in self.folder.read_observed()), self._background)
        reduction = result.reduction = reduce(mine, result.scenarios, edges)
        runnable = [f for f in order(mine, reduction.scenarios) if reduction.scenarios[f]]
        part = f" (shard {self.options.shard[0]}/{self.options.shard[1]}: {len(mine)} of them)" \
            if self.options.shard else ""
        self.out(f"fault space: {len(space)} cells{part}; {len(runnable)} exercised; scenario runs "
                 f"{reduction.runs} instead of {reduction.unreduced_runs} (the reduction saved {reduction.saved})")
        result.cells = [CellResult(f, ran=True) for f in mine if not reduction.scenarios[f]]
        began = time.monotonic()
        finished: list[CellResult] = []
        try:
            self._run_queue(runnable, reduction, result, finished)
        finally:  # Ctrl-C included: the finished cells are kept, the others listed as not run
            result.phases["cells_s"] = round(time.monotonic() - began, 1)
            done = {c.fault for c in finished}
            result.cells += sorted(finished, key=lambda c: runnable.index(c.fault))
            result.cells += [CellResult(f, ran=False) for f in runnable if f not in done]

    def _run_queue(self, runnable: list[FaultSpec], reduction: Reduction, result: SweepResult,
                   finished: list[CellResult]) -> None:
        """The cells across the ready workers into ``finished``, most informative first; stops at the budget or on
        Ctrl-C."""
        queue = deque(enumerate(runnable, 1))
        durations: list[float] = []
        failures: dict[str, int] = {}  # scenario -> cells it failed in so far (--first-failure orders by it)
        errors: list[BaseException] = []
        ready = [w for w in self.workers if w.env is not None]
        budget = Budget(self.options.budget_s, len(ready))

        def work(worker: Worker) -> None:
            while not self._stop.is_set():
                with self._lock:
                    if not queue:
                        return
                    if not budget.allows(time.monotonic() - self._started, durations):
                        result.stopped = result.stopped or "budget"
                        return
                    number, fault = queue.popleft()
                    scenarios = list(reduction.scenarios[fault])
                    if self.options.first_failure:
                        scenarios = likeliest_failure_first(scenarios, failures)
                try:
                    cell = self._tries(worker, number, fault, scenarios, result)
                except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
                    if not self._stop.is_set():
                        errors.append(exc)
                        self._stop.set()
                    return
                if self._stop.is_set():  # interrupted while it ran: the cell did not finish as it should
                    return
                with self._lock:
                    finished.append(cell)
                    durations.append(cell.seconds)
                    for failed in cell.failed:
                        failures[failed.location] = failures.get(failed.location, 0) + 1
                    self._progress(len(finished), len(runnable), cell,
                                   budget.left(len(runnable) - len(finished), durations))

        threads = [threading.Thread(target=work, args=(w,), name=f"sweep-worker-{w.number}", daemon=True)
                   for w in ready]
        for thread in threads:
            thread.start()
        try:
            while any(t.is_alive() for t in threads):
                for thread in threads:
                    thread.join(timeout=0.5)
        except KeyboardInterrupt:
            self._stop.set()
            for worker in ready:
                worker.stop()
            for thread in threads:
                thread.join()
            raise
        if errors:
            raise errors[0]

    def _tries(self, worker: Worker, number: int, fault: FaultSpec, scenarios: list[str],
               result: SweepResult) -> CellResult:
        """The cell on ``worker``, then its confirmation tries while they are wanted (harness.sweep.confirm)."""
        cell = worker.cell(self.folder.sweep_cell(number, fault.label), fault, scenarios, result.limits,
                           result.smoke, self._smoke_folders(number), first_failure=self.options.first_failure)
        attempt = 1
        while (not self._stop.is_set() and worker.env is not None
               and wants_another_try(cell, self.expect(cell), self.options.confirm - attempt + 1)):
            attempt += 1
            again = worker.cell(self.folder.sweep_cell(number, f"{fault.label} try {attempt}"), fault,
                                retry_order(scenarios, cell) if self.options.first_failure else scenarios,
                                result.limits, result.smoke, self._smoke_folders(number, attempt),
                                first_failure=self.options.first_failure)
            cell = with_try(cell, again)
        return cell

    def _smoke_folders(self, number: int, attempt: int = 1) -> Callable[[int], RunFolder]:
        """The run folder of the smoke run after cell ``number`` (its try ``attempt``), by attempt."""
        return lambda n: self.folder.sweep_smoke(number * 100 + n + (attempt * 100_000 if attempt > 1 else 0))

    def _progress(self, number: int, total: int, cell: CellResult, left: float) -> None:
        recovery = f"recovery {cell.recovery_s:.1f} s" if cell.recovery_s is not None else "no recovery"
        failed = f"{len(cell.failed)}/{len(cell.scenarios)} failed"
        if cell.tries:
            failed = "tries: " + " | ".join(f"{len(f)}/{len(t)} failed" for f, t in zip(cell.failed_by_try,
                                                                                         cell.all_tries, strict=True))
        worker = f"worker {cell.worker} · " if len(self.workers) > 1 else ""
        self.out(f"[{number}/{total}] {cell.fault.label}: {cell.outcome} ({failed}, {recovery}, {cell.seconds:.0f} s) "
                 f"· {worker}{time.monotonic() - self._started:.0f} s elapsed, ~{left:.0f} s left")
