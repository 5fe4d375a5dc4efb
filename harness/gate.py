"""The @serial worker's start gate: its environments come up while the other workers finish; it runs alone.

`harness run --workers N` starts the @serial worker as soon as one other worker is done, with
``HARNESS_GATE`` naming a file that does not exist yet. The worker brings up its first feature's
environment, then waits before its first scenario until the file exists: the pool creates it when
every other worker has exited. So the serial items still run alone, and their bring-up is off the
critical path. If the harness run that started it is gone, the worker stops instead of waiting.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError

GATE_ENV = "HARNESS_GATE"
POLL_SECONDS = 0.05


@dataclass
class Gate:
    """A file to wait for, once, and the parent process that will create it."""

    path: Path
    parent: int
    opened: bool = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Gate | None:
        """The gate of this behave process, when it is a @serial worker started early."""
        path = environ.get(GATE_ENV, "")
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
