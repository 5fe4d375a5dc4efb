"""Shared fixtures: the fixture project and a check that docker tests leave nothing behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def fixture_project(tmp_path: Path) -> Path:
    """A copy of tests/fixtures/project (environments, compose, features) in a tmp folder."""
    target = tmp_path / "project"
    shutil.copytree(FIXTURES / "project", target)
    return target


def default_sigint() -> None:
    """``preexec_fn`` for a child the test will Ctrl-C: SIGINT back to its default disposition.

    A shell starting a job in the background without job control (``cmd &`` in a script, nohup)
    makes it ignore SIGINT, and Python keeps an ignored SIGINT: the child would never see the
    test's Ctrl-C. With the default restored, Python installs its KeyboardInterrupt handler again.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def harness_containers(run_id: str = "") -> list[str]:
    """Names of containers labelled by the harness (for one run id, or all)."""
    label = f"harness.run={run_id}" if run_id else "harness.run"
    out = subprocess.run(["docker", "ps", "-a", "--filter", f"label={label}", "--format", "{{.Names}}"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def harness_networks(run_id: str = "") -> list[str]:
    """Names of networks labelled by the harness (for one run id, or all)."""
    label = f"harness.run={run_id}" if run_id else "harness.run"
    out = subprocess.run(["docker", "network", "ls", "--filter", f"label={label}", "--format", "{{.Name}}"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


# --- a Docker test never skips what it exists to check -----------------------------------------------

_SKIPPED_DOCKER: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Note every Docker-marked test that was skipped (in setup or in its body)."""
    if report.skipped and "docker" in report.keywords:
        _SKIPPED_DOCKER.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI=true a skipped Docker test fails the run: CI must never be green with them untested."""
    if _SKIPPED_DOCKER and os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        names = "\n  ".join(_SKIPPED_DOCKER)
        print(f"\nCI: {len(_SKIPPED_DOCKER)} Docker test(s) were skipped; under CI=true that is a failure:\n  {names}\n"
              "Hint: Docker tests must fail, not skip, when the engine or an image is missing (`make setup`).",
              file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# --- the Docker phase runs on several workers (`make test`: -n N --dist loadgroup) -------------------

# Files whose tests must not run beside each other's: both use the example project's stable image tags
# (test_example_project removes the API's tag to prove the next run builds it; the sweep runs on it).
SHARED_GROUPS = {"tests/test_example_project.py": "example-project-images",
                 "tests/sweep/test_sweep_docker.py": "example-project-images"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put every Docker test in its file's xdist group (or a shared one, SHARED_GROUPS).

    Under ``--dist loadgroup`` a group runs on one worker, one test at a time: a file's module fixtures
    (an environment, a built wheel) are made once, and tests that share an environment name, a kept
    project or a fixed port never run beside each other; different files run side by side. Without
    xdist the marker does nothing.
    """
    for item in items:
        if "docker" in item.keywords and item.get_closest_marker("xdist_group") is None:
            path = item.nodeid.split("::", 1)[0]
            item.add_marker(pytest.mark.xdist_group(SHARED_GROUPS.get(path, path)))
