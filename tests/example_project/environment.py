"""behave's hooks file of the example project: the harness's hooks, unchanged."""

from harness.run.behave_hooks import (
    after_all,
    after_scenario,
    after_step,
    before_all,
    before_feature,
    before_scenario,
    before_step,
)

__all__ = ["after_all", "after_scenario", "after_step", "before_all", "before_feature",
           "before_scenario", "before_step"]
