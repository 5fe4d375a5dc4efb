"""behave's hooks file: it must live at the root; everything is in harness.run.behave_hooks."""

from harness.run.behave_hooks import *  # noqa: F403 - behave looks the hooks up by name in this module
