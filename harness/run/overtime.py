"""A time limit on one scenario of a sweep cell: past it, the running step raises ScenarioOverTime.

A scenario that hangs under a fault (every request waiting its full timeout, a waiting block retrying
to its deadline) says all it will say after a few seconds: the fault was detected. Waiting for every
step's own timeout is what made such cells take minutes. The limit is a real-time interval timer
(SIGALRM, behave's main thread); its handler raises in the step that is running, so behave fails that
step and skips the rest of the scenario. It fires again every ``repeat`` seconds until disarmed, in
case a step swallowed the first one. Armed after the cell's fault went in, disarmed before the undo:
neither the fault nor its undo is ever cut short by it.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

from harness.errors import ScenarioOverTime

logger = logging.getLogger(__name__)

REPEAT_S = 5.0  # after the first firing: again every 5 s, until the scenario ends


class Overtime:
    """``arm()`` at the scenario's start, ``disarm()`` at its end; ``fired`` says whether the limit was hit."""

    def __init__(self, limit: float, *, scenario: str, fault: str, repeat: float = REPEAT_S) -> None:
        self.limit = limit
        self.scenario = scenario
        self.fault = fault
        self.repeat = repeat
        self.fired = False
        self._previous: Any = None
        self._armed = False

    def arm(self) -> bool:
        """Start the clock; False (and nothing armed) off the main thread or on a platform without SIGALRM."""
        if self.limit <= 0 or not hasattr(signal, "setitimer") or \
                threading.current_thread() is not threading.main_thread():
            logger.info("no time limit for %s (limit %s, not on the main thread or no SIGALRM)",
                        self.scenario, self.limit)
            return False
        self._previous = signal.signal(signal.SIGALRM, self._fire)
        signal.setitimer(signal.ITIMER_REAL, self.limit, self.repeat)
        self._armed = True
        return True

    def disarm(self) -> None:
        """Stop the clock and put the previous SIGALRM handler back (idempotent)."""
        if not self._armed:
            return
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, self._previous if self._previous is not None else signal.SIG_DFL)
        self._armed = False

    def _fire(self, _signum: int, _frame: FrameType | None) -> None:
        self.fired = True
        raise ScenarioOverTime(scenario=self.scenario, limit=self.limit, fault=self.fault)
