"""Docker: faults in the harness's own ground (issue 28) — a hung compose, a full disk (one run and a
split one), a cut record, killed watchdogs and runners, a dying fault proxy, Ctrl-C twice, a killed
worker, a slow engine (an engine restart: test_remote_engine.py).

Each test injects one fault into a real `harness run` of tests/fixtures/ground and checks three
things: what the user sees (one clear error naming the cause and what to do, no traceback), what is
kept (the record, behave JSON and JUnit of finished scenarios; `harness analyze` reads them), and
what is left behind (nothing, or the next run's janitor / `harness gc` removes it).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.analysis.inputs import load
from harness.env.spec import TIMEOUT_DEFAULTS
from harness.runfolder import RunFolder
from tests.conftest import FIXTURES, REPO
from tests.system.helpers import ground_copy, harness, left_by, no_traceback, start, wait_for, wait_started

pytestmark = pytest.mark.docker


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of tests/fixtures/ground (one tiny environment with short timeouts)."""
    return ground_copy(tmp_path)


# --- 1. `docker compose up` hangs ------------------------------------------------------------------

HANGING_DOCKER = """#!/bin/sh
# `docker compose ... up ...` starts the containers, then never returns; everything else is the real docker.
for arg in "$@"; do
  if [ "$arg" = "up" ]; then "{real}" "$@"; exec sleep 3600; fi
done
exec "{real}" "$@"
"""


def test_a_hung_compose_up_times_out_naming_the_setting_and_leaves_nothing(project: Path, tmp_path: Path) -> None:
    real = shutil.which("docker")
    assert real is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(HANGING_DOCKER.format(real=real))
    (bin_dir / "docker").chmod(0o755)
    started = time.monotonic()
    done = harness(project, "run", "features/two.feature", PATH=f"{bin_dir}:{os.environ['PATH']}")
    took = time.monotonic() - started
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert "ComposeTimeout: `docker compose up` of project" in done.stderr, out  # the one line that says why
    assert "within 8 s (the bound set by `timeouts.compose`)" in done.stderr, out
    assert f"Hint: raise `timeouts.compose` in {project / 'environments' / 'tiny.yaml'}" in out, out
    assert took < 60, f"the compose timeout (8 s) bounds the wait, not the readiness one: took {took:.0f} s"
    no_traceback(done.stderr)
    run_id = done.stdout.split()[2].rstrip(":")
    assert wait_for(lambda: not left_by(run_id), 20), left_by(run_id)


# --- 2. the disk under the run folder fills ---------------------------------------------------------


