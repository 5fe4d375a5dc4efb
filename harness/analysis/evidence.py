"""What a run folder holds besides results: fault timelines, load runs, failure logs — read into one model.

Times are wall-clock epoch seconds. A timeline event carries ``wall`` when the writer knew it;
otherwise its ``at`` (seconds since the scenario's fault stack started) is placed after the
scenario's recorded start. A load run carries ``started_at``; otherwise its file's mtime minus
its elapsed time stands in (exact for a fresh run, lost by a copy without ``-p``).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.analysis.redact import redact
from harness.runfolder import EnvFolder, LoadRecord, LoadSecond, RunFolder, TimelineEntry, slug


@dataclass(frozen=True, slots=True)
class FaultEvent:
    """One line of a timeline: a fault injected, reverted (or a revert that failed)."""

    scenario: str
    at: float
    action: str
    what: str
    target: str
    env: str
    error: str = ""
    wall: float | None = None


@dataclass(frozen=True, slots=True)
class FaultWindow:
    """A fault from injection to revert; times are wall-clock when known, else ``None``."""

    what: str
    target: str
    env: str
    scenario: str
    start_at: float
    end_at: float | None
    start: float | None = None
    end: float | None = None

    def active(self, t: float) -> bool:
        """True when the fault was in place at wall-clock time ``t``."""
        return self.start is not None and self.start <= t and (self.end is None or t < self.end)


@dataclass(frozen=True, slots=True)
class LoadRun:
    """One saved load run: its summary and per-second timeline."""

    name: str
    env: str
    summary: dict[str, Any]
    seconds: tuple[LoadSecond, ...]
    started: float | None = None

    @property
    def elapsed(self) -> float:
        """Seconds the run took."""
        return float(self.summary.get("elapsed_s") or len(self.seconds))

    @property
    def mode(self) -> str:
        """closed, open, websocket, ..."""
        return str(self.summary.get("mode", ""))

    def at(self, t: float) -> LoadSecond | None:
        """The second of this run covering wall-clock time ``t``, if any."""
        if self.started is None or not self.started <= t <= self.started + self.elapsed + 1:
            return None
        index = int(t - self.started)
        return next((s for s in self.seconds if s.second == index), None)

    def overlaps(self, start: float, end: float) -> bool:
        """True when the run overlaps the wall-clock interval [start, end]."""
        return self.started is not None and self.started <= end and start <= self.started + self.elapsed


@dataclass(frozen=True, slots=True)
class LogLine:
    """One service log line from a failure log (compose's ``service  | timestamp text``)."""

    service: str
    at: float
    text: str

    @property
    def level(self) -> str:
        """The line's level when it says one (JSON ``level`` or a WARNING/ERROR word), else ''."""
        found = _LEVEL.search(self.text)
        return (found.group(1) or found.group(2)).lower() if found else ""

    @property
    def short(self) -> str:
        """A JSON log line as ``level event key=value ...`` (time and service dropped); other text as is."""
        if not self.text.startswith("{"):
            return self.text
        try:
            data = json.loads(self.text)
        except json.JSONDecodeError:
            return self.text
        if not isinstance(data, dict):
            return self.text
        head = " ".join(str(data.pop(k)) for k in ("level", "event") if k in data)
        rest = " ".join(f"{k}={v}" for k, v in data.items() if k not in ("time", "service", "timestamp"))
        return f"{head} {rest}".strip()

    @property
    def event(self) -> str:
        """The JSON log's ``event`` (or the text's start)."""
        found = _EVENT.search(self.text)
        return found.group(1) if found else self.text[:60]


@dataclass(frozen=True, slots=True)
class FailureLog:
    """A failure log file: which step it belongs to and its lines."""

    path: Path
    env: str
    key: str
    lines: tuple[LogLine, ...]


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything of a run folder beside its results."""

    faults: tuple[FaultEvent, ...] = ()
    load: tuple[LoadRun, ...] = ()
    logs: tuple[FailureLog, ...] = ()
    folder: str = ""
    artifacts: tuple[str, ...] = field(default_factory=tuple)

    def __bool__(self) -> bool:
        return bool(self.faults or self.load or self.logs)


_LEVEL = re.compile(r'"level":\s*"(\w+)"|\b(?:level=)?(WARNING|WARN|ERROR|CRITICAL|FATAL)\b')
_EVENT = re.compile(r'"event":\s*"([^"]+)"')
_LOG_LINE = re.compile(r"^(?P<service>[\w.-]+?)(?:-\d+)?\s+\|\s+(?P<ts>\d{4}-\d\d-\d\dT[\d:.]+Z?)\s?(?P<text>.*)$")


def read_evidence(folder: Path) -> Evidence:
    """Read every timeline, load result and failure log of a run folder, each once.

    A split run keeps its workers' timelines and load results gathered in its own environment folders
    (harness.parallel.split): those are read there; failure logs and start-up artifacts stay in the
    workers' folders and are read there.
    """
    run = RunFolder(folder)
    own, every = run.envs(nested=False), run.envs()
    return Evidence(tuple(_faults(own)), tuple(_load_runs(own)), tuple(_logs(every)), str(folder),
                    tuple(sorted(str(p.relative_to(folder)) for e in every for p in _artifacts(e))))


def _faults(envs: Sequence[EnvFolder]) -> list[FaultEvent]:
    return [_fault(entry, env.name) for env in envs for entry in env.read_timeline()]


def _fault(entry: TimelineEntry, env: str) -> FaultEvent:
    return FaultEvent(entry.scenario, entry.at, entry.action, entry.what, entry.target, env, entry.error, entry.wall)


def _load_runs(envs: Sequence[EnvFolder]) -> list[LoadRun]:
    runs = [_load_run(path, env.name, record) for env in envs for path, record in env.read_loads()]
    return sorted(runs, key=lambda r: (r.started or 0.0, r.name))


def _load_run(path: Path, env: str, record: LoadRecord) -> LoadRun:
    started = record.started_at
    if started is None:  # written before load results carried it
        return LoadRun(path.stem, env, dict(record.summary), record.seconds, path.stat().st_mtime - record.elapsed)
    return LoadRun(path.stem, env, {**record.summary, "started_at": started}, record.seconds, started)


STARTUP = "startup"  # the key of an environment's start-up failure log (<env>/logs/compose.log)


def _logs(envs: Sequence[EnvFolder]) -> list[FailureLog]:
    logs = []
    for env in envs:
        for path in env.failure_logs():
            key = path.stem.split("-", 1)[1] if "-" in path.stem else path.stem
            logs.append(FailureLog(path, env.name, key, tuple(parse_log(path.read_text(errors="replace")))))
        startup = env.startup_log
        if startup.is_file():
            logs.append(FailureLog(startup, env.name, STARTUP, tuple(parse_log(startup.read_text(errors="replace")))))
    return logs


def parse_log(text: str) -> Iterable[LogLine]:
    """Compose log lines with timestamps (``docker compose logs -t``); other lines are skipped."""
    for raw in text.splitlines():
        found = _LOG_LINE.match(raw.strip())
        if found is None:
            continue
        at = parse_time(found.group("ts"))
        if at is not None:
            yield LogLine(found.group("service"), at, redact(found.group("text")))


def parse_time(stamp: str) -> float | None:
    """RFC 3339 (nanoseconds allowed) to epoch seconds."""
    stamp = stamp.rstrip("Z")
    head, _, frac = stamp.partition(".")
    try:
        base = _dt.datetime.fromisoformat(head).replace(tzinfo=_dt.UTC).timestamp()
    except ValueError:
        return None
    return base + (float(f"0.{frac}") if frac.isdigit() else 0.0)


def _artifacts(env: EnvFolder) -> list[Path]:
    return [p for d in (env.logs_dir, env.inspect_dir) if d.is_dir() for p in sorted(d.iterdir())]


def windows(events: Iterable[FaultEvent], starts: dict[str, float]) -> list[FaultWindow]:
    """Pair injections with their reverts, per scenario; place them on the wall clock when possible."""
    out: list[FaultWindow] = []
    open_: dict[tuple[str, str, str], FaultEvent] = {}
    for event in sorted(events, key=lambda e: (e.scenario, e.at)):
        key = (event.env, event.scenario, event.what)
        if event.action == "inject":
            open_[key] = event
        elif event.action in ("revert", "revert-failed") and key in open_:
            begin = open_.pop(key)
            out.append(_window(begin, event if event.action == "revert" else None, starts))
    out.extend(_window(begin, None, starts) for begin in open_.values())
    return sorted(out, key=lambda w: (w.scenario, w.start_at))


def _window(begin: FaultEvent, end: FaultEvent | None, starts: dict[str, float]) -> FaultWindow:
    offset = _offset(begin, starts)
    start = begin.wall if begin.wall is not None else (offset + begin.at if offset is not None else None)
    stop: float | None = None
    if end is not None:
        stop = end.wall if end.wall is not None else (offset + end.at if offset is not None else None)
    return FaultWindow(begin.what, begin.target, begin.env, begin.scenario, begin.at,
                       end.at if end is not None else None, start, stop)


def _offset(event: FaultEvent, starts: dict[str, float]) -> float | None:
    return starts.get(event.scenario)


def scenario_label(location: str, name: str) -> str:
    """How the timeline names a scenario: ``file:line: name``."""
    return f"{location}: {name}"


def step_log_key(location: str, name: str) -> str:
    """The slug a failure log of this step is saved under (see ``EnvFolder.failure_log``)."""
    filename, _, line = location.rpartition(":")
    return slug(f"{filename}-{line}-{name}")
