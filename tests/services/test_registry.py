"""The hive's SQLite worker registry: upsert, expiry, corruption recovery."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest

from services.hive.registry import WorkerRegistry, open_registry


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def beat(worker_id: str) -> dict[str, object]:
    return {"worker_id": worker_id, "url": f"http://{worker_id}:8001", "model": "m", "status": "ready"}


def test_heartbeat_registers_once_and_expiry_removes_silent_workers() -> None:
    clock = Clock()
    registry = WorkerRegistry(sqlite3.connect(":memory:"), clock)
    assert registry.upsert(beat("w1")) is True
    assert registry.upsert(beat("w1")) is False
    registry.upsert(beat("w2"))
    clock.now += 2.5
    registry.upsert(beat("w2"))
    clock.now += 1.0
    assert [w.worker_id for w in registry.expire(3.0)] == ["w1"]
    assert [w.worker_id for w in registry.all()] == ["w2"]
    assert registry.upsert(beat("w1")) is True  # a returning worker re-joins


def test_registry_survives_reopen(tmp_path: Path) -> None:
    open_registry(tmp_path).upsert(beat("w1"))
    assert [w.worker_id for w in open_registry(tmp_path).all()] == ["w1"]


def test_corrupt_registry_is_moved_aside_with_one_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "hive-registry.db").write_bytes(b"this is not sqlite" * 100)
    with caplog.at_level(logging.ERROR):
        registry = open_registry(tmp_path)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == ["registry_unreadable"]
    assert "moved aside" in json.dumps(errors[0].fields)  # type: ignore[attr-defined]
    assert list(tmp_path.glob("hive-registry.db.corrupt-*"))
    assert registry.upsert(beat("w1")) is True
