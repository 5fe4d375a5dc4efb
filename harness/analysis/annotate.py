"""Set each failure against the run's evidence: faults active then, load state then, service logs around it."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harness.analysis.evidence import (
    STARTUP,
    Evidence,
    FaultWindow,
    LoadRun,
    LogLine,
    scenario_label,
    step_log_key,
    windows,
)
from harness.analysis.model import HOOK_ERROR, PROBLEMS, Run, Scenario, Step

LOG_BEFORE = 10.0  # seconds of service log before the failure worth reading
LOG_AFTER = 1.0
LOG_LINES = 12
_NOISE = re.compile(r"/health/|\"event\": \"request\".*\"status\": 2\d\d")
_FAULT_STEP = re.compile(r"partition|latenc|delay|kill|pause|freez|restart|stop|loss|drop|disconnect|"
                         r"bandwidth|oom|memory|fault|cut|crash|reset", re.I)
_WARN = frozenset({"warning", "warn", "error", "critical", "fatal"})


@dataclass(frozen=True, slots=True)
class ActiveFault:
    """A fault in place when the step failed, and for how long it had been."""

    what: str
    target: str
    env: str
    since: float | None


@dataclass(frozen=True, slots=True)
class LoadState:
    """The load in the second a step failed: requests completed per second and the share that failed."""

    run: str
    rps: float
    error_rate: float


@dataclass(frozen=True, slots=True)
class Annotation:
    """What surrounded one scenario's failure (or, for a passing scenario, its faults and load only)."""

    key: str
    at: float | None
    step: str
    faults: tuple[ActiveFault, ...]
    load: tuple[LoadState, ...]
    logs: tuple[LogLine, ...]
    nearest: LogLine | None
    windows: tuple[FaultWindow, ...]
    load_runs: tuple[LoadRun, ...]
    start: float | None = None
    end: float | None = None

    def sentence(self) -> str:
        """'failed 2.1 s into partition queen | hive-1, while 3% of background requests were failing, ...'."""
        parts = []
        for fault in self.faults:
            into = f"{fault.since:.1f} s into " if fault.since is not None else "during "
            parts.append(f"{into}{fault.what}")
        text = "failed " + (" and ".join(parts) if parts else "with no fault active")
        for state in self.load:
            text += (f", while {state.error_rate * 100:.0f}% of background requests were failing "
                     f"({state.rps:.0f} req/s completed, {state.run})")
        if self.nearest is not None and self.at is not None:
            delta = self.at - self.nearest.at
            size = f"{abs(delta) * 1000:.0f} ms" if abs(delta) < 1 else f"{abs(delta):.1f} s"
            when = f"{size} before" if delta >= 0 else f"{size} after"
            text += f", and {self.nearest.service} logged `{self.nearest.event}` {when}"
        return text


def annotate(run: Run, evidence: Evidence) -> dict[str, Annotation]:
    """An annotation per scenario that failed, ran a fault or overlapped a load run (keyed by scenario key)."""
    if not evidence:
        return {}
    by_label: dict[str, list[Scenario]] = defaultdict(list)
    for scenario in run.scenarios():
        by_label[scenario_label(scenario.location, scenario.name)].append(scenario)
    anchors = {label: a for label, found in by_label.items() if (a := anchor(found[-1])) is not None}
    by_scenario: dict[str, list[FaultWindow]] = defaultdict(list)
    for window in windows(evidence.faults, anchors):
        by_scenario[window.scenario].append(window)
    out = {}
    for scenario in run.scenarios():
        own = by_scenario.get(scenario_label(scenario.location, scenario.name), [])
        note = _annotate(scenario, own, evidence)
        if note is not None:
            out[scenario.key] = note
    return out


def anchor(scenario: Scenario) -> float | None:
    """When the scenario's fault stack started: the first fault-like step's start, else the scenario's."""
    for step in scenario.steps:
        if step.started and (step.actions or 0) > 0 and _FAULT_STEP.search(step.name):
            return step.started
    return scenario.started or next((s.started for s in scenario.steps if s.started), None)


def failed_step(scenario: Scenario) -> Step | None:
    """The first step that did not pass for a reason (failed, error, undefined, ...)."""
    return next((s for s in scenario.steps if s.status in PROBLEMS), None)


def failure_time(scenario: Scenario, step: Step | None) -> float | None:
    """Wall-clock time of the failure: the end of the failing step (else of the scenario)."""
    if step is not None and step.started:
        return step.started + step.duration
    if step is not None and scenario.started:
        before = sum(s.duration for s in scenario.steps[:scenario.steps.index(step) + 1])
        return scenario.started + before
    return scenario.started + scenario.duration if scenario.started else None


