"""behave's runner for a `harness sweep` worker: one behave process runs cell after cell, as the sweep asks.

A new behave process per cell costs its start-up every time (imports, step modules, the session, the
attach to the environment: seconds each, twice per cell with the smoke run). Here the sweep's worker starts
one process (``behave -r harness.run.cell_runner:CellRunner``) and writes one job per line on its stdin:

    {"scenarios": ["features/a.feature:9", ...], "fault": {...FaultSpec...} | null, "limits": {...}, "onset": 0}

For each job the runner parses those scenarios afresh (behave's own location selection), sets the
session's sweep hook to the job's fault and time limits (harness.run.sweep_hook), and runs them with the
ordinary hooks: the fault goes in before each scenario and is undone at its end, as in any behave run.
It answers with one line on its stdout: ``@@harness-sweep {"results": [...]}`` (each scenario's status,
failing step, first error line, duration and start). Other output on stdout is not an answer. End of input
ends the process the usual way (``after_all``); Ctrl-C or SIGTERM ends the job and the process.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from behave import runner as behave_runner
from behave.runner import Context, Runner
from behave.runner_util import FileLocationParser, parse_features

from harness.faults import edge
from harness.faults.kinds import FaultSpec
from harness.run.sweep_hook import MARK, SweepHook, parse_limits, parse_onset

logger = logging.getLogger(__name__)

_NOT_FAILED = frozenset({"passed", "skipped", "untested"})
_BEHAVE_PREFIX = re.compile(r"^(ASSERT FAILED: |ERROR: [\w.]+: )")
_NOT_THE_ERROR = ("Traceback", "Hint:", "The above exception", "During handling of the above")
_MODULE = re.compile(r"^(?:\w+\.)+(?=\w+: )")  # harness.errors.RequestFailed: ... -> RequestFailed: ...


def first_line(message: str) -> str:
    """An error's first line; of a traceback (behave keeps one for an error that is no assertion), the line of the
    exception raised last, its class without the module: ``RequestFailed: POST ... refused``."""
    lines = [line for line in message.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("Traceback"):
        return lines[0].strip() if lines else ""
    raised = [line for line in lines if not line[0].isspace() and not line.startswith(_NOT_THE_ERROR)]
    return _MODULE.sub("", raised[-1]).strip() if raised else lines[-1].strip()


def scenario_answer(scenario: Any, started: Mapping[str, float]) -> dict[str, Any]:
    """One scenario's result as the sweep reads it back (harness.sweep.outcome.ScenarioResult's fields)."""
    status = getattr(scenario.status, "name", str(scenario.status))
    step = next((s for s in scenario.all_steps if getattr(s.status, "name", "") not in _NOT_FAILED), None)
    message = (step.error_message if step is not None else None) or scenario.error_message or ""
    if not message and getattr(scenario, "hook_failed", False):
        message = "a hook failed"
    first = _BEHAVE_PREFIX.sub("", first_line(str(message)))  # as the run record says it: the message alone
    return {"location": str(scenario.location), "name": scenario.name, "status": status,
            "step": f"{step.keyword} {step.name}" if step is not None else "", "error": first[:300],
            "duration": float(scenario.duration or 0.0), "started": started.get(str(scenario.location), 0.0)}


def _failed(feature: Any, wanted: list[str]) -> bool:
    """Whether a chosen scenario of ``feature`` ran and did not pass (those not chosen were marked skipped)."""
    return any(str(s.location) in wanted and getattr(s.status, "name", "") not in _NOT_FAILED
               for s in feature.walk_scenarios())


class CellRunner(Runner):  # type: ignore[misc]  # behave ships no type information
    """Runs the jobs read from stdin, one after the other, in one behave process (module docstring)."""

    context: Any
    step_registry: Any

    def run_model(self, features: Any = None) -> bool:
        """before_all, every job from stdin, after_all; True when something failed (behave's meaning)."""
        if not self.context:
            self.context = Context(self)
        if self.step_registry is None:  # the registry the step modules' decorators fill, as behave's own run_model
            self.step_registry = behave_runner.the_step_registry
        self.hook_failures = 0
        self.run_hook("before_all")
        edge.linger(True)  # the same link fault goes in before every scenario: keep its proxy container between
        try:
            for job in self._jobs():
                answer = {"results": self._job(job)} if not self.aborted else {"results": [], "aborted": True}
                os.write(1, (MARK + json.dumps(answer) + "\n").encode())
                if self.aborted:
                    break
        finally:
            edge.linger(False)
            for error in edge.remove_idle():
                logger.error("fault proxy: %s", error)
            self.run_hook_with_capture("after_all")
            self.context._do_remaining_cleanups()  # behave's own end of a run
            for formatter in self.formatters:
                formatter.close()
            for reporter in self.config.reporters:
                reporter.end()
        return bool(self.aborted or self.hook_failures)

    @staticmethod
    def _jobs() -> Iterator[Mapping[str, Any]]:
        for line in sys.stdin:
            if line.strip():
                yield json.loads(line)

    def _job(self, job: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Run one job's scenarios under its fault (or none: the smoke run); their results."""
        session = self.context.harness
        fault = FaultSpec.from_dict(job["fault"]) if job.get("fault") else None
        session.sweep_hook = SweepHook(fault, None, parse_limits(json.dumps(job.get("limits") or {})),
                                       onset=parse_onset(str(job.get("onset") or "")))
        wanted = [str(s) for s in job.get("scenarios") or []]
        first_failure = bool(job.get("first_failure"))
        locations = [FileLocationParser.parse(s) for s in wanted]
        # first failure: each scenario a feature of its own, in the job's order, so the job can end after any
        features = ([f for loc in locations for f in parse_features([loc], language=self.config.lang)]
                    if first_failure else parse_features(locations, language=self.config.lang))
        self.features = features  # what the hooks see as "the run's features" (environments still needed)
        chosen = set(wanted)  # behave marks the others of a file skipped as it parses (its location selection)
        selected = [s for f in features for s in f.walk_scenarios()
                    if str(s.location) in chosen and getattr(s.status, "name", "") != "skipped"]
        for feature in features:
            if self.aborted:
                break
            self.feature = feature
            for formatter in self.formatters:
                formatter.uri(feature.filename)
            try:
                feature.run(self)
            except KeyboardInterrupt:
                self.abort(reason="KeyboardInterrupt")
            if first_failure and _failed(feature, wanted):
                break
        started, session.sweep_hook = session.sweep_hook.started, None
        # a chosen scenario that did not run (a feature hook failed, the environment was gone) is no pass either;
        # after a first failure, those not run are left out of the answer
        return [scenario_answer(s, started) for s in selected
                if not (first_failure and getattr(s.status, "name", "") == "untested")]
