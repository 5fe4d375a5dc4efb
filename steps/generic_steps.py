"""This repository's steps: the harness's generic step library, loaded as any team loads it."""

from harness.steplib import use_generic_steps

use_generic_steps()
