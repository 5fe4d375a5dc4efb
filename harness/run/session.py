"""The one object steps see on behave's context: ``context.harness``.

It owns the run's environments (one instance per environment per run, reused, replaced when
unhealthy, new for ``@fresh``), the values steps remember, and the scenario's cleanups, which
are registered before the action they undo and run in reverse order at scenario end.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.engine.api import EngineReads, reads_for
from harness.engine.endpoint import current_engine
from harness.env import janitor, reuse
from harness.env.config import Settings, check_userdata, load_environment, resolve_parameters
from harness.env.lifecycle import Environment, new_run_id
from harness.env.tags import env_tag
from harness.errors import EnvironmentStopped, FaultError, HarnessError
from harness.faults.stack import FaultStack, RevertFailed, Timeline
from harness.parallel import gate as serial_gate
from harness.parallel.claims import Claims
from harness.run.interrupts import interrupt_once
from harness.run.sweep_hook import SweepHook
from harness.runfolder import EnvFolder

logger = logging.getLogger(__name__)

def environments_from(features: list[Any], current: Any, skip: Callable[[Any], bool] | None = None) -> set[str]:
    """The environments the features from ``current`` on name by tag (feature or scenario), but those ``skip``s."""
    later = features[next((n for n, f in enumerate(features) if f is current), 0):]
    names: set[str] = set()
    for feature in later:
        if skip is not None and skip(feature):
            continue
        tags = [str(t) for t in feature.tags]
        scenario_tags = [[str(t) for t in s.tags] for s in feature.walk_scenarios()]
        names.update(n for n in [env_tag(tags), *(env_tag(t) for t in scenario_tags)] if n)
    return names


class Environments:
    """The run's environments: started on first use, reused, replaced when unhealthy."""

    def __init__(self, settings: Settings, run_id: str, overrides: Mapping[str, str]) -> None:
        self.settings = settings
        self.run_id = run_id
        self.overrides = dict(overrides)
        self.shared: dict[str, Environment] = {}
        self.live: list[Environment] = []
        self._instances = 0
        self._downs: list[threading.Thread] = []
        self._engine_reads: EngineReads | None = None
        self._errors: list[str] = []

    def get(self, name: str, *, fresh: bool = False, trusted: bool = False) -> Environment:
        """The shared instance of ``name`` (healthy), or a new one with ``fresh``.

        The shared one's containers are listed every time (a stopped one: replaced); its probes run too,
        unless ``trusted`` (the previous scenario passed with no fault) and they passed less than
        ``timeouts.recheck`` seconds ago on the same containers.
        """
        name = self.settings.env_override or name
        if fresh:
            return self._start(name, fresh=True)
        env = self.shared.get(name)
        if env is not None:
            timeouts = env.spec.timeouts
            problems = env.settle(within=timeouts.settle, trust_within=timeouts.recheck if trusted else 0.0)
            if not problems:
                return env
            logger.warning("environment %s is unhealthy (%s): replacing it", name, "; ".join(problems))
            self.stop(env)
        env = self.shared[name] = self._start(name)
        return env

    def _start(self, name: str, *, fresh: bool = False) -> Environment:
        spec = load_environment(name, self.settings.env_dir)
        params = resolve_parameters(spec, self.overrides, strict=False)
        if not fresh and self._reuses(name):
            return self._attach(spec, params)
        self._instances += 1
        env = Environment(spec, params, self.settings, run_id=self.run_id, instance=self._instances - 1)
        self.live.append(env)
        try:
            return env.start()
        except BaseException:
            self.live.remove(env)
            raise

    def _reuses(self, name: str) -> bool:
        """-D reuse=ENV: that one must be kept; reuse=1: any environment that has a kept project."""

        setting = self.overrides.get("reuse", "")
        if not setting or not reuse.wanted(setting, name):
            return False
        return setting == name or reuse.find_kept(self._reads(), name, self.overrides.get("reuse_run", ""),
                                                     self.settings.runs_dir) is not None

    def _attach(self, spec: Any, params: Mapping[str, Any]) -> Environment:
        """The kept environment, checked identical and healthy; `stop` leaves it up (it never started it)."""

        env = reuse.attach(spec, params, self.settings, self._reads(), self.overrides.get("reuse_run", ""))
        self.live.append(env)
        return env

    def _reads(self) -> EngineReads:
        """One engine reader for the reuse look-ups of this run."""
        if self._engine_reads is None:
            self._engine_reads = reads_for(current_engine())
        return self._engine_reads

    def release(self, needed: set[str]) -> None:
        """Take down shared environments that no later feature needs (no idle stacks eating CPU).

        They go down on a thread while the next feature starts; ``close`` waits for them.
        """
        needed = {self.settings.env_override or n for n in needed}
        for name, env in list(self.shared.items()):
            if name not in needed:
                logger.info("environment %s: no later feature needs it, taking it down", name)
                self._forget(env)
                self._down_in_background(env)

    def stop(self, env: Environment) -> None:
        """Take one environment down and forget it."""
        self._forget(env)
        env.down()

    def close(self) -> list[str]:
        """Take every environment down (unless kept), all at once; wait for every teardown; return the errors."""
        for env in reversed(list(self.live)):
            self._forget(env)
            self._down_in_background(env)
        while self._downs:
            self._downs.pop().join()
        errors, self._errors = self._errors, []
        return errors

    def _forget(self, env: Environment) -> None:
        if env in self.live:
            self.live.remove(env)
        self.shared = {k: v for k, v in self.shared.items() if v is not env}

    def _down_in_background(self, env: Environment) -> None:
        """``env.down()`` on a non-daemon thread (the interpreter waits for it even if nobody joins it)."""
        def down() -> None:
            try:
                env.down()
            except HarnessError as exc:
                self._errors.append(f"{env.project}: {exc}")
            except BaseException as exc:  # noqa: BLE001 - reported by close(), never lost on a thread
                self._errors.append(f"{env.project}: {type(exc).__name__}: {exc}")

        thread = threading.Thread(target=down, name=f"down-{env.project}")
        try:
            thread.start()
        except RuntimeError:  # no new threads at interpreter shutdown (atexit on newer Pythons): inline
            down()
            return
        self._downs.append(thread)


