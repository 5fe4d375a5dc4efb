"""How long faults wait, as named ``Wait`` values (harness.waiting): nothing in harness/faults/ spells a timeout itself.

    FAULT_WAIT    a reverted (restarted, unpaused, started) container runs again: within 30 s, looking
                  after 0.125 s, then every doubling up to 0.5 s. ``-D fault_timeout=SECONDS`` (or
                  ``HARNESS_FAULT_TIMEOUT``) changes its timeout for a run: ``fault_wait(userdata)``.
    LOCK_WAIT     a SQLite lock holder inside the container holds its lock: within 10 s
    PROXY_READY   the fault proxy's control API answers: within 20 s
    FREEZE_RETRY  runc's "unable to freeze" (a busy cgroup on a loaded machine) is tried again: 5 attempts
    OOM_SETTLE    the engine reports an OOM kill the kernel already did: within 5 s
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

from harness.env.config import seconds_settings
from harness.waiting import Wait

FAULT_WAIT = Wait(timeout=30.0, interval=0.125, backoff=2.0, max_interval=0.5)
LOCK_WAIT = Wait(timeout=10.0, interval=0.025, backoff=2.0, max_interval=0.1)
PROXY_READY = Wait(timeout=20.0, interval=0.025, backoff=2.0, max_interval=0.1)
FREEZE_RETRY = Wait(timeout=math.inf, interval=0.2, backoff=2.0, max_interval=0.8, attempts=5)
OOM_SETTLE = Wait(timeout=5.0, interval=0.125, backoff=2.0, max_interval=0.5)

_SETTING_KEYS = {"timeout": "fault_timeout"}


def fault_wait(userdata: Mapping[str, str], environ: Mapping[str, str] | None = None) -> Wait:
    """FAULT_WAIT with the timeout of ``-D fault_timeout=SECONDS`` or ``HARNESS_FAULT_TIMEOUT``, if given."""
    values = seconds_settings(_SETTING_KEYS, userdata, os.environ if environ is None else environ)
    return FAULT_WAIT.with_timeout(values["timeout"]) if "timeout" in values else FAULT_WAIT
