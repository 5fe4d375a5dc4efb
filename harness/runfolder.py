"""The layout of a run folder, in one place: writers and the analyzer go through ``RunFolder``.

    .harness/runs/<run-id>/          RunFolder
        record.ndjson behave.json rerun.txt behave.log workers.json junit/*.xml
        w1/ w2/ serial/              worker folders (RunFolders of their own)
        <env>/                       EnvFolder, one per environment brought up
            compose.yaml compose.rendered.yaml compose-up.log watchdog.log
            timeline.ndjson          fault events, one JSON object a line
            load/NNN-<mode>.json     one load run's summary and per-second timeline
            failures/NNN-<slug>.log  every service's last log lines at a failing step
            logs/ inspect/           start-up failure artifacts
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

RUNS_DIR = Path(".harness") / "runs"  # relative to the project root (Settings.runs_dir is the absolute one)
RECORD = "record.ndjson"
BEHAVE_JSON = "behave.json"
RERUN = "rerun.txt"
BEHAVE_LOG = "behave.log"
WORKERS = "workers.json"
JUNIT = "junit"
STARTUP = "startup.json"
TIMELINE = "timeline.ndjson"
_RUN_FILES = frozenset({RECORD, BEHAVE_JSON, RERUN, BEHAVE_LOG, WORKERS})


def slug(label: str) -> str:
    """A file-name-safe form of a label: lower case, non-alphanumerics as '-', at most 80 characters."""
    return "".join(ch if ch.isalnum() else "-" for ch in label.lower()).strip("-")[:80]


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
        return self.path / "compose.yaml"

    @property
    def rendered(self) -> Path:
        """`docker compose config`."""
        return self.path / "compose.rendered.yaml"

    @property
    def compose_up_log(self) -> Path:
        """Output of compose up."""
        return self.path / "compose-up.log"

    @property
    def watchdog_log(self) -> Path:
        """The watchdog's output."""
        return self.path / "watchdog.log"

    @property
    def startup(self) -> Path:
        """How long the bring-up took (JSON: environment, seconds, services); plans later parallel runs."""
        return self.path / STARTUP

    @property
    def timeline(self) -> Path:
        """Fault events (NDJSON)."""
        return self.path / TIMELINE

    @property
    def load_dir(self) -> Path:
        """Load run summaries."""
        return self.path / "load"

    @property
    def failures_dir(self) -> Path:
        """Service logs saved at failing steps."""
        return self.path / "failures"

    @property
    def logs_dir(self) -> Path:
        """Compose logs saved at a start-up failure."""
        return self.path / "logs"

    @property
    def inspect_dir(self) -> Path:
        """`docker inspect` at a start-up failure."""
        return self.path / "inspect"

    def load_result(self, number: int, mode: str) -> Path:
        """Where the NUMBERth load run of MODE is saved."""
        return self.load_dir / f"{number:03d}-{mode}.json"

    def load_results(self) -> list[Path]:
        """Every saved load run, in name order."""
        return sorted(self.load_dir.glob("*.json")) if self.load_dir.is_dir() else []

    def failure_logs(self) -> list[Path]:
        """Every failure log, in name (= save) order."""
        return sorted(self.failures_dir.glob("*.log")) if self.failures_dir.is_dir() else []

    def failure_log(self, label: str) -> Path:
        """The next failure log's path for a failing statement ``label`` (numbered, slugged)."""
        existing = len(list(self.failures_dir.iterdir())) if self.failures_dir.is_dir() else 0
        return self.failures_dir / f"{existing + 1:03d}-{slug(label)}.log"


@dataclass(frozen=True, slots=True)
class RunFolder:
    """A run's folder (also a worker's or a shard's): result files and one EnvFolder per environment."""

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
        return self.path / RECORD

    @property
    def behave_json(self) -> Path:
        """Behave's JSON."""
        return self.path / BEHAVE_JSON

    @property
    def rerun(self) -> Path:
        """Behave's rerun file."""
        return self.path / RERUN

    @property
    def behave_log(self) -> Path:
        """Behave's console output."""
        return self.path / BEHAVE_LOG

    @property
    def workers_json(self) -> Path:
        """The parallel run's summary."""
        return self.path / WORKERS

    @property
    def junit_dir(self) -> Path:
        """Behave's JUnit files."""
        return self.path / JUNIT

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

    def workers(self) -> list[RunFolder]:
        """Worker folders: subfolders holding a run record or behave JSON."""
        return [RunFolder(p) for p in self._subfolders()
                if (p / RECORD).is_file() or (p / BEHAVE_JSON).is_file()]

    def envs(self, *, nested: bool = True) -> list[EnvFolder]:
        """Environment folders (and, with ``nested``, those of the workers), in name order."""
        found = [EnvFolder(p) for p in self._subfolders()
                 if not (p / RECORD).is_file() and not (p / BEHAVE_JSON).is_file() and p.name != JUNIT]
        if nested:
            for worker in self.workers():
                found.extend(worker.envs(nested=False))
        return found

    def timelines(self) -> Iterator[tuple[EnvFolder, Path]]:
        """Every environment's fault timeline file that exists."""
        for env in self.envs():
            if env.timeline.is_file():
                yield env, env.timeline

    def _subfolders(self) -> list[Path]:
        if not self.path.is_dir():
            return []
        return sorted(p for p in self.path.iterdir() if p.is_dir() and p.name not in _RUN_FILES)
