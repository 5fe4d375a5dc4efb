"""Lets another team's behave project use the generic step library unchanged.

In that project's ``steps/`` folder, one file::

    from harness.steplib import use_generic_steps
    use_generic_steps()            # or use_generic_steps("http_steps", "wait_steps")

behave runs every file in ``steps/``; running the generic modules there registers their steps
exactly as if they were the project's own.
"""

from __future__ import annotations

import runpy
from pathlib import Path

from harness.errors import ConfigError

GENERIC = ("env_steps", "http_steps", "stream_steps", "wait_steps", "fault_steps", "load_steps",
           "metrics_steps", "repeat_steps")


def steps_dir() -> Path:
    """The folder of the generic step modules, shipped inside the package (``harness/stepdefs``)."""
    return Path(__file__).resolve().parent / "stepdefs"


def use_generic_steps(*modules: str) -> None:
    """Register the generic step modules (all of them when none is named) with behave."""
    folder = steps_dir()
    for name in modules or GENERIC:
        path = folder / f"{name}.py"
        if not path.is_file():
            raise ConfigError(f"no generic step module {name!r} in {folder}",
                              hint=f"generic modules: {', '.join(GENERIC)}")
        runpy.run_path(str(path), run_name=f"harness_steps.{name}")
