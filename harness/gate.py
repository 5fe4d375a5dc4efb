"""The @serial worker's gates: its environment comes up while the other workers finish; it runs alone.

`harness run --workers N` starts the @serial worker with the others, idle: before it brings up an
environment it waits for the file ``HARNESS_WARM`` names, which the pool creates when the end is
near (what is left unclaimed would take each worker less than the serial environment's bring-up,
or a worker is done). Before its first scenario it waits for ``HARNESS_GATE``, created when every
other worker has exited. So the serial items still run alone, and their process start and
bring-up are off the critical path. If the harness run that started it is gone, the worker stops
instead of waiting.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError

GATE_ENV = "HARNESS_GATE"  # run the first scenario once this file exists
WARM_ENV = "HARNESS_WARM"  # bring up environments once this file exists
POLL_SECONDS = 0.05


@dataclass
class Gate:
    """A file to wait for, once, and the parent process that will create it."""

    path: Path
    parent: int
    opened: bool = False

    @classmethod
    def from_environ(cls, key: str, environ: Mapping[str, str] = os.environ) -> Gate | None:
        """The gate named by ``key`` (GATE_ENV, WARM_ENV) of this behave process, when it is a @serial worker."""
        path = environ.get(key, "")
        return cls(Path(path), os.getppid()) if path else None

    def wait(self) -> float:
        """Block until the gate file exists (at once after the first time); the seconds waited."""
        started = time.monotonic()
        while not self.opened and not self.path.exists():
            if os.getppid() != self.parent:
                raise HarnessError(f"the harness run that started this @serial worker is gone ({self.path} never "
                                   "appeared)", hint="run it again; the janitor removes what a killed run left")
            time.sleep(POLL_SECONDS)
        self.opened = True
        return time.monotonic() - started