def _span(scenario: Scenario) -> tuple[float | None, float | None]:
    start = scenario.started or next((s.started for s in scenario.steps if s.started), 0.0) or None
    ends = [s.started + s.duration for s in scenario.steps if s.started]
    end = max(ends) if ends else (start + scenario.duration if start else None)
    return start, end


def _annotate(scenario: Scenario, own: list[FaultWindow], evidence: Evidence) -> Annotation | None:
    start, end = _span(scenario)
    envs = {w.env for w in own}  # parallel workers run load elsewhere at the same time: keep to our env
    runs = tuple(r for r in evidence.load if start is not None and end is not None and r.overlaps(start, end)
                 and (not envs or r.env in envs))
    step = failed_step(scenario) if scenario.status in PROBLEMS else None
    if step is None and not own and not runs and not _startup_failed(scenario, evidence):
        return None
    at = failure_time(scenario, step) if step is not None else None
    faults = tuple(_active(own, at)) if step is not None else ()
    load = tuple(_load_state(runs, at)) if at is not None else ()
    logs, nearest = _logs(evidence, scenario, step, at)
    label = step.text if step else (f"{_hook(scenario)} (environment start-up)" if logs else "")
    return Annotation(scenario.key, at, label, faults, load, logs, nearest,
                      tuple(own), runs, start, end)


def _hook(scenario: Scenario) -> str:
    error = scenario.masked_by or scenario.error
    return error.hook if error is not None and error.hook else "hook"


def _startup_failed(scenario: Scenario, evidence: Evidence) -> bool:
    """A scenario masked by a hook error while an environment saved its start-up log."""
    return (scenario.masked_by is not None or scenario.status == HOOK_ERROR) and any(
        f.key == STARTUP for f in evidence.logs)


def _active(own: Sequence[FaultWindow], at: float | None) -> Iterable[ActiveFault]:
    """The scenario's own faults in place at ``at`` (faults never outlive their scenario)."""
    if at is None or any(w.start is None for w in own):  # no clock: every fault of the scenario
        yield from (ActiveFault(short(w.what, w.env), w.target, w.env, None) for w in own)
        return
    for window in own:
        if window.active(at) and window.start is not None:
            yield ActiveFault(short(window.what, window.env), window.target, window.env, at - window.start)


def _load_state(runs: Iterable[LoadRun], at: float) -> Iterable[LoadState]:
    for run in runs:
        second = run.at(at)
        if second is not None:
            rate = 1 - second.ok / second.completed if second.completed else 0.0
            yield LoadState(run.name, float(second.completed), rate)


def _logs(evidence: Evidence, scenario: Scenario, step: Step | None,
          at: float | None) -> tuple[tuple[LogLine, ...], LogLine | None]:
    if step is None and not scenario.masked_by and scenario.status != HOOK_ERROR:
        return (), None
    key = step_log_key(step.location, step.name) if step is not None else ""
    files = [f for f in evidence.logs if f.key == key] or (
        [f for f in evidence.logs if f.key != STARTUP
         and any(at is not None and abs(x.at - at) < LOG_BEFORE for x in f.lines[-5:])])
    startup = not files
    if startup:  # the environment did not come up: its start-up log, if the scenario's @env.X saved one
        envs = {t.split(".", 1)[1] for t in scenario.tags if t.startswith("env.")}
        files = [f for f in evidence.logs if f.key == STARTUP and (f.env in envs or f.env.rsplit("-", 1)[0] in envs)]
    lines = [line for f in files[-1:] for line in f.lines if not _NOISE.search(line.text)]
    if at is not None and not startup:
        lines = [x for x in lines if at - LOG_BEFORE <= x.at <= at + LOG_AFTER]
    lines.sort(key=lambda x: x.at)
    loud = [x for x in lines if x.level in _WARN]
    shown = (loud or lines)[-LOG_LINES:]
    nearest = next((x for x in reversed(loud) if at is None or x.at <= at + 0.05), None)
    return tuple(shown), nearest


def short(text: str, env: str) -> str:
    """Container names without the project prefix and replica number: h1234ab-regressed-hive-1-1 → hive-1."""
    pattern = rf"\bh[0-9a-f]{{6,}}-{re.escape(env)}-([\w.-]+?)-\d+(?=[\s,|:>]|$)"
    return re.sub(pattern, r"\1", text)
