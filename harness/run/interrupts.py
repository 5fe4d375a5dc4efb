"""Ctrl-C once: the first interrupt stops the run; later ones, while the teardown runs, are reported and ignored.

A terminal's Ctrl-C reaches the whole job (`harness run`, behave, compose), and users press it twice.
Python raises KeyboardInterrupt for every press: the second would land inside the teardown the first
started (`compose down`), cut it short with a second traceback and leave containers behind. Here
the first SIGINT, SIGTERM or SIGHUP raises KeyboardInterrupt; every later one prints one line and
returns, so the teardown runs to its end (it is bounded by the environments' `timeouts.down`).
"""

from __future__ import annotations

import signal
import sys
from typing import TextIO

ALREADY_STOPPING = ("harness: already stopping: the environments are being taken down (another Ctrl-C "
                    "does not cut that short; `kill -9 {pid}` stops at once, then `harness gc` removes what remains)")


class InterruptOnce:
    """A signal handler: KeyboardInterrupt the first time, one line on ``stream`` every later time."""

    def __init__(self, pid: int, stream: TextIO | None = None) -> None:
        self.pid = pid
        self.stream = stream
        self.stopping = False

    def __call__(self, signum: int, _frame: object) -> None:
        if self.stopping:
            print(ALREADY_STOPPING.format(pid=self.pid), file=self.stream or sys.stderr, flush=True)
            return
        self.stopping = True
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def interrupt_once(pid: int, signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP),
                   ) -> InterruptOnce:
    """Install InterruptOnce for ``signals`` (main thread only); return it."""
    handler = InterruptOnce(pid)
    for sig in signals:
        signal.signal(sig, handler)
    return handler
