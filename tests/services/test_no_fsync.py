"""Commits on the services' event loops must not wait for the disk.

The queen saves a job several times per request and the hive commits a heartbeat several times a
second, both on the asyncio loop. With SQLite's default (synchronous=FULL) every commit waited on
fsync; on a busy disk (containers starting beside the stack) that stalled every request in flight
by 0.2-0.6 s, and load.latency's p95 bound failed about one run in three. These tests count the
sync calls of 30 commits with strace: a store that syncs per commit makes them at least 30.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMMITS = 30

_QUEEN = """
import sys
from services.queen.jobs import Job, JobStore
store = JobStore(__import__("pathlib").Path(sys.argv[1]) / "queen-jobs.db")
print("opened", flush=True)
for n in range({commits}):
    store.save(Job(tenant="t", sub="s", model="m", prompt="p", max_tokens=1, seed=n, request_id=f"r{{n}}"))
"""

_HIVE = """
import sys
from services.hive.registry import open_registry
registry = open_registry(__import__("pathlib").Path(sys.argv[1]))
print("opened", flush=True)
for n in range({commits}):
    registry.upsert({{"worker_id": f"w{{n % 3}}", "url": "http://w:1", "model": "m", "status": "ready"}})
"""


def _syncs_after_open(script: str, folder: Path) -> int:
    """fsync/fdatasync calls the script makes after it printed "opened" (opening may sync once)."""
    strace = shutil.which("strace")
    assert strace, "strace is missing: run `scripts/setup.sh testtools` (make test does)"
    proc = subprocess.run(
        [strace, "-f", "-e", "trace=fsync,fdatasync,write", "-e", "signal=none",
         sys.executable, "-c", script.format(commits=COMMITS), str(folder)],
        cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    trace = proc.stderr
    opened = trace.find('"opened"')
    assert opened >= 0, f"the script never got past opening its store:\n{trace[-2000:]}"
    return len(re.findall(r"\b(?:fsync|fdatasync)\(", trace[opened:]))


def test_strace_sees_the_syncs_of_sqlites_default(tmp_path: Path) -> None:
    """The counter works: SQLite's default setting syncs on every commit."""
    script = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1] + "/plain.db")
conn.execute("CREATE TABLE t (x)")
conn.commit()
print("opened", flush=True)
for n in range({commits}):
    conn.execute("INSERT INTO t VALUES (?)", (n,))
    conn.commit()
"""
    assert _syncs_after_open(script, tmp_path) >= COMMITS


def test_queen_job_saves_do_not_wait_for_the_disk(tmp_path: Path) -> None:
    assert _syncs_after_open(_QUEEN, tmp_path) < COMMITS // 10


def test_hive_heartbeat_commits_do_not_wait_for_the_disk(tmp_path: Path) -> None:
    assert _syncs_after_open(_HIVE, tmp_path) < COMMITS // 10