@dataclass
class Cleanup:
    """An undo registered before the action it undoes."""

    what: str
    fn: Callable[[], None]


@dataclass
class Session:
    """Everything a scenario's steps need: its environment, remembered values, cleanups."""

    settings: Settings
    environments: Environments
    userdata: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    cleanups: list[Cleanup] = field(default_factory=list)
    feature_env: str | None = None
    claims: Claims | None = None  # a split worker's first attempt: items run where claimed first
    gate: Path | None = None  # the serial worker of a split run: bring up, then wait here (harness.parallel.gate)
    sweep_hook: SweepHook | None = None  # a `harness sweep` behave process: fault or observation per scenario
    _env: Environment | None = None
    _fresh: list[Environment] = field(default_factory=list)
    _extensions: dict[str, Any] = field(default_factory=dict)
    _sweeper: threading.Thread | None = None
    _clean_pass: bool = False  # the last scenario passed with no fault and no failed cleanup

    @classmethod
    def start(cls, userdata: Mapping[str, str]) -> Session:
        """A session for one behave run; reaps leftovers and installs signal handlers first.

        Every userdata key must be a harness setting, a declared key or some environment's
        parameter (config.check_userdata): a mistyped ``-D`` key stops the run here.
        """
        settings = Settings.build(userdata)
        check_userdata(userdata, settings.env_dir)
        run_id = userdata.get("run_id") or new_run_id()
        session = cls(settings, Environments(settings, run_id, userdata), dict(userdata),
                      claims=Claims.from_environ(), gate=serial_gate.from_environ(),
                      sweep_hook=SweepHook.from_userdata(userdata))
        interrupt_once(os.getpid())  # a second Ctrl-C must not cut the teardown the first one started
        atexit.register(session.close)
        session.sweep()
        return session

    def sweep(self) -> None:
        """Remove projects left by killed runs, on a thread: the first step need not wait for it (our own
        projects have a live owner, so the janitor never touches them); ``close`` joins it."""
        self._sweeper = threading.Thread(target=self._sweep, name="harness-janitor", daemon=True)
        self._sweeper.start()

    def _sweep(self) -> None:
        """The janitor's sweep (best effort: no Docker, no sweep)."""

        try:
            removed = janitor.sweep(reads_for(current_engine()))
        except HarnessError as exc:
            logger.info("janitor skipped: %s", exc)
            return
        if removed:
            logger.warning("janitor removed leftovers of killed runs: %s", ", ".join(removed))

    # -- environments -------------------------------------------------------------------

    @property
    def current_env(self) -> Environment | None:
        """The current scenario's environment, or None."""
        return self._env

    @property
    def env(self) -> Environment:
        """The environment of the current scenario."""
        if self._env is None:
            raise HarnessError("this scenario has no environment",
                               hint="tag the feature or scenario @env.<name>, or start with "
                                    "'Given the environment \"<name>\" is running'")
        return self._env

    def use(self, name: str, *, fresh: bool = False, trusted: bool = False) -> Environment:
        """Select (starting if needed) the environment ``name`` for the current scenario."""
        self._env = self.environments.get(name, fresh=fresh, trusted=trusted)
        if fresh:
            self._fresh.append(self._env)
        return self._env

    def begin_scenario(self, env_name: str | None, fresh: bool, scenario: str = "") -> None:
        """Reset per-scenario state and select the scenario's environment."""
        self.values.clear()
        self._extensions.clear()
        self.cleanups.clear()
        self._env = None
        trusted, self._clean_pass = self._clean_pass, False
        name = env_name or self.feature_env
        if name:
            self.use(name, fresh=fresh, trusted=trusted)
        if self.sweep_hook is not None and self._env is not None:
            self.sweep_hook.begin(self._env, self.faults, scenario)

    @property
    def faults(self) -> FaultStack:
        """The scenario's fault stack: every fault's undo is registered before it acts."""
        stack: FaultStack = self.extension("faults", lambda: FaultStack(Timeline()))
        return stack

    def end_scenario(self, scenario: str = "", *, passed: bool = False) -> None:
        """Revert faults and run cleanups in reverse order (every one); check the environment."""
        if self.sweep_hook is not None and self._env is not None:
            self.sweep_hook.end(self._env, scenario)
        faulted = len(self._extensions["faults"].timeline) > 0 if "faults" in self._extensions else False
        errors = self._revert_faults(scenario)
        # a scenario that passed while its services stopped meant them to (a product's own shutdown): only a
        # failed one is blamed on the engine; either way a dead environment is replaced before the next one
        stopped = None if faulted or passed else self._stopped_behind_our_back()
        while self.cleanups:
            cleanup = self.cleanups.pop()
            try:
                cleanup.fn()
            except Exception as exc:  # noqa: BLE001 - every cleanup is attempted
                logger.error("cleanup %r failed: %s", cleanup.what, exc)
                errors.append(f"{cleanup.what}: {type(exc).__name__}: {exc}")
        for env in self._fresh:
            self.environments.stop(env)
        self._fresh.clear()
        self._extensions.clear()
        self._clean_pass = passed and not faulted and not errors and stopped is None
        if stopped is not None:
            raise stopped
        if errors:
            raise FaultError((f"a cleanup failed: {errors[0]}" if len(errors) == 1 else
                              f"{len(errors)} cleanups failed:\n" + "\n".join(errors)),
                             hint="the environment may be left broken; it is checked before reuse")

    def _stopped_behind_our_back(self) -> EnvironmentStopped | None:
        """The scenario's environment when every container of it stopped (an engine restart): taken down here,
        so the next scenario starts a fresh one at once instead of waiting on a dead one."""
        env = self._env
        if env is None or getattr(env, "up", False) is not True:  # attached (kept by `harness up`) or a test's fake
            return None
        try:
            observed = env.refresh()
        except Exception:  # noqa: BLE001 - an engine that does not answer yet: the next start says so
            return None
        meant = [o for o in observed if not env.readiness.finished(o)]  # a one-shot that exited 0 is done
        if not meant or any(o.state in ("running", "restarting", "paused") for o in meant):
            return None
        try:
            self.environments.stop(env)
        except HarnessError as exc:
            logger.error("taking down the stopped environment %s: %s", env.name, exc)
        self._env = None
        return EnvironmentStopped(env.name, env.project, [
            f"{o.service}: {o.state}" + (f" ({o.exit_code})" if o.exit_code is not None else "") for o in meant])

    def _revert_faults(self, scenario: str) -> list[str]:
        """Undo the scenario's faults, write their timeline, replace the environment if still sick."""
        stack: FaultStack | None = self._extensions.get("faults")
        if stack is None or len(stack.timeline) == 0:
            return []
        errors = []
        try:
            stack.revert_all()
        except RevertFailed as exc:
            errors = [f"{what}: {type(err).__name__}: {err}" for what, err in exc.errors]
        if self._env is not None:
            EnvFolder(self._env.run_dir).append_timeline(stack.timeline.entries(scenario))
            self._heal_or_replace(self._env)
        return errors

    def _heal_or_replace(self, env: Environment) -> None:
        """After faults: wait for the environment to be healthy again, else take it down."""
        problems = env.settle(within=env.spec.timeouts.ready / 2)
        if problems:
            logger.warning("environment %s did not heal after faults (%s): replacing it", env.name,
                           "; ".join(problems))
            self.environments.stop(env)

    def cleanup(self, fn: Callable[[], None], what: str) -> None:
        """Register an undo; call it BEFORE doing what it undoes."""
        self.cleanups.append(Cleanup(what, fn))

    def close(self) -> None:
        """Take every environment down; called from after_all, atexit and signals."""
        if self._sweeper is not None and self._sweeper is not threading.current_thread():
            self._sweeper.join(timeout=60)
        for error in self.environments.close():
            logger.error("teardown: %s", error)

    # -- remembered values ----------------------------------------------------------------

    def remember(self, name: str, value: Any) -> None:
        """Keep a value for later steps (``{name}`` in paths and bodies)."""
        self.values[name] = value

    def recall(self, name: str) -> Any:
        """A remembered value."""
        if name not in self.values:
            raise HarnessError(f"nothing remembered as {name!r}",
                               hint=f"remembered so far: {', '.join(sorted(self.values)) or 'nothing'}")
        return self.values[name]

    def interpolate(self, text: str) -> str:
        """Replace ``{name}`` (an identifier in braces) with remembered values; ``\\{name}`` stays ``{name}``.

        JSON is left alone: its braces never directly enclose a bare identifier. The escape is for
        text that means its own braces, such as a shell's ``$\\{HOME}`` in an exec step.
        """
        def sub(match: re.Match[str]) -> str:
            if match.group(1):
                return "{" + match.group(2) + "}"
            return str(self.recall(match.group(2)))

        return re.sub(r"(\\?)\{([A-Za-z_][\w.-]*)\}", sub, text)

    def extension(self, key: str, factory: Callable[[], Any]) -> Any:
        """Per-scenario state of a step module (e.g. the last HTTP response), made on first use."""
        if key not in self._extensions:
            self._extensions[key] = factory()
        return self._extensions[key]
