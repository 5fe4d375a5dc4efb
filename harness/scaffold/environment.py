"""behave's hooks file: the harness brings environments up and down, records and cleans up."""

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
