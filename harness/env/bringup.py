"""Bring-up: validate, `compose up -d` in the background while every probe is polled, then startup.json.

    validate(compose, clients)       `compose config` while the SDK client connects (both take a moment)
    bring_up(compose, readiness, folder, pull=, source=) -> Turn
                                     `up` overlaps readiness; a split run's workers take turns at `up`
    record_startup(folder, ...)      how long it took, for planning later parallel runs
    kept_after_failure(exc, artifacts, keep=, ...)
                                     after a failed start: logs and `docker inspect` saved; whether
                                     ``--keep`` leaves the project up
"""

from __future__ import annotations

import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from harness.engine.compose import ComposeRunner
from harness.env.artifacts import Artifacts
from harness.env.client import Clients
from harness.env.readiness import Readiness
from harness.env.turns import Turn
from harness.runfolder import EnvFolder, Startup

logger = logging.getLogger(__name__)

__all__ = ["bring_up", "kept_after_failure", "record_startup", "validate"]


def validate(compose: ComposeRunner, clients: Clients) -> None:
    """`compose config` (a broken file fails here), connecting to the engine meanwhile."""
    with ThreadPoolExecutor(max_workers=1) as warm:
        client = warm.submit(lambda: clients.docker)
        compose.config()
        client.result()


def bring_up(compose: ComposeRunner, readiness: Readiness, folder: EnvFolder, *, pull: str, source: str) -> Turn:
    """`compose up -d` in the background while probing: readiness overlaps container start."""
    turn = Turn.take()  # a split run's workers start containers one compose up at a time
    try:
        started = compose.spawn_up(folder.compose_up_log, pull=pull)
        try:
            readiness.await_ready(turn.until_done(started.result), source=source)
        except BaseException:
            started.stop()
            raise
    finally:
        turn.end()
    return turn


def record_startup(folder: EnvFolder, env: str, began: float, services: int, turn: Turn) -> None:
    """Write startup.json: seconds since ``began`` (monotonic), the services, the turn at `up`."""
    folder.write_startup(Startup(env, round(time.monotonic() - began, 3), services, round(time.time(), 3),
                                 turn.summary()))


def kept_after_failure(exc: BaseException, artifacts: Artifacts, *, keep: bool, env: str, project: str,
                       run_id: str) -> bool:
    """Save the failed start's logs and `docker inspect`; True when ``--keep`` leaves the project up."""
    logger.error("environment %s (%s) failed to start: %s", env, project, exc)
    artifacts.save_startup_failure()
    if keep and not isinstance(exc, KeyboardInterrupt):
        print(f"--keep: project {project} left up for debugging; remove it with `harness down {run_id}`",
              file=sys.stderr)
        return True
    return False
