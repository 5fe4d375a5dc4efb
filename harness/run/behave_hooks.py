"""behave's hooks, delegated to from ./environment.py. Each is a few lines into the Session."""

from __future__ import annotations

import logging
from typing import Any

from harness.env.tags import env_tag
from harness.expect import LEDGER
from harness.parallel import claims, gate
from harness.run import record
from harness.run.session import Session, environments_from

__all__ = ["after_all", "after_scenario", "after_step", "before_all", "before_feature", "before_scenario",
           "before_step"]

logger = logging.getLogger(__name__)

FAILED = frozenset({"failed", "error", "undefined", "hook_error"})


def before_all(context: Any) -> None:
    """Create the session: refuse unknown userdata keys, sweep leftovers, install signal handlers."""
    try:
        context.harness = Session.start(context.config.userdata)
    except Exception as exc:
        record.record_hook_error("before_all", exc)
        raise


def before_feature(context: Any, feature: Any) -> None:
    """Claim the feature (split runs); take down environments no later feature needs here; bring up its own."""
    session: Session = context.harness
    features = _features(context)
    mine = session.claims
    foreign = mine is not None and mine.feature_is_foreign(feature)
    elsewhere = mine.not_needed_here if mine is not None else None
    session.environments.release(environments_from(features, feature, skip=elsewhere))  # no idle stacks
    session.feature_env = None
    if foreign:
        claims.mark(feature)  # another worker runs it: skipped here, before any environment comes up
        return
    if mine is None or mine.runs_alone(str(feature.filename)):
        _alone_from_here(context, features, feature)
    session.feature_env = env_tag(list(feature.tags))
    if session.feature_env and "fresh" not in feature.tags:
        session.environments.get(session.feature_env)


def before_scenario(context: Any, scenario: Any) -> None:
    """Claim a ``file:line`` item (split runs); select the scenario's environment, checked healthy."""
    mine = context.harness.claims
    if mine is not None and mine.scenario_is_foreign(scenario):
        claims.mark(scenario)
        return
    if mine is not None and mine.serial and mine.runs_alone(claims.item_of(scenario)):
        _alone_from_here(context, _features(context), scenario.feature)
    own = env_tag(list(scenario.tags))
    context.harness.begin_scenario(own, fresh="fresh" in scenario.effective_tags, scenario=str(scenario.location))


def _failed(feature: Any) -> bool:
    """A feature (hook error) or one of its scenarios failed: the pool may retry this worker."""
    return any(getattr(s.status, "name", "") in FAILED for s in [feature, *feature.walk_scenarios()])


def _features(context: Any) -> list[Any]:
    return list(getattr(getattr(context, "_runner", None), "features", None) or [])


def _alone_from_here(context: Any, features: list[Any], feature: Any) -> None:
    """The @serial items of a split run (harness.parallel.gate): bring up what they need, then wait until the other
    workers are done. Once per process; nothing to do without a gate."""
    session: Session = context.harness
    if session.gate is None:
        return
    path, session.gate = session.gate, None
    mine = session.claims
    later = features[next((n for n, f in enumerate(features) if f is feature), 0):]
    together = [f for f in later if mine is None or mine.is_serial(f)]
    ahead = gate.environments_ahead(together, gate.selector(context.config), lambda f: env_tag(list(f.tags)))
    gate.prepare(path, ahead, session.environments.get)


def before_step(context: Any, step: Any) -> None:
    """Start counting the step's verifications."""
    LEDGER.take()


def after_step(context: Any, step: Any) -> None:
    """Store the step's counts on it (read by the run record); snapshot containers on failure."""
    step.harness_verifications, step.harness_actions = LEDGER.take()
    env = context.harness.current_env
    if env is not None:
        record.register_secret(*env.secrets)
        if step.status.name in FAILED:
            record.note_environment_state(step, env)
            try:
                env.artifacts.save_failure_logs(f"{step.location.filename}-{step.location.line}-{step.name}")
            except Exception as exc:  # noqa: BLE001 - best effort: never turn a failed step into a hook error
                logger.error("could not save the service logs of a failed step: %s", exc)


def after_scenario(context: Any, scenario: Any) -> None:
    """Undo the scenario's faults and other cleanups in reverse order."""
    context.harness.end_scenario(f"{scenario.location}: {scenario.name}",
                                 passed=getattr(scenario.status, "name", "") == "passed")


def after_all(context: Any) -> None:
    """Tell a split run's pool that the scenarios are over (harness.parallel.gate); take every environment down."""
    session: Session | None = getattr(context, "harness", None)
    gate.scenarios_over(not any(_failed(f) for f in _features(context)))
    if session is not None:
        try:
            session.close()
        except Exception as exc:
            record.record_hook_error("after_all", exc)
            raise
