"""`harness run --workers N`: the run's items spread over N behave processes, merged into one run folder.

    plan: buckets of items (harness.parallel.shard.balance); the @serial items at the end of every list
    Pool.run(): every worker starts its behave (own run id -> own compose projects); the loop
                polls them, prints `[w2] features/x.feature ✓ 12.3 s` as each feature ends,
                starts a worker's retry (harness.parallel.retry) when it exits with failures left, and
                opens the gate (harness.parallel.gate) for the worker that claimed the @serial items
                (the first to run out of other work: it brings their environments up, then
                waits) once the others' scenarios are all over (their teardowns may go on).
                Without claims (one worker), or when no worker claimed them, a worker of their own runs them, also gated
    on SIGINT/SIGTERM: SIGTERM to every worker (each takes its environments down), SIGKILL after
                a grace period, then every project of the run's worker ids is removed
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from harness.env.turns import TURNS_ENV
from harness.parallel.claims import CLAIMS_ENV, OWNER_ENV, serial_owner
from harness.parallel.gate import CLEAN, GATE_ENV, OVER_ENV, open_gate, over
from harness.parallel.merge import Part, rerun_locations
from harness.parallel.retry import RetryPolicy
from harness.parallel.shard import Item
from harness.runfolder import RunFolder
from harness.waiting import Wait

logger = logging.getLogger(__name__)

MARKS = {"passed": "✓", "failed": "✗", "error": "✗", "hook_error": "✗", "skipped": "-", "untested": "-"}
POOL_TICK = Wait(timeout=math.inf, interval=0.2)  # how often the pool looks at its workers (they end it)
STOP_GRACE_SECONDS = 60.0  # a worker's environments need `compose down` after SIGTERM


@dataclass
class Worker:
    """One behave process at a time for one slot: its first attempt, then its retries."""

    label: str
    run_id: str
    folder: Path
    locations: list[str]
    parts: list[Part] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    codes: list[int] = field(default_factory=list)
    peak_rss_kb: int = 0
    planned: list[str] = field(default_factory=list)
    walls: list[float] = field(default_factory=list)  # seconds each attempt's behave ran
    _seen: int = 0
    _started: float = 0.0

    def __post_init__(self) -> None:
        self.planned = self.planned or list(self.locations)

    @property
    def attempt(self) -> int:
        """The number of the current (or last) attempt, from 1."""
        return len(self.parts)

    @property
    def current(self) -> Part:
        """The attempt running now (or last)."""
        return self.parts[-1]

    @property
    def done(self) -> bool:
        """Started at least once and no process running."""
        return bool(self.parts) and self.proc is None


@dataclass
class Pool:
    """The workers of one run and the loop that drives them."""

    workers: list[Worker]
    serial: Worker | None
    command: Callable[[Worker], list[str]]
    cwd: Path
    env: dict[str, str]
    retry: RetryPolicy
    out: TextIO = field(default_factory=lambda: sys.stdout)
    popen: Callable[..., subprocess.Popen[bytes]] = subprocess.Popen
    claims: Path | None = None  # the run's claims folder (harness.parallel.claims): set for first attempts of workers
    gate: Path | None = None  # the @serial items' gate file (harness.parallel.gate); None: they start after the others
    gate_opened: float | None = None  # time.monotonic() when the gate opened
    turns: Path | None = None  # the run's lock file: one worker's `compose up` at a time (harness.env.turns)
    _stopping: bool = False
    _holder: Worker | None = None  # the worker that claimed the @serial items

    def run(self) -> None:
        """Run every worker, the serial one gated behind them; KeyboardInterrupt after stopping all."""
        previous = _install_stop_handlers()
        try:
            for worker in self.workers:
                self._start(worker, worker.locations)
            self._drive(self.workers)
            if self.serial is not None and self._holder is None:  # nobody claimed them (or no claims)
                if not self.serial.parts:
                    self._start(self.serial, self.serial.locations)
                self._open_gate()
                self._drive([self.serial])
            self._open_gate()
        except BaseException:  # Ctrl-C, SIGTERM, or the pool's own files failing (a full disk): no worker outlives it
            self.stop()
            raise
        finally:
            _restore_handlers(previous)

    def _drive(self, workers: Sequence[Worker]) -> None:
        def all_done() -> bool:
            if not any(w.proc is not None for w in workers):
                return True
            for worker in workers:
                self._poll(worker)
            self._early_serial(workers)
            self._gate_for_holder(workers)
            return False
        POOL_TICK.until(all_done, what="the workers to finish")
        for worker in workers:
            self._progress(worker)

    def _early_serial(self, workers: Sequence[Worker]) -> None:
        """Without claims: the serial worker takes the first slot a worker frees (never more than N processes at
        once), and brings its environments up there while the others finish."""
        serial = self.serial
        if (self.gate is not None and self.claims is None and serial is not None and not serial.parts
                and serial not in workers and not self._stopping and any(w.done for w in workers)):
            self._line(serial, "starting: bringing up its environments while the others finish")
            self._start(serial, serial.locations)

    def _gate_for_holder(self, workers: Sequence[Worker]) -> None:
        """With claims: the worker that claimed the @serial items runs them once every other worker is done."""
        if self.claims is None or self.gate is None or self.gate_opened is not None:
            return
        if self._holder is None:
            owner = serial_owner(self.claims)
            self._holder = next((w for w in workers if w.run_id == owner), None)
            if self._holder is None:
                return
            self._line(self._holder, "takes the @serial items: brings their environments up while the others finish")
        if all(self._over(w) for w in workers if w is not self._holder):
            self._line(self._holder, "the others are done: the @serial items run alone")
            self._open_gate()

    def _over(self, worker: Worker) -> bool:
        """The worker runs no more scenarios: exited, or its last scenario has ended and no retry can follow
        (its environments may still be going down)."""
        if worker.done:
            return True
        said = over(worker.current.run.scenarios_over) if worker.parts else None
        return said == CLEAN or (said is not None and not self.retry.again(worker.attempt))

    def _open_gate(self) -> None:
        if self.gate is not None and self.gate_opened is None:
            open_gate(self.gate)
            self.gate_opened = time.monotonic()

    def _start(self, worker: Worker, locations: list[str], only: frozenset[str] = frozenset()) -> None:
        first = not worker.parts
        part = Part(worker.label, RunFolder(worker.folder).attempt(worker.attempt + 1).path, only)
        part.folder.mkdir(parents=True, exist_ok=True)
        worker.parts.append(part)
        worker.locations, worker._seen, worker._started = locations, 0, time.monotonic()
        with part.run.behave_log.open("wb") as log:
            env = {**{k: v for k, v in self.env.items() if k not in (CLAIMS_ENV, GATE_ENV, TURNS_ENV)},
                   OWNER_ENV: worker.run_id, OVER_ENV: str(part.run.scenarios_over)}
            if self.turns is not None:
                env[TURNS_ENV] = str(self.turns)
            if self.claims is not None and first and worker is not self.serial:
                env[CLAIMS_ENV] = str(self.claims)
            gated = worker is self.serial or (self.claims is not None and (first or worker is self._holder))
            if self.gate is not None and self.gate_opened is None and gated:
                env[GATE_ENV] = str(self.gate)  # waited on by whoever claims the @serial items (harness.parallel.gate)
            worker.proc = self.popen(self.command(worker), cwd=self.cwd, env=env,
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def _poll(self, worker: Worker) -> None:
        proc = worker.proc
        if proc is None:
            return
        worker.peak_rss_kb = max(worker.peak_rss_kb, peak_rss_kb(proc.pid))
        self._progress(worker)
        code = proc.poll()
        if code is None:
            return
        self._progress(worker)
        worker.proc = None
        worker.codes.append(code)
        worker.walls.append(round(time.monotonic() - worker._started, 2))
        failed = rerun_locations(worker.current.folder)
        if code == 1 and failed and self.retry.again(worker.attempt) and not self._stopping:
            self._line(worker, f"retrying {len(failed)} failed scenario(s), attempt {worker.attempt + 1}")
            self._start(worker, failed, frozenset(failed))

    def _progress(self, worker: Worker) -> None:
        """Print a line for every feature the worker's record finished since the last look."""
        if not worker.parts:
            return
        lines = _complete_lines(worker.current.run.record)
        for line in lines[worker._seen:]:
            data = _json(line)
            if data.get("kind") == "feature":
                path = str(data.get("location", "")).rsplit(":", 1)[0]
                mark = MARKS.get(str(data.get("status")), "?")
                again = f" (attempt {worker.attempt})" if worker.attempt > 1 else ""
                taken = ("" if any(p.split(":")[0] == path for p in worker.planned)
                         else " (@serial, alone)" if self._is_serial(path) else " (taken over)")
                if taken and data.get("status") == "skipped":
                    continue  # another share's feature that is skipped everywhere (by tags): its owner says so
                self._line(worker, f"{path} {mark} {float(data.get('duration') or 0):.1f} s{again}{taken}")
        worker._seen = len(lines)

    def _is_serial(self, path: str) -> bool:
        return self.serial is not None and any(loc.split(":")[0] == path for loc in self.serial.locations)

    def _line(self, worker: Worker, text: str) -> None:
        self.out.write(f"[{worker.label}] {text}\n")
        self.out.flush()

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM every running worker, wait up to ``grace`` seconds, SIGKILL what is left."""
        self._stopping = True
        live = [w for w in (*self.workers, *([self.serial] if self.serial else [])) if w.proc is not None]
        for worker in live:
            _signal(worker, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for worker in live:
            assert worker.proc is not None
            try:
                worker.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.error("worker %s did not stop within %.0f s: killing it", worker.label, grace)
                _signal(worker, signal.SIGKILL)
                worker.proc.wait()
            worker.codes.append(worker.proc.returncode)
            worker.proc = None

    @property
    def parts(self) -> list[Part]:
        """Every attempt of every worker, serial last."""
        return [p for w in (*self.workers, *([self.serial] if self.serial else [])) for p in w.parts]


def _signal(worker: Worker, sig: int) -> None:
    assert worker.proc is not None
    try:
        os.killpg(worker.proc.pid, sig)  # behave leads its own session: its children get it too
    except (ProcessLookupError, PermissionError):
        pass


def _install_stop_handlers() -> dict[int, Any]:
    """SIGTERM and SIGHUP stop the pool like Ctrl-C does (as KeyboardInterrupt)."""
    def handler(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    previous: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        previous[sig] = signal.signal(sig, handler)
    return previous


def _restore_handlers(previous: dict[int, Any]) -> None:
    for sig, old in previous.items():
        signal.signal(sig, old)


def _complete_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    return text.split("\n")[:-1]  # the last piece is empty or a line still being written


def _json(line: str) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def peak_rss_kb(pid: int) -> int:
    """The peak resident memory of a process (VmHWM, kB; 0 when unknown)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def make_workers(buckets: Sequence[Sequence[Item]], serial: Sequence[Item], run_id: str,
                 run_dir: Path) -> tuple[list[Worker], Worker | None]:
    """A worker per non-empty bucket (w1..wN) and one for the @serial items, if any."""
    run = RunFolder(run_dir)
    workers = [Worker(run.numbered_worker(n).path.name, f"{run_id}-w{n}", run.numbered_worker(n).path,
                      [i.location for i in bucket])
               for n, bucket in enumerate((b for b in buckets if b), 1)]
    lone = (Worker(run.serial_worker().path.name, f"{run_id}-s", run.serial_worker().path, [i.location for i in serial])
            if serial else None)
    return workers, lone
