"""Use the harness's generic step library unchanged (see harness.steplib)."""

from harness.steplib import use_generic_steps

use_generic_steps()
