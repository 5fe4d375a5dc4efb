"""The @serial items' gate: their environments come up while the other workers finish; their scenarios run alone.

`harness run --workers N` runs the @serial items after the others, alone. Only their scenarios need
to be alone, not their bring-ups. The first worker to run out of other work claims them all
(harness.parallel.claims); before the first of them it brings up every shared environment they name (those
it has up already are reused) and waits until the pool creates the gate file ``HARNESS_GATE``
names: when every other worker's scenarios are over. A worker says so from after_all, before its
environments go down (``HARNESS_SCENARIOS_OVER``): "alone" is about scenarios, and a teardown of a
few seconds need not hold the @serial items back. A worker with failed scenarios that it may retry
counts once it has exited. With one worker, or when nobody claimed them, a worker of
their own runs them: the pool starts it in the first slot another worker frees and it waits the
same way. A sequential run has these environments up at that point too: a split run never waits
for a bring-up that could have happened earlier.

The wait ends with a HarnessError when the process that started the worker is gone (a killed
`harness run`): the worker then fails its features and takes its environments down as usual.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.waiting import Wait

logger = logging.getLogger(__name__)

GATE_ENV = "HARNESS_GATE"
OVER_ENV = "HARNESS_SCENARIOS_OVER"  # a worker attempt's marker file: its scenarios are over (written in after_all)
CLEAN, FAILED = "clean", "failed"
GATE_WAIT = Wait(timeout=math.inf, interval=0.05)  # no deadline: the pool opens the gate, or the parent is gone


def from_environ(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The gate file of this behave process (a split run's serial worker), or None."""
    value = environ.get(GATE_ENV, "")
    return Path(value) if value else None


def open_gate(path: Path) -> None:
    """Let the waiting worker go on (the pool calls this when the other workers are done)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def scenarios_over(clean: bool, environ: Mapping[str, str] = os.environ) -> None:
    """Tell the pool that this behave process ran its last scenario (before its environments go down):
    ``clean`` when none failed, so no retry follows. Nothing to do outside a split run."""
    value = environ.get(OVER_ENV, "")
    if value:
        Path(value).write_text(f"{CLEAN if clean else FAILED}\n")


def over(path: Path) -> str | None:
    """What a worker attempt's marker says (CLEAN or FAILED), or None while its scenarios run."""
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def wait(path: Path, *, parent: int | None = None, getppid: Callable[[], int] = os.getppid,
         sleep: Callable[[float], None] = time.sleep) -> float:
    """Block until ``path`` exists; return the seconds waited. HarnessError if the parent process is gone."""
    parent = getppid() if parent is None else parent
    started = time.monotonic()

    def opened() -> bool:
        if path.exists():
            return True
        if getppid() != parent:
            raise HarnessError(f"the run that started this worker is gone (the gate {path} never opened)",
                               hint="nothing to do: this worker stops and takes its environments down")
        return False
    GATE_WAIT.until(opened, what=f"the gate {path} to open", sleep=sleep)
    return time.monotonic() - started


def environments_ahead(features: Sequence[Any], selected: Callable[[Any], bool],
                       env_of: Callable[[Any], str | None]) -> list[str]:
    """The shared environments the selected features name at feature level, in order of first use.

    @fresh features get their own instances per scenario, so they are left out.
    """
    names: list[str] = []
    for feature in features:
        if not selected(feature) or "fresh" in feature.tags:
            continue
        name = env_of(feature)
        if name and name not in names:
            names.append(name)
    return names


def selector(config: Any) -> Callable[[Any], bool]:
    """Whether behave's tag selection runs a feature (every feature when the config has no tag expression)."""
    expression = getattr(config, "tag_expression", None)
    if expression is None:
        return lambda _feature: True
    return lambda feature: bool(feature.should_run_with_tags(expression))


def prepare(path: Path, names: Iterable[str], start: Callable[[str], Any]) -> None:
    """Bring up ``names`` in order, then wait at the gate; a failed bring-up waits too, then is re-raised
    (its feature fails as it would have, but alone). An interrupt does not wait."""
    try:
        for name in names:
            start(name)
    except Exception:
        wait(path)
        raise
    waited = wait(path)
    logger.info("serial worker: environments up, gate open after %.1f s more", waited)
