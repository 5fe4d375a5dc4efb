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


def steps_dir() -> Path:
    """The folder of the generic step modules, shipped inside the package (``harness/stepdefs``)."""
    return Path(__file__).resolve().parent / "stepdefs"


# Registration order matters to behave (the first matching step wins): these first, then any others.
_FIRST = ("env_steps", "http_steps", "stream_steps", "wait_steps", "fault_steps", "load_steps", "metrics_steps",
          "repeat_steps")


def generic_modules() -> list[str]:
    """The names of the generic step modules (every ``*_steps.py`` in :func:`steps_dir`), in load order."""
    found = {path.stem for path in steps_dir().glob("*_steps.py")}
    return [m for m in _FIRST if m in found] + sorted(found.difference(_FIRST))


def use_generic_steps(*modules: str) -> None:
    """Register the generic step modules (all of them when none is named) with behave."""
    folder = steps_dir()
    known = generic_modules()
    for name in modules or known:
        path = folder / f"{name}.py"
        if not path.is_file():
            raise ConfigError(f"no generic step module {name!r} in {folder}",
                              hint=f"generic modules: {', '.join(known)}")
        runpy.run_path(str(path), run_name=f"harness_steps.{name}")
