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


# --- the Docker phase runs on several workers (`make test`: -n N --dist loadfile) --------------------

# Under `--dist loadfile` a file runs on one worker, one test at a time: its module fixtures (an
# environment, a built wheel) are made once, and tests that share an environment name, a kept project
# or an image tag never run beside each other; different files run side by side (their projects,
# networks and tags are their own; the example project's copies share the stable tags of the images
# they do not change, built under a machine-wide lock per tag). The longest files start first
# (each file alone on a quiet machine, 2026-12-07: the example project 94 s, ground ~80 s, the sweep 70 s
# (83 CPU-s), lifecycle 58 s, the team project ~55 s, the remote engine ~50 s), so no worker is left with
# one of them at the end. A stale list costs balance, never correctness.
LONGEST_FIRST = ("tests/sweep/test_sweep_docker.py", "tests/test_example_project.py",
                 "tests/system/test_ground.py", "tests/system/test_lifecycle.py",
                 "tests/system/test_team_project.py", "tests/system/test_remote_engine.py",
                 "tests/system/test_parallel_run.py", "tests/analysis/test_chaos_report_docker.py")


# The unit phase (`make test`: -n 4 --maxschedchunk 2) sends a worker two tests at a time, whichever worker is
# free: the files whose tests take seconds each come first, so they spread over the workers and the short ones
# fill in at the end (2026-12-07: without both, one worker got test_parallel's six 3-12 s tests in one slice and
# ended at 81-103 s, the others at 45-56 s; with both, all four ended within 1 s, the phase took 72 s).
UNIT_LONGEST_FIRST = ("tests/test_parallel.py", "tests/test_claims.py", "tests/test_example_project.py",
                      "tests/services/test_loopback.py", "tests/steps/test_ws_steps.py", "tests/test_gate.py",
                      "tests/load/test_driver.py", "tests/load/test_load_steps.py",
                      "tests/analysis/test_html_browser.py", "tests/steps/test_wait_steps.py",
                      "tests/services/test_hive_stall.py", "tests/services/test_hive_restart.py",
                      "tests/test_rerun.py", "tests/test_step_phrases.py", "tests/test_steps_doc.py")


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Under ``--dist loadfile``: a worker is given its next file only when it is down to its last test."""
    if config.getvalue("dist") != "loadfile":
        return None
    # lazy: xdist is there whenever this hook is called (it is xdist's hook)
    from xdist.scheduler import LoadFileScheduling
    from xdist.workermanage import WorkerController

    class LastTestFileScheduling(LoadFileScheduling):
        """xdist hands a worker its next file while it still has two tests to run: behind a long file's last two
        (the sweep's take minutes each) that file waits while other workers may run dry. A worker runs a test
        once it knows the next one (or that none comes), so one left is the latest a file can be handed over."""

        def _reschedule(self, node: WorkerController) -> None:
            if self.workqueue and not node.shutting_down and self._pending_of(self.assigned_work[node]) > 1:
                return  # the next file goes to whichever worker is down to its last test first
            super()._reschedule(node)  # gives one file (its own rule: two tests left or fewer), or shuts down

    return LastTestFileScheduling(config, log)  # type: ignore[arg-type]


# Tests no other test may run beside; `make test` runs them after the parallel phase, one at a time:
# - they kill a runner and its watchdog, then check what `harness gc` (or the next run's janitor) does with
#   the orphaned project: any `harness run` starting on another worker runs the janitor, which would
#   remove that project first (a failure, or a pass that proved nothing);
# - it times single requests in milliseconds (the first under 150 ms): a neighbour's CPU burst is not
#   the latency it measures.
ALONE = frozenset({
    "tests/system/test_lifecycle.py::test_sigkill_of_the_runner_is_cleaned_by_the_watchdog",
    "tests/system/test_lifecycle.py::test_sigkill_of_runner_and_watchdog_is_cleaned_by_gc",
    "tests/system/test_ground.py::test_watchdog_and_runner_killed_the_next_runs_janitor_removes_the_project",
    "tests/system/test_client_link.py::"
    "test_client_link_latency_reaches_http_websocket_and_load_with_no_proxy_step_and_the_undo_restores_it",
})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the ALONE tests; the files of LONGEST_FIRST (Docker tests) and UNIT_LONGEST_FIRST (the others) first, in
    that order, every other test in its place."""
    for item in items:
        if item.nodeid in ALONE:
            item.add_marker(pytest.mark.alone)
    order = (*LONGEST_FIRST, *UNIT_LONGEST_FIRST)

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return order.index(path) if path in order else len(order)
    items.sort(key=rank)
