"""behave's hooks file: it must live at the root; everything is in harness.behave_hooks."""

from harness.behave_hooks import (after_all, after_scenario, after_step, before_all, before_feature,
                                  before_scenario, before_step)

__all__ = ["after_all", "after_scenario", "after_step", "before_all", "before_feature",
           "before_scenario", "before_step"]
