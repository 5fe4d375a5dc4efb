"""The run folder as types: ``RunFolder`` (a run, a worker, an attempt) and ``EnvFolder`` (one environment).

Writers and the analyzer alike go through them; the names are in ``harness.runfolder.names``, the
formats of the structured files in ``timeline``, ``load``, ``startup``, ``workers`` and ``rerun``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.runfolder import names as n
from harness.runfolder.load import LoadRecord, read_load_result, write_load_result
from harness.runfolder.observed import Observed, append_observed, read_observed
from harness.runfolder.rerun import read_rerun, write_rerun
from harness.runfolder.startup import Startup, read_startup, write_startup
from harness.runfolder.timeline import TimelineEntry, append_timeline, read_timeline
from harness.runfolder.workers import WorkersSummary, read_workers, write_workers

_RUN_FILES = frozenset({n.RECORD, n.BEHAVE_JSON, n.RERUN, n.BEHAVE_LOG, n.WORKERS})
_NOT_ENVIRONMENTS = frozenset({n.JUNIT, n.CLAIMS, n.SWEEP_CELLS, n.SWEEP_SMOKE})


def slug(label: str) -> str:
    """A file-name-safe form of a label: lower case, non-alphanumerics as '-', at most 80 characters."""
    return "".join(ch if ch.isalnum() else "-" for ch in label.lower()).strip("-")[:80]


def default_runs_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The folder of run folders for commands without a project root: HARNESS_RUNS_DIR, else .harness/runs."""
    return Path((os.environ if environ is None else environ).get("HARNESS_RUNS_DIR") or n.RUNS_DIR)


def latest_link(runs_dir: Path) -> Path:
    """The symlink to the newest run beside the runs."""
    return runs_dir / n.LATEST


@dataclass(frozen=True, slots=True)
class EnvFolder:
    """One environment's folder inside a run: compose files, fault timeline, load results, failure logs."""

    path: Path

    @property
    def name(self) -> str:
        """The environment's name (the folder's name)."""
        return self.path.name

    @property
    def compose_file(self) -> Path:
        """The compose file as rendered."""
        return self.path / n.COMPOSE_FILE

    @property
    def rendered(self) -> Path:
        """`docker compose config`."""
        return self.path / n.RENDERED

    @property
    def compose_up_log(self) -> Path:
        """Output of compose up."""
        return self.path / n.COMPOSE_UP_LOG

    @property
    def watchdog_log(self) -> Path:
        """The watchdog's output."""
        return self.path / n.WATCHDOG_LOG

    @property
    def startup(self) -> Path:
        """How long the bring-up took (harness.runfolder.startup); plans later parallel runs."""
        return self.path / n.STARTUP

    @property
    def timeline(self) -> Path:
        """Fault events (NDJSON, harness.runfolder.timeline)."""
        return self.path / n.TIMELINE

    @property
    def load_dir(self) -> Path:
        """Load run summaries."""
        return self.path / n.LOAD

    @property
    def failures_dir(self) -> Path:
        """Service logs saved at failing steps."""
        return self.path / n.FAILURES

    @property
    def logs_dir(self) -> Path:
        """Compose logs saved at a start-up failure."""
        return self.path / n.LOGS

    @property
    def startup_log(self) -> Path:
        """Every service's log at a start-up failure."""
        return self.logs_dir / n.STARTUP_LOG

    @property
    def inspect_dir(self) -> Path:
        """`docker inspect` at a start-up failure."""
        return self.path / n.INSPECT

    def inspect_file(self, container: str) -> Path:
        """Where a container's `docker inspect` is saved at a start-up failure."""
        return self.inspect_dir / n.INSPECT_FILE.format(name=container)

    def load_result(self, number: int, mode: str) -> Path:
        """Where the NUMBERth load run of MODE is saved."""
        return self.load_dir / n.LOAD_RESULT.format(number=number, mode=mode)

    def gathered_load_result(self, worker: str, original: Path) -> Path:
        """Where a split run keeps worker ``worker``'s load result ``original`` in the run's environment folder."""
        return self.load_dir / n.GATHERED.format(worker=worker, name=original.name)

    def load_results(self) -> list[Path]:
        """Every saved load run, in name order."""
        return sorted(self.load_dir.glob("*.json")) if self.load_dir.is_dir() else []

    def failure_logs(self) -> list[Path]:
        """Every failure log, in name (= save) order."""
        return sorted(self.failures_dir.glob("*.log")) if self.failures_dir.is_dir() else []

    def failure_log(self, label: str) -> Path:
        """The next failure log's path for a failing statement ``label`` (numbered, slugged)."""
        existing = len(list(self.failures_dir.iterdir())) if self.failures_dir.is_dir() else 0
        return self.failures_dir / n.FAILURE_LOG.format(number=existing + 1, slug=slug(label))

    # -- the structured files, written and read with their codecs ---------------------------------

    def append_timeline(self, entries: Iterable[TimelineEntry]) -> None:
        """Add fault events to the environment's timeline."""
        append_timeline(self.timeline, entries)

    def read_timeline(self) -> list[TimelineEntry]:
        """The environment's fault events (none without a timeline)."""
        return read_timeline(self.timeline)

    def write_load(self, number: int, record: LoadRecord) -> Path:
        """Save the NUMBERth load run; its path."""
        path = self.load_result(number, record.mode)
        write_load_result(path, record)
        return path

    def read_loads(self) -> list[tuple[Path, LoadRecord]]:
        """Every readable load run with its file, in name order."""
        found = ((path, read_load_result(path)) for path in self.load_results())
        return [(path, record) for path, record in found if record is not None]

    def write_startup(self, startup: Startup) -> None:
        """Save how the bring-up went."""
        write_startup(self.startup, startup)

    def read_startup(self) -> Startup | None:
        """How the bring-up went (None without a complete startup file)."""
        return read_startup(self.startup)


