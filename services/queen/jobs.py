"""Jobs and their SQLite store: a restart keeps finished results and re-queues unfinished ones."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

UNFINISHED = ("queued", "running")


@dataclass
class Job:
    """One inference job, from acceptance to its outcome."""

    tenant: str
    sub: str
    model: str
    prompt: str
    max_tokens: int
    seed: int
    request_id: str
    job_id: str = field(default_factory=lambda: "job-" + uuid.uuid4().hex[:16])
    state: str = "queued"
    text: str = ""
    tokens: int = 0
    worker_id: str | None = None
    hive_id: str | None = None
    reason: str | None = None
    usage: dict[str, Any] | None = None
    attempts: int = 0
    created: float = field(default_factory=time.time)
    finished: float | None = None

    def public(self) -> dict[str, Any]:
        """What its tenant may see."""
        view = asdict(self)
        view.pop("tenant")
        view.pop("sub")
        return view


_COLUMNS = [f.name for f in fields(Job)]
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS jobs ("
    + ", ".join(f"{name} {'TEXT PRIMARY KEY' if name == 'job_id' else ''}" for name in _COLUMNS)
    + ")"
)


class JobStore:
    """Persist jobs in ``data_dir/queen-jobs.db`` (or ``:memory:``)."""

    def __init__(self, path: Path | str) -> None:
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # Commits run on the event loop: with WAL, NORMAL syncs only at checkpoints, not on every save
        # (FULL waited on fsync per save, stalling every request by up to 0.3 s when the disk was busy).
        # A killed queen loses nothing (the OS holds the writes); only a power loss may drop the last saves.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(_SCHEMA)
        self._conn.commit()

    def save(self, job: Job) -> None:
        """Insert or update the job."""
        values = [json.dumps(v) if isinstance(v, dict) else v for v in (getattr(job, c) for c in _COLUMNS)]
        self._conn.execute(
            f"INSERT OR REPLACE INTO jobs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
            values,
        )
        self._conn.commit()

    def get(self, job_id: str) -> Job | None:
        """One job, or None."""
        row = self._conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def for_tenant(self, tenant: str, limit: int = 100) -> list[Job]:
        """A tenant's most recent jobs, newest first."""
        rows = self._conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE tenant = ? ORDER BY created DESC LIMIT ?",
            (tenant, limit),
        ).fetchall()
        return [_job(row) for row in rows]

    def unfinished(self) -> list[Job]:
        """Jobs a previous run accepted but did not finish, oldest first."""
        rows = self._conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE state IN (?, ?) ORDER BY created", UNFINISHED
        ).fetchall()
        return [_job(row) for row in rows]


def _job(row: tuple[Any, ...]) -> Job:
    values = dict(zip(_COLUMNS, row, strict=False))
    values["usage"] = json.loads(values["usage"]) if values["usage"] else None
    return Job(**values)
