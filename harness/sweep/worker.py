"""One sweep worker: its own environment, and the behave runs of its cells on it.

    start()          brings its environment up (owned by this process: the watchdog takes it down if we die)
    behave(...)      a behave process attached to it (``-D reuse=ENV -D reuse_run=<its run id>``)
    ask(...)         a job for its one long-lived behave process (harness.run.cell_runner), started on first
                     use and ended with the environment: the cells and smoke runs without a process each
    cell(...)        a cell's scenarios under the fault, then the recovery: probes first, the smoke scenario
                     only once they pass, timed from the undo; no recovery within the ready timeout -> the
                     environment is replaced
    stop()           ends a running behave (it reverts its fault and leaves); ``down()`` removes the environment

Worker 1 uses the sweep's run id, so a one-worker sweep keeps its environment in the sweep's folder; worker
N > 1 uses ``<sweep id>-wN`` under ``<sweep folder>/workers/``: each behave attaches to its own worker's project.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from harness.analysis.inputs import load
from harness.env.config import Settings, load_environment, resolve_parameters
from harness.env.lifecycle import Environment
from harness.errors import HarnessError
from harness.faults.kinds import FaultSpec
from harness.run.sweep_hook import FAULT_KEY, LIMITS_KEY, MARK, ONSET_KEY
from harness.runfolder import EnvFolder, RunFolder
from harness.sweep.outcome import PASSED, CellResult, ScenarioResult, scenario_results

logger = logging.getLogger(__name__)

NOT_RUN_STATUSES = frozenset({"skipped", "untested"})  # behave --stop: the scenarios after the first failure

Out = Callable[[str], None]


class CellProcess:
    """A worker's long-lived behave process: a job line in on stdin, an answer line (``MARK`` JSON) out on stdout."""

    def __init__(self, cmd: Sequence[str], cwd: str, environ: Mapping[str, str], log: Path) -> None:
        self.log = log.open("ab")
        self.proc = subprocess.Popen(list(cmd), cwd=cwd, env=dict(environ), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log)
        self.launched = time.time()

    def ask(self, job: Mapping[str, object]) -> list[dict[str, object]] | None:
        """The answer's results; None when the process ended without answering."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace")
            if line.startswith(MARK):
                answer = json.loads(line[len(MARK):])
                return None if answer.get("aborted") else list(answer.get("results") or [])
            self.log.write(raw)
        return None

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.proc.poll() is None

    def close(self, timeout: float) -> None:
        """End of input: behave runs after_all and exits; killed if it does not within ``timeout``."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=timeout)
        except (subprocess.TimeoutExpired, OSError):
            self.proc.kill()
            self.proc.wait()
        finally:
            self.log.close()


