"""Bring-up turns: the workers of one split run start containers one `compose up` at a time.

On a machine with few cores, three workers that bring up environments at once share the CPU for
all of them, and each waits as long as the slowest: all three start their scenarios late. Taking
turns (first come, first served) brings the first up in a third of that time; its scenarios, which
mostly wait on services, run while the next comes up. Only `compose up` takes a turn: readiness
probing (containers' own start-up) overlaps the next worker's turn.

The pool names the run's lock file in ``HARNESS_TURNS``; a plain behave run has none and never waits.
The lock is an flock: a killed worker's turn ends with it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, TypeVar

from harness.runfolder import UpTurn

logger = logging.getLogger(__name__)

TURNS_ENV = "HARNESS_TURNS"
T = TypeVar("T")


class Turn:
    """One worker's turn at `compose up`: taken by ``take``, given back by ``end`` (idempotent)."""

    def __init__(self, handle: IO[bytes] | None, waited: float = 0.0) -> None:
        self._handle = handle
        self.waited = waited  # seconds spent waiting for other workers' turns
        self.began = time.time() if handle is not None else None  # wall clock: the turn's start and end
        self.ended: float | None = None

    def summary(self) -> UpTurn | None:
        """The turn for the environment's startup file (None outside a split run)."""
        if self.began is None:
            return None
        return UpTurn(round(self.waited, 3), round(self.began, 3),
                      round(self.ended if self.ended is not None else time.time(), 3))

    @classmethod
    def take(cls, environ: Mapping[str, str] = os.environ) -> Turn:
        """Wait for the run's turn (no wait outside a split run)."""
        path = environ.get(TURNS_ENV, "")
        if not path:
            return cls(None)
        handle = Path(path).open("ab")  # noqa: SIM115 - closed by end()
        began = time.monotonic()
        fcntl.flock(handle, fcntl.LOCK_EX)
        waited = time.monotonic() - began
        if waited > 0.05:
            logger.info("bring-up: waited %.1f s for another worker's compose up", waited)
        return cls(handle, waited)

    def end(self) -> None:
        """Let the next worker start its containers."""
        if self._handle is not None:
            self.ended = time.time()
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def until_done(self, result: Callable[[], T | None]) -> Callable[[], T | None]:
        """``result`` (a background command's: None while it runs) that ends the turn once it is done or fails."""
        def wrapped() -> T | None:
            try:
                value = result()
            except BaseException:
                self.end()
                raise
            if value is not None:
                self.end()
            return value
        return wrapped
