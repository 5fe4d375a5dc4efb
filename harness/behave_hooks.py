"""behave's hooks, where a team's `environment.py` imports them: ``from harness.behave_hooks import *``.

The hooks live in :mod:`harness.run.behave_hooks`; this module keeps the documented name.
"""

from __future__ import annotations

from harness.run.behave_hooks import (
    after_all,
    after_scenario,
    after_step,
    before_all,
    before_feature,
    before_scenario,
    before_step,
)

__all__ = ["after_all", "after_scenario", "after_step", "before_all", "before_feature", "before_scenario",
           "before_step"]
