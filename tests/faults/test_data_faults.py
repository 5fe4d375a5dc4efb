"""Data faults in Docker: a corrupted file (container restarted) and a SQLite database held locked."""

from __future__ import annotations

import pytest
from faultkit import Trio

from harness.errors import FaultError
from harness.faults import CorruptFile, FaultStack, SqliteLock

pytestmark = pytest.mark.docker

TRY_WRITE = """
import sqlite3, sys
try:
    sqlite3.connect("/data/x.db", timeout=0.2).execute("INSERT INTO t VALUES (1)").connection.commit()
    print("ok")
except sqlite3.Error as exc:
    print(type(exc).__name__, exc)
"""


def _sh(container, script: str) -> str:  # type: ignore[no-untyped-def]
    return container.exec_run(["sh", "-c", script]).output.decode().strip()


def test_corrupt_file_overwrites_it_and_restarts_the_container(trio: Trio) -> None:
    _sh(trio.a, "echo good > /tmp/state")
    started = trio.a.attrs["State"]["StartedAt"]
    with FaultStack() as stack:
        stack.inject(CorruptFile(trio.a, "/tmp/state", data=b"garbage"))
        trio.a.reload()
        assert trio.a.attrs["State"]["Running"] and trio.a.attrs["State"]["StartedAt"] != started
        assert _sh(trio.a, "cat /tmp/state") == "garbage"


def test_corrupt_file_needs_an_absolute_path(trio: Trio) -> None:
    with pytest.raises(FaultError, match="absolute"):
        CorruptFile(trio.a, "data/x.db")


def test_sqlite_lock_blocks_writers_until_released(trio: Trio) -> None:
    trio.b.exec_run(["python3", "-c", "import sqlite3; c = sqlite3.connect('/data/x.db'); "
                     "c.execute('CREATE TABLE t (v)'); c.commit()"])
    write = ["python3", "-c", TRY_WRITE]
    stack = FaultStack()
    lock = stack.inject(SqliteLock(trio.b, "/data/x.db"))
    assert "database is locked" in trio.b.exec_run(write).output.decode()
    stack.revert(lock)
    assert trio.b.exec_run(write).output.decode().strip() == "ok"
    assert "BEGIN EXCLUSIVE" not in str(trio.b.top(ps_args="-eo pid,args")["Processes"])