@dataclass(frozen=True, slots=True)
class RunFolder:
    """A run's folder (also a worker's, an attempt's or a shard's): result files and one EnvFolder per environment."""

    path: Path

    @classmethod
    def new(cls, runs_dir: Path, run_id: str) -> RunFolder:
        """The folder of run ``run_id`` under ``runs_dir`` (created)."""
        folder = cls(runs_dir / run_id)
        folder.path.mkdir(parents=True, exist_ok=True)
        return folder

    @property
    def run_id(self) -> str:
        """The run id (the folder's name)."""
        return self.path.name

    @property
    def record(self) -> Path:
        """The run record (NDJSON)."""
        return self.path / n.RECORD

    @property
    def behave_json(self) -> Path:
        """Behave's JSON."""
        return self.path / n.BEHAVE_JSON

    @property
    def rerun(self) -> Path:
        """Behave's rerun file."""
        return self.path / n.RERUN

    @property
    def behave_log(self) -> Path:
        """Behave's console output."""
        return self.path / n.BEHAVE_LOG

    @property
    def junit_dir(self) -> Path:
        """Behave's JUnit files."""
        return self.path / n.JUNIT

    @property
    def merged_junit(self) -> Path:
        """A split run's one JUnit file, made from the merged run."""
        return self.junit_dir / n.MERGED_JUNIT

    @property
    def scenarios_over(self) -> Path:
        """An attempt's marker: its last scenario has ended (harness.parallel.gate)."""
        return self.path / n.SCENARIOS_OVER

    @property
    def workers_json(self) -> Path:
        """The split run's summary (harness.runfolder.workers)."""
        return self.path / n.WORKERS

    @property
    def claims_dir(self) -> Path:
        """The split run's claims (harness.parallel.claims)."""
        return self.path / n.CLAIMS

    @property
    def turns_lock(self) -> Path:
        """The split run's lock file: one worker at `compose up` at a time (harness.env.turns)."""
        return self.path / n.TURNS_LOCK

    @property
    def serial_gate(self) -> Path:
        """The split run's gate before the @serial items (harness.parallel.gate)."""
        return self.path / n.SERIAL_GATE

    @property
    def sweep_files(self) -> tuple[Path, Path, Path]:
        """A sweep's summary: JSON, Markdown, HTML."""
        return self.path / n.SWEEP_JSON, self.path / n.SWEEP_MD, self.path / n.SWEEP_HTML

    @property
    def observed(self) -> Path:
        """A sweep baseline's connections per scenario (harness.runfolder.observed)."""
        return self.path / n.OBSERVED

    def sweep_baseline(self, number: int = 1) -> RunFolder:
        """A sweep's NUMBERth fault-free behave run."""
        return RunFolder(self.path / (n.SWEEP_BASELINE if number == 1 else n.SWEEP_BASELINE_AGAIN.format(n=number)))

    @property
    def sweep_answer(self) -> Path:
        """A sweep cell's results as the worker's behave process answered them (harness.run.cell_runner)."""
        return self.path / n.SWEEP_ANSWER

    def sweep_worker_log(self, number: int) -> Path:
        """The log of a sweep worker's behave process."""
        return self.path / n.SWEEP_WORKER_LOG.format(n=number)

    @property
    def sweep_workers(self) -> Path:
        """The run folders of a sweep's workers 2..N (each has its own environment)."""
        return self.path / n.SWEEP_WORKERS

    def sweep_cell(self, number: int, label: str) -> RunFolder:
        """The behave run of a sweep's NUMBERth cell."""
        return RunFolder(self.path / n.SWEEP_CELLS / n.SWEEP_CELL.format(number=number, slug=slug(label)))

    def sweep_smoke(self, number: int) -> RunFolder:
        """The smoke run after a sweep's NUMBERth cell."""
        return RunFolder(self.path / n.SWEEP_SMOKE / f"{number:03d}")

    def append_observed(self, entries: Iterable[Observed]) -> None:
        """Append a baseline's observed edges."""
        append_observed(self.observed, entries)

    def read_observed(self) -> list[Observed]:
        """A baseline's observed edges, one entry per scenario."""
        return read_observed(self.observed)

    def behave_outputs(self) -> list[str]:
        """behave arguments writing JSON, the run record, rerun and JUnit into this folder."""
        return ["-f", "json", "-o", str(self.behave_json),
                "-f", "harness.run.record:RecordFormatter", "-o", str(self.record),
                "-f", "rerun", "-o", str(self.rerun),
                "--junit", "--junit-directory", str(self.junit_dir)]

    def env(self, name: str) -> EnvFolder:
        """The folder of environment ``name`` (not created)."""
        return EnvFolder(self.path / name)

    def worker(self, label: str) -> RunFolder:
        """A worker's own run folder (``w1``, ``serial``) inside this one."""
        return RunFolder(self.path / label)

    def numbered_worker(self, number: int) -> RunFolder:
        """The folder of a split run's NUMBERth worker (``w1``...)."""
        return self.worker(n.WORKER.format(n=number))

    def serial_worker(self) -> RunFolder:
        """The folder of the worker of their own the @serial items get when nobody claims them."""
        return self.worker(n.SERIAL_WORKER)

    def attempt(self, number: int) -> RunFolder:
        """A worker's NUMBERth behave process (from 1; the later ones are retries)."""
        return RunFolder(self.path / n.ATTEMPT.format(n=number))

    def workers(self) -> list[RunFolder]:
        """Worker folders: subfolders holding attempts, a run record or behave JSON."""
        return [RunFolder(p) for p in self._subfolders() if _holds_results(p)]

    def envs(self, *, nested: bool = True) -> list[EnvFolder]:
        """Environment folders (and, with ``nested``, those of the workers), in name order.

        A split run gathers its workers' timelines and load results into its own environment folders
        (``nested=False`` reads each of those once); failure logs and start-up artifacts stay in the
        worker's folder.
        """
        found = [EnvFolder(p) for p in self._subfolders()
                 if not _holds_results(p) and p.name not in _NOT_ENVIRONMENTS and not _is_attempt(p)]
        if nested:
            for worker in self.workers():
                found.extend(worker.envs(nested=False))
        return found

    def read_rerun(self, root: Path | None = None) -> list[str]:
        """The failing ``file:line`` locations relative to ``root`` (default: the working folder)."""
        return read_rerun(self.rerun, root)

    def write_rerun(self, failures: Sequence[str], root: Path | None = None) -> None:
        """Write the locations still failing (relative to ``root``) so `behave @rerun.txt` works from anywhere."""
        write_rerun(self.rerun, failures, root)

    def write_workers(self, summary: WorkersSummary) -> None:
        """Save the split run's summary."""
        write_workers(self.workers_json, summary)

    def read_workers(self) -> WorkersSummary | None:
        """The split run's summary (None outside a split run)."""
        return read_workers(self.workers_json)

    def _subfolders(self) -> list[Path]:
        if not self.path.is_dir():
            return []
        return sorted(p for p in self.path.iterdir() if p.is_dir() and p.name not in _RUN_FILES)


def _is_attempt(path: Path) -> bool:
    return path.name.startswith(n.ATTEMPT_PREFIX) and path.name[len(n.ATTEMPT_PREFIX):].isdigit()


def _holds_results(path: Path) -> bool:
    """A worker's (or shard's) folder: behave's results in it, or attempts that hold them."""
    if (path / n.RECORD).is_file() or (path / n.BEHAVE_JSON).is_file():
        return True
    return any(_is_attempt(p) and p.is_dir() for p in path.iterdir())