class Worker:
    """One environment and the behave processes that attach to it."""

    def __init__(self, number: int, env_name: str, settings: Settings, sweep: RunFolder, *, env_override: str = "",
                 out: Out = print) -> None:
        self.number = number
        self.env_name = env_name
        self.sweep = sweep
        self.run_id = sweep.run_id if number == 1 else f"{sweep.run_id}-w{number}"
        runs = settings.runs_dir if number == 1 else sweep.sweep_workers
        self.settings = settings if number == 1 else replace(settings, runs_root=runs)
        self.env_override = env_override
        self.out = out
        self.env: Environment | None = None
        self._instances = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.stopping = False  # the sweep is being interrupted: no new behave, no replacement
        self.batch = True  # cells and smoke runs go to one long-lived behave process (else one process each)
        self.onset = 0.0  # seconds each fault is held before its scenario's first step (--onset)
        self._cells: CellProcess | None = None

    @property
    def env_folder(self) -> EnvFolder:
        """Where the behave processes attached to this worker's environment write its timeline."""
        return RunFolder(self.settings.runs_dir / self.run_id).env(self.env_name)

    def environment(self) -> Environment:
        """An unstarted handle on this worker's environment."""
        spec = load_environment(self.env_name, self.settings.env_dir)
        params = resolve_parameters(spec, {}, strict=False)
        env = Environment(spec, params, self.settings, run_id=self.run_id, instance=self._instances)
        self._instances += 1
        return env

    def start(self) -> Worker:
        """Bring the worker's environment up."""
        env = self.environment()
        self.env = env
        env.start()
        return self

    def down(self) -> None:
        """End the worker's behave process, then take its environment down (nothing when it never started)."""
        self._close_cells()
        env, self.env = self.env, None
        if env is not None:
            env.down()

    def stop(self) -> None:
        """End the running behave, if any: SIGTERM is its Ctrl-C (it reverts the fault, then exits)."""
        with self._lock:
            self.stopping = True
            procs = [p for p in (self._proc, self._cells.proc if self._cells else None) if p is not None]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    def _close_cells(self) -> None:
        cells, self._cells = self._cells, None
        if cells is not None:
            cells.close(timeout=self.env.spec.timeouts.ready if self.env is not None else 60.0)

    # -- a cell ------------------------------------------------------------------------

    def cell(self, folder: RunFolder, fault: FaultSpec, scenarios: Sequence[str], limits: Mapping[str, float],
             smoke: str, smoke_folder: Callable[[int], RunFolder], *, first_failure: bool = False) -> CellResult:
        """The cell's scenarios under ``fault``, then its recovery; the time split goes into ``phases``.

        ``first_failure``: behave stops at the cell's first failing scenario (the cell is detected; the scenarios
        after it did not run and are not listed)."""
        assert self.env is not None
        started = time.monotonic()
        before = len(self.env_folder.read_timeline())
        defines = [(FAULT_KEY, json.dumps(fault.as_dict()))]
        wanted = {s: v for s, v in limits.items() if s in scenarios or s == "*"}
        if wanted:
            defines.append((LIMITS_KEY, json.dumps(wanted)))
        if self.onset > 0:
            defines.append((ONSET_KEY, f"{self.onset:g}"))
        launched = time.time()
        if self.batch:
            results = self.ask(folder, scenarios, fault, limits, first_failure=first_failure)
            launched = max(launched, self._cells.launched) if self._cells is not None else launched
        else:
            results = self.behave(folder, scenarios, defines, ["--stop"] if first_failure else [])
            results = [r for r in results if r.status not in NOT_RUN_STATUSES] if first_failure else results
        if not results and not self.stopping:  # behave died (see its log): no scenario passed, none is "not exercised"
            results = [ScenarioResult(s, "", "error", "", f"behave ended without a result (see {folder.path})")
                       for s in scenarios]
        ran = time.monotonic()
        events = self.env_folder.read_timeline()[before:]
        undone = max((e.wall for e in events if e.action == "revert" and e.wall), default=time.time())
        recovered, recovery_s, probes_s, smoke_s = self.recover(smoke, undone, smoke_folder)
        timeline = tuple({"scenario": e.scenario, "at": e.wall, "action": e.action, "what": e.what,
                          "target": e.target, "error": e.error} for e in events)
        first = min((r.started for r in results if r.started), default=launched)
        phases = {"behave_s": round(ran - started, 1), "start_s": round(max(0.0, first - launched), 1),
                  "scenarios_s": round(sum(r.duration for r in results), 1), "probes_s": probes_s, "smoke_s": smoke_s}
        return CellResult(fault, tuple(results), recovered, recovery_s, round(time.monotonic() - started, 1),
                          True, timeline, str(folder.path.relative_to(self.sweep.path)), phases, self.number)

    def recover(self, smoke: str, undone: float,
                smoke_folder: Callable[[int], RunFolder]) -> tuple[bool, float | None, float, float]:
        """(recovered, seconds from the undo, seconds in probes, seconds in smoke runs): every probe, then the smoke
        scenario, within the ready timeout from the undo; else the environment is replaced."""
        assert self.env is not None
        deadline = undone + self.env.spec.timeouts.ready
        probes_s = smoke_s = 0.0
        attempt = 0
        while time.time() < deadline and not self.stopping:
            began = time.monotonic()
            problems = self.env.settle(within=max(0.0, deadline - time.time()))
            probes_s += time.monotonic() - began
            if problems:
                break
            attempt += 1
            began = time.monotonic()
            smoked = ((self.ask(smoke_folder(attempt), [smoke], None, {}) if self.batch else
                       self.behave(smoke_folder(attempt), [smoke], [])) if smoke else [ScenarioResult("", "", PASSED)])
            smoke_s += time.monotonic() - began
            if smoked and all(r.status == PASSED for r in smoked):
                return True, round(time.time() - undone, 1), round(probes_s, 1), round(smoke_s, 1)
        if self.stopping:
            return False, None, round(probes_s, 1), round(smoke_s, 1)
        self.out(f"  worker {self.number}: the environment did not recover within "
                 f"{self.env.spec.timeouts.ready:g} s: replacing it")
        self.down()  # its behave process too: it is attached to the old project
        self.start()
        return False, None, round(probes_s, 1), round(smoke_s, 1)

    # -- behave ------------------------------------------------------------------------

    def _command(self, outputs: Sequence[str], defines: Sequence[tuple[str, str]], run_id: str) -> list[str]:
        assert self.env is not None
        args = ["-D", f"reuse={self.env.name}", "-D", f"reuse_run={self.run_id}"]
        if self.env_override:
            args += ["-D", f"env={self.env_override}"]
        if self.number > 1:
            args += ["-D", f"runs_dir={self.settings.runs_dir}"]
        for key, value in defines:
            args += ["-D", f"{key}={value}"]
        return [sys.executable, "-m", "behave", *outputs, "-f", "null", "--no-summary", "-D", f"run_id={run_id}",
                *args]

    def ask(self, folder: RunFolder, scenarios: Sequence[str], fault: FaultSpec | None,
            limits: Mapping[str, float], *, first_failure: bool = False) -> list[ScenarioResult]:
        """Run ``scenarios`` (under ``fault``, if any) in the worker's long-lived behave process; the answer is also
        saved in ``folder``. A process that died is started again for the next job."""
        assert self.env is not None
        if self.stopping:
            return []
        folder.path.mkdir(parents=True, exist_ok=True)
        if self._cells is None or not self._cells.alive():
            cmd = [*self._command([], [], f"{self.run_id}-cells"), "-r", "harness.run.cell_runner:CellRunner",
                   scenarios[0]]
            environ = {**os.environ, "HARNESS_RUN_ID": self.sweep.run_id}
            self._cells = CellProcess(cmd, str(self.settings.root), environ, self.sweep.sweep_worker_log(self.number))
        job = {"scenarios": list(scenarios), "fault": fault.as_dict() if fault else None,
               "limits": {s: v for s, v in limits.items() if s in scenarios or s == "*"},
               "first_failure": first_failure, "onset": self.onset if fault else 0}
        answer = self._cells.ask(job)
        folder.sweep_answer.write_text(json.dumps({"job": job, "results": answer}, indent=1) + "\n")
        if answer is None:
            logger.warning("worker %s: its behave process ended without answering (%s)", self.number,
                           self.sweep.sweep_worker_log(self.number))
            return []
        return [ScenarioResult(str(r.get("location", "")), str(r.get("name", "")), str(r.get("status", "")),
                               str(r.get("step", "")), str(r.get("error", "")), _seconds(r.get("duration")),
                               _seconds(r.get("started"))) for r in answer]

    def behave(self, folder: RunFolder, scenarios: Sequence[str], defines: Sequence[tuple[str, str]],
               options: Sequence[str] = ()) -> list[ScenarioResult]:
        """Run ``scenarios`` on this worker's environment; their results (empty when behave wrote none)."""
        assert self.env is not None
        if self.stopping:
            return []
        folder.path.mkdir(parents=True, exist_ok=True)
        cmd = [*self._command(folder.behave_outputs(), defines, folder.run_id), *options, *scenarios]
        environ = {**os.environ, "HARNESS_RUN_ID": self.sweep.run_id}
        with folder.behave_log.open("wb") as log, subprocess.Popen(
                cmd, cwd=self.settings.root, env=environ, stdout=log, stderr=subprocess.STDOUT) as proc:
            with self._lock:
                self._proc = proc
            try:
                code = proc.wait()
            except KeyboardInterrupt:  # behave reverts its fault and leaves; wait for it
                proc.terminate()
                proc.wait()
                raise
            finally:
                with self._lock:
                    self._proc = None
        if code not in (0, 1):
            logger.warning("behave exited %s in %s", code, folder.path)
        return results_of(folder, scenarios)


def results_of(folder: RunFolder, scenarios: Sequence[str]) -> list[ScenarioResult]:
    """The results of ``scenarios`` in a behave run folder (behave also lists the ones it skipped)."""
    try:
        wanted = set(scenarios)
        return [r for r in scenario_results(load([str(folder.path)])) if r.location in wanted]
    except HarnessError as exc:
        logger.warning("no results in %s: %s", folder.path, exc)
        return []


def _seconds(value: object) -> float:
    """A number of an answer, 0.0 when it is missing or not a number."""
    return float(value) if isinstance(value, (int, float)) else 0.0
