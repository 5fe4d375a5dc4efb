"""The harness's generic steps (HTTP, environment, faults, load, waiting); add your own files beside this one."""

from harness.steplib import use_generic_steps

use_generic_steps()
