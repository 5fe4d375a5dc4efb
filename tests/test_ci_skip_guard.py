"""Under CI=true a skipped Docker test fails the pytest run (tests/conftest.py's session hook)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SKIPPING = '''
import pytest

@pytest.mark.docker
def test_needs_the_engine():
    pytest.skip("no engine")

def test_plain():
    pytest.skip("not a docker test")
'''


def _pytest(folder: Path, ci: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CI": ci}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
                           "-c", os.devnull, "--rootdir", str(folder), str(folder / "test_planted.py")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_a_skipped_docker_test_fails_the_run_under_ci(tmp_path: Path) -> None:
    (tmp_path / "test_planted.py").write_text(SKIPPING)
    done = _pytest(tmp_path, "true")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "test_planted.py::test_needs_the_engine" in done.stderr
    assert "test_plain" not in done.stderr  # only Docker tests are held to it


def test_outside_ci_a_skip_stays_a_skip(tmp_path: Path) -> None:
    (tmp_path / "test_planted.py").write_text(SKIPPING)
    done = _pytest(tmp_path, "")
    assert done.returncode == 0, done.stdout + done.stderr
