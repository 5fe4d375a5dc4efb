"""Use the harness's generic step library unchanged: run each of its step modules here.

behave executes every .py file in this folder; the generic modules import their own step
decorators, so running them (runpy) registers their steps with behave like local ones.
"""

import runpy
from pathlib import Path

GENERIC_STEPS = Path(__file__).resolve().parents[3] / "steps"  # the harness repository's steps/

for module in ("env_steps", "http_steps", "stream_steps", "wait_steps"):
    runpy.run_path(str(GENERIC_STEPS / f"{module}.py"), run_name=f"harness_steps.{module}")
