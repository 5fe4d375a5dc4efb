"""A sweep cell inside behave: the fault goes in once the environment is healthy, before the scenario's
first step, and stays to its end (the scenario's FaultStack undoes it); a sweep baseline counts the
connections each scenario causes.

``harness sweep`` (harness.sweep.driver) starts behave with ``-D sweep_fault=<JSON FaultSpec>`` or
``-D sweep_observe=<path of observed.ndjson>``; without either key this does nothing. With a fault,
``-D sweep_limits=<JSON {"file:line": seconds}>`` gives each scenario a time limit under it
(harness.run.overtime): past it the running step fails with "timed out under <fault>". With
``-D sweep_onset=<seconds>`` the fault is held that long before the scenario's first step (and its clock),
so that an effect the product notices only after some heartbeats has set in when the scenario looks. Only
faults that cut a service or an edge off are held so (``ONSET_KINDS``): the product notices those after its own
timeouts; a degradation (cpu, memory, loss, latency) acts at once, and a restart is over once it went in (an
onset would only let the product absorb it).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.faults import binding
from harness.faults.kinds import FaultSpec, build
from harness.faults.observe import ConnectionCounter
from harness.faults.stack import FaultStack
from harness.run.overtime import Overtime
from harness.runfolder import Observed
from harness.runfolder.observed import append_observed

logger = logging.getLogger(__name__)

FAULT_KEY = "sweep_fault"
OBSERVE_KEY = "sweep_observe"
LIMITS_KEY = "sweep_limits"
ONSET_KEY = "sweep_onset"
ONSET_KINDS = frozenset({"kill", "stop", "pause", "disconnected", "partition", "blackhole", "reset"})  # cut-offs
MARK = "@@harness-sweep "  # a sweep worker's behave process answers a job on a stdout line starting so


@dataclass
class SweepHook:
    """What one behave process of a sweep does around each scenario."""

    fault: FaultSpec | None = None
    observed: Path | None = None
    limits: Mapping[str, float] = field(default_factory=dict)  # scenario (file:line) -> seconds under the fault
    started: dict[str, float] = field(default_factory=dict)  # scenario (file:line) -> wall clock at its start
    onset: float = 0.0  # seconds the fault is held before the scenario's first step
    sleep: Callable[[float], None] = time.sleep
    _counters: dict[str, ConnectionCounter] = field(default_factory=dict)
    _overtime: Overtime | None = None

    @classmethod
    def from_userdata(cls, userdata: Mapping[str, str]) -> SweepHook | None:
        """The hook the userdata asks for, or None (an ordinary run)."""
        raw, observed = userdata.get(FAULT_KEY, ""), userdata.get(OBSERVE_KEY, "")
        if not raw and not observed:
            return None
        try:
            fault = FaultSpec.from_dict(json.loads(raw)) if raw else None
        except ValueError as exc:
            raise ConfigError(f"-D {FAULT_KEY} is not a fault's JSON: {exc}", key=FAULT_KEY,
                              hint="`harness sweep` sets it; run the sweep rather than behave by hand") from exc
        return cls(fault, Path(observed) if observed else None, parse_limits(userdata.get(LIMITS_KEY, "")),
                   onset=parse_onset(userdata.get(ONSET_KEY, "")))

    def begin(self, env: Any, faults: FaultStack, scenario: str = "") -> None:
        """Zero the counters (baseline) or inject the cell's fault (the undo goes on ``faults`` first) and hold it
        ``onset`` seconds, then start the scenario's clock."""
        self.started[scenario.split(": ", 1)[0]] = time.time()
        if self.observed is not None:
            self._counter(env).zero()
        if self.fault is not None:
            binding.inject(faults, build(env, self.fault), env)
            if self.onset > 0 and self.fault.kind in ONSET_KINDS:
                self.sleep(self.onset)
            limit = self.limits.get(scenario.split(": ", 1)[0], self.limits.get("*", 0.0))
            if limit > 0:
                self._overtime = Overtime(limit, scenario=scenario, fault=self.fault.label)
                self._overtime.arm()

    def end(self, env: Any, scenario: str) -> None:
        """Stop the clock (before the undo); append the edges the scenario caused (baseline only)."""
        if self._overtime is not None:
            self._overtime.disarm()
            self._overtime = None
        if self.observed is None:
            return
        edges = tuple((e.client, e.server, e.packets) for e in self._counter(env).read())
        append_observed(self.observed, [Observed(scenario, edges)])

    def _counter(self, env: Any) -> ConnectionCounter:
        counter = self._counters.get(env.project)
        if counter is None:
            counter = self._counters[env.project] = ConnectionCounter(env)
        return counter


def parse_onset(raw: str) -> float:
    """``-D sweep_onset``: seconds (empty: 0)."""
    try:
        value = float(raw) if raw else 0.0
    except ValueError as exc:
        raise ConfigError(f"-D {ONSET_KEY} is not seconds: {raw!r}", key=ONSET_KEY,
                          hint="`harness sweep --onset SECONDS` sets it") from exc
    if value < 0:
        raise ConfigError(f"-D {ONSET_KEY} is negative: {raw!r}", key=ONSET_KEY, hint="0 holds no extra time")
    return value


def parse_limits(raw: str) -> dict[str, float]:
    """``-D sweep_limits``: a JSON object of scenario (``file:line``, or ``*`` for any) -> seconds."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return {str(k): float(v) for k, v in data.items()}
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"-D {LIMITS_KEY} is not a JSON object of scenario -> seconds: {exc}", key=LIMITS_KEY,
                          hint="`harness sweep` sets it; run the sweep rather than behave by hand") from exc
