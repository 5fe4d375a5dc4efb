"""The hive's worker registry in SQLite: heartbeats upsert, silence expires, corruption recovers."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from services.common.logs import EventLog

log = EventLog("services.hive.registry")
SCHEMA = """CREATE TABLE IF NOT EXISTS workers (
    worker_id TEXT PRIMARY KEY, url TEXT NOT NULL, model TEXT NOT NULL, status TEXT NOT NULL,
    active INTEGER NOT NULL, slots INTEGER NOT NULL, last_seen REAL NOT NULL)"""
COLUMNS = "worker_id, url, model, status, active, slots, last_seen"
# A locked database must not stall the event loop for sqlite's default 5 s per call.
BUSY_TIMEOUT = 0.05
# Heartbeats commit on the event loop, several a second: they must not wait on fsync (a busy disk
# stalled every request the hive relayed). The registry is rebuilt from heartbeats after any loss,
# and a killed hive loses nothing (the OS holds the writes), so it never syncs.
SYNCHRONOUS = "OFF"
# A worker listed in the registry file when the hive starts, not heard from since: never scheduled,
# not counted as ready, expired like any silent worker unless its next heartbeat confirms it.
UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True)
class WorkerRecord:
    """One registered worker as last heard of."""

    worker_id: str
    url: str
    model: str
    status: str
    active: int
    slots: int
    last_seen: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


class WorkerRegistry:
    """CRUD over the workers table; ``clock`` is injectable for expiry tests."""

    def __init__(self, conn: sqlite3.Connection, clock: Callable[[], float] = time.time) -> None:
        self._conn, self._clock = conn, clock
        self._conn.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
        self._conn.execute(SCHEMA)
        self._conn.execute(f"SELECT {COLUMNS} FROM workers LIMIT 1").fetchall()
        self._conn.commit()

    def upsert(self, summary: Mapping[str, Any]) -> bool:
        """Record a heartbeat; True when the worker was not registered before."""
        known = self.get(str(summary["worker_id"])) is not None
        self._conn.execute(
            f"INSERT OR REPLACE INTO workers ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                str(summary["worker_id"]),
                str(summary["url"]),
                str(summary["model"]),
                str(summary.get("status", "ready")),
                int(summary.get("active", 0)),
                int(summary.get("slots", 1)),
                self._clock(),
            ),
        )
        self._conn.commit()
        return not known

    def get(self, worker_id: str) -> WorkerRecord | None:
        """One worker, or None."""
        row = self._conn.execute(f"SELECT {COLUMNS} FROM workers WHERE worker_id = ?", (worker_id,)).fetchone()
        return WorkerRecord(*row) if row else None

    def unconfirm(self) -> list[WorkerRecord]:
        """At the hive's start: every listed worker is unconfirmed until it beats, its expiry clock from now."""
        self._conn.execute("UPDATE workers SET status = ?, active = 0, last_seen = ?", (UNCONFIRMED, self._clock()))
        self._conn.commit()
        return self.all()

    def remove(self, worker_id: str) -> bool:
        """Forget a worker; True when it was registered."""
        cursor = self._conn.execute("DELETE FROM workers WHERE worker_id = ?", (worker_id,))
        self._conn.commit()
        return cursor.rowcount > 0

    def all(self) -> list[WorkerRecord]:
        """Every registered worker, by ID."""
        rows = self._conn.execute(f"SELECT {COLUMNS} FROM workers ORDER BY worker_id").fetchall()
        return [WorkerRecord(*row) for row in rows]

    def expire(self, max_age: float) -> list[WorkerRecord]:
        """Remove and return workers not heard from for more than ``max_age`` seconds."""
        cutoff = self._clock() - max_age
        lost = [w for w in self.all() if w.last_seen < cutoff]
        for worker in lost:
            self.remove(worker.worker_id)
        return lost


def open_registry(data_dir: Path, clock: Callable[[], float] = time.time) -> WorkerRegistry:
    """Open ``data_dir/hive-registry.db``; a corrupt or unreadable file is moved aside (one error logged)."""
    path = data_dir / "hive-registry.db"
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        return WorkerRegistry(sqlite3.connect(path, timeout=BUSY_TIMEOUT), clock)
    except (sqlite3.DatabaseError, OSError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
    try:
        os.replace(path, aside)
        registry = WorkerRegistry(sqlite3.connect(path, timeout=BUSY_TIMEOUT), clock)
        action = f"moved aside to {aside}; rebuilding from heartbeats"
    except (sqlite3.DatabaseError, OSError) as exc:
        registry = WorkerRegistry(sqlite3.connect(":memory:"), clock)
        action = f"could not replace it ({exc}); using an in-memory registry rebuilt from heartbeats"
    log.error("registry_unreadable", path=str(path), problem=problem, action=action)
    return registry
