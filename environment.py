"""behave's hooks file: it must live at the root; everything is in harness.behave_hooks."""

from harness.behave_hooks import *  # noqa: F403 - behave looks the hooks up by name in this module
