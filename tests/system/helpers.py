"""What the Docker-backed system tests share: run the harness CLI in a project copy, find what a run
left on the engine, wait for a condition."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import FIXTURES, default_sigint


def ground_copy(parent: Path) -> Path:
    """A copy of tests/fixtures/ground (one tiny environment with short timeouts) in ``parent``."""
    target = parent / "ground"
    shutil.copytree(FIXTURES / "ground", target)
    return target


def clean_environ(**extra: str) -> dict[str, str]:
    """This process's environment without HARNESS_* variables, plus ``extra``."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}, **extra}


def harness(project: Path, *args: str, timeout: float = 180, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run the harness CLI in ``project`` to the end (``extra``: environment variables)."""
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=project, env=clean_environ(**extra),
                          capture_output=True, text=True, timeout=timeout)


def start(project: Path, *args: str, group: bool = False, **extra: str) -> tuple[subprocess.Popen[str], str]:
    """Start `harness run ARGS` (``group``: in its own process group, as a terminal's job); return the
    process and its run id (from its first line)."""
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", *args], cwd=project,
                            env=clean_environ(**extra), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=default_sigint, process_group=0 if group else None)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("harness run "), first
    return proc, first.split()[2].rstrip(":")


def left_by(run_id: str) -> list[str]:
    """Containers, networks and volumes whose harness.run label belongs to this run (or its workers)."""
    found = []
    for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"]):
        out = subprocess.run(["docker", *kind, "--filter", "label=harness.run",
                              "--format", '{{.Label "harness.run"}} {{.Name' + ('s' if kind[0] == 'ps' else '') + '}}'],
                             capture_output=True, text=True, check=True).stdout
        found += [line for line in out.splitlines() if line.split(" ", 1)[0].startswith(run_id)]
    return found


def wait_for(predicate: Callable[[], object], timeout: float = 30.0) -> bool:
    """Whether ``predicate`` came true within ``timeout`` seconds (asked every 0.2 s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def nothing_left(run_id: str, within: float = 30.0) -> list[str]:
    """What the run left, once its watchdogs had ``within`` seconds (a loaded machine slows `compose down`)."""
    wait_for(lambda: not left_by(run_id), within)
    return left_by(run_id)


def wait_started(project: Path, count: int = 1, timeout: float = 90) -> list[Path]:
    """The markers (named by behave's pid) of ``count`` scenarios that noted their start in
    ``.harness/started`` (the fixtures' marker step); fails when fewer started within ``timeout``."""
    folder = project / ".harness" / "started"
    if not wait_for(lambda: folder.is_dir() and len(list(folder.iterdir())) >= count, timeout):
        raise AssertionError(f"{count} scenarios did not start within {timeout} s")
    return sorted(folder.iterdir())


def no_traceback(text: str) -> None:
    """Fail when ``text`` holds a Python traceback."""
    assert "Traceback (most recent call last)" not in text, text