def fill(folder: Path) -> Path:
    """Write zeros into ``folder`` until its file system is full; return the filler file."""
    filler = folder / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs: a runs folder that fills up."""
    mount = tmp_path / "runs"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_under_the_runs_folder_is_named_and_what_was_written_stays_readable(
        project: Path, small_disk: Path) -> None:
    proc, run_id = start(project, "features/two.feature", "features/three.feature", HARNESS_RUNS_DIR=str(small_disk))
    run_dir = small_disk / run_id
    wait_started(project)  # the second scenario started
    filler = fill(small_disk)
    out, _ = proc.communicate(timeout=120)
    no_traceback(out)
    assert proc.returncode == 2, out
    assert f"no space left on the disk of {small_disk}" in out, out
    assert wait_for(lambda: not left_by(run_id), 30), left_by(run_id)
    filler.unlink()
    analyzed = harness(project, "analyze", str(run_dir))
    assert analyzed.returncode == 1, analyzed.stdout + analyzed.stderr  # read, and the run did not finish
    passed = re.search(r"(\d+) scenarios passed", analyzed.stdout)
    assert passed and int(passed.group(1)) >= 2, analyzed.stdout  # two.feature finished before the disk filled
    assert "aborted: the record" in analyzed.stdout


def test_a_full_disk_under_a_split_run_gives_the_single_runs_error(project: Path, small_disk: Path) -> None:
    """`--workers` workers run behave through harness.run.main too (on main: `python -m behave`)."""
    proc, run_id = start(project, "--workers", "2", "features/two.feature", "features/three.feature",
                         HARNESS_RUNS_DIR=str(small_disk))
    wait_started(project)  # three.feature's second scenario started; two.feature ran (or runs) beside it
    filler = fill(small_disk)
    out, _ = proc.communicate(timeout=120)
    no_traceback(out)
    assert proc.returncode == 2, out
    assert f"no space left on the disk of {small_disk}" in out, out
    assert "Hint: free space on that disk" in out, out
    assert wait_for(lambda: not left_by(run_id), 30), left_by(run_id)
    filler.unlink()
    for log in (small_disk / run_id).glob("w*/attempt-*/behave.log"):
        no_traceback(log.read_text(errors="replace"))  # nor in what the workers managed to write


# --- 3. the record cut mid-line ----------------------------------------------------------------------


def test_a_record_cut_mid_line_is_read_up_to_the_cut(project: Path) -> None:
    done = harness(project, "run", "features/three.feature")
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir = next((project / ".harness" / "runs").glob("2*"))
    record = run_dir / "record.ndjson"
    lines = record.read_text().splitlines(keepends=True)
    cut_at = next(i for i, line in enumerate(lines) if '"after the fault"' in line)  # the last scenario's line
    record.write_text("".join(lines[:cut_at]) + lines[cut_at][: len(lines[cut_at]) // 2])  # killed mid-write
    analyzed = harness(project, "analyze", str(run_dir))
    assert analyzed.returncode == 1, analyzed.stdout + analyzed.stderr  # the run did not finish
    no_traceback(analyzed.stdout + analyzed.stderr)
    assert f"the record stops in the middle of line {cut_at + 1}" in analyzed.stdout, analyzed.stdout
    assert "2 scenarios passed" in analyzed.stdout, analyzed.stdout  # every complete line was read
    assert "verdict: NO-GO" in analyzed.stdout and "the run finished" in analyzed.stdout, analyzed.stdout
    record.write_text(lines[0][:20])  # nothing readable
    unreadable = harness(project, "analyze", str(record))
    assert unreadable.returncode == 2, unreadable.stdout + unreadable.stderr
    no_traceback(unreadable.stdout + unreadable.stderr)


# --- 4. the watchdog killed, then the runner -----------------------------------------------------------


def test_watchdog_and_runner_killed_the_next_runs_janitor_removes_the_project(project: Path) -> None:
    proc, run_id = start(project, "features/sleepy.feature")
    wait_started(project)
    behave_pid = int(next((project / ".harness" / "started").iterdir()).name)
    watchdogs = subprocess.run(["pgrep", "-f", f"harness.env.watchdog --owner {behave_pid} "],
                               capture_output=True, text=True).stdout.split()
    assert watchdogs, "a watchdog runs beside the runner"
    for pid in watchdogs:
        os.kill(int(pid), signal.SIGKILL)
    os.kill(behave_pid, signal.SIGKILL)
    proc.kill()
    proc.communicate(timeout=30)
    time.sleep(1)
    assert left_by(run_id), "with both killed, the project is still there"
    shutil.rmtree(project / ".harness" / "started")
    done = harness(project, "run", "features/two.feature")
    assert done.returncode == 0, done.stdout + done.stderr
    assert left_by(run_id) == [], "the next run's janitor removed the killed run's project"


# --- 6. Ctrl-C twice in quick succession ----------------------------------------------------------------


def test_ctrl_c_twice_still_tears_down_without_a_second_traceback(project: Path) -> None:
    proc, run_id = start(project, "features/sleepy.feature", group=True)
    wait_started(project)
    assert left_by(run_id), "the environment is up"
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole job: harness run and behave
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert out.count("Traceback (most recent call last)") == 0, out
    assert left_by(run_id) == [], out + "teardown completed before harness run returned (not the watchdog's later work)"


# --- 7. a `--workers 2` worker SIGKILLed mid-feature ------------------------------------------------------


def test_a_killed_workers_unfinished_scenario_is_lost_by_name_in_every_merged_result(tmp_path: Path) -> None:
    parallel = tmp_path / "parallel"
    shutil.copytree(FIXTURES / "parallel", parallel)
    proc, run_id = start(parallel, "--workers", "2", "envfeatures/web_long.feature", "envfeatures/web_a.feature")
    markers = wait_started(parallel, 2)

    def alive() -> list[Path]:
        return [m for m in markers if Path(f"/proc/{m.name}").exists()]
    assert wait_for(lambda: len(alive()) == 1, 90), "the long scenario's worker could not be told apart"
    os.kill(int(alive()[0].name), signal.SIGKILL)
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 2, out
    no_traceback(out)
    assert "[w1] envfeatures/web_a.feature ✓" in out, out  # the other worker finished
    assert "exit -9" in out, out
    assert ("1 item(s) never finished and are lost: envfeatures/web_long.feature "
            "(web answers after a long wait)") in out, out
    assert "merged results: 2 scenarios: 1 passed, 1 lost" in out, out
    assert wait_for(lambda: not left_by(run_id), 30), left_by(run_id)
    # the merged results have the lost scenario, as an error naming the dead worker (failed on main: missing)
    folder = RunFolder(parallel / ".harness" / "runs" / run_id)
    for source in (folder.record, folder.behave_json):
        found = {s.name: (s.status, s.error.type if s.error else "") for s in load([str(source)]).scenarios()}
        assert found == {"web answers for A": ("passed", ""),
                         "web answers after a long wait": ("error", "WorkerLostError")}, source
    junit = folder.merged_junit.read_text()
    assert 'name="web answers after a long wait"' in junit and "WorkerLostError" in junit, junit
    assert "envfeatures/web_long.feature:3" in folder.read_rerun(parallel)
    analyzed = harness(parallel, "analyze", str(folder.path))
    assert analyzed.returncode == 1, analyzed.stdout + analyzed.stderr
    assert "lost-worker" in analyzed.stdout and "verdict: NO-GO" in analyzed.stdout, analyzed.stdout


# --- 5. the fault proxy dies during a latency fault ---------------------------------------------------------


def test_the_fault_proxy_dying_fails_its_scenario_clearly_and_the_next_starts_clean(project: Path) -> None:
    started_at = time.monotonic()
    proc, run_id = start(project, "features/proxy_dies.feature")
    out, _ = proc.communicate(timeout=240)
    took = time.monotonic() - started_at
    assert proc.returncode == 2, out  # the harness's own tool broke: not a verdict on the product
    no_traceback(out)
    summary = out[out.index("harness run: environment or configuration errors"):]
    assert "FaultError: a cleanup failed: 300 ms latency on client->web:8000" in summary, out
    assert "the fault proxy h" in out and "died while the fault was on (it is exited (137))" in out, out
    assert "does not answer DELETE" not in out, "the dead proxy's API is not asked"
    assert "1 scenario passed, 0 failed, 1 hook_error" in out, out  # the next scenario started clean
    assert took < 60, f"the undo did not hang: {took:.0f} s"
    assert wait_for(lambda: not left_by(run_id), 20), left_by(run_id)


# --- 8. the engine restarts mid-scenario: in test_remote_engine.py, on that file's second engine (one engine for
# both files' tests: it is started once, and restarted by the last test) --------------------------------------


# --- 9. the engine answers slowly (a proxy on its socket holding every call 500 ms) ------------------------

_CALL = re.compile(rb"^(GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS) /")


class SlowEngine:
    """A unix-socket proxy in front of the engine's socket that holds every API call ``delay`` seconds."""

    def __init__(self, path: Path, upstream: str, delay: float) -> None:
        self.path, self.upstream, self.delay = path, upstream, delay
        self.calls = 0
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        """Its DOCKER_HOST."""
        return f"unix://{self.path}"

    def close(self) -> None:
        """Stop accepting (connections already open end with their clients)."""
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (a close alone would not)
        self._server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            engine.connect(self.upstream)
            threading.Thread(target=self._pump, args=(client, engine, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(engine, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, requests: bool) -> None:
        try:
            while data := source.recv(65536):
                if requests and _CALL.match(data):  # a new API call (not the body of one, nor a hijacked stream)
                    self.calls += 1
                    time.sleep(self.delay)
                target.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)
            source.close()


@pytest.fixture
def slow_engine(tmp_path: Path) -> Iterator[SlowEngine]:
    """The machine's engine behind a proxy adding 500 ms to every API call."""
    upstream = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    assert upstream.startswith("unix://"), f"the slow-engine proxy sits on a unix socket, not {upstream}"
    engine = SlowEngine(tmp_path / "docker.sock", upstream.removeprefix("unix://"), 0.5)
    try:
        yield engine
    finally:
        engine.close()


def test_a_slow_engine_changes_no_verdict_under_the_documented_timeouts(project: Path, slow_engine: SlowEngine) -> None:
    # the documented defaults (README, "Adding an environment"), not the fixture's short ones: no `timeouts:`
    documented = re.search(r"^timeouts: \{(.+)\}", (REPO / "README.md").read_text(), re.M)
    assert documented, "README documents the environment timeouts"
    assert {k: float(v) for k, v in (p.split(": ") for p in documented.group(1).split(", "))} == TIMEOUT_DEFAULTS
    env_file = project / "environments" / "tiny.yaml"
    env_file.write_text("".join(line for line in env_file.read_text().splitlines(keepends=True)
                                if not line.startswith("timeouts:")))
    began = time.monotonic()
    done = harness(project, "run", "features/two.feature", DOCKER_HOST=slow_engine.endpoint)
    took = time.monotonic() - began
    out = done.stdout + done.stderr
    assert done.returncode == 0, out  # passed on the product's merits
    no_traceback(out)
    assert "2 scenarios passed, 0 failed" in out, out
    assert slow_engine.calls >= 20, f"the run's engine calls went through the slow proxy: {slow_engine.calls}"
    run_id = done.stdout.split()[2].rstrip(":")
    assert wait_for(lambda: not left_by(run_id), 30), left_by(run_id)
    print(f"slow engine: {slow_engine.calls} calls held 500 ms each, run took {took:.1f} s")
