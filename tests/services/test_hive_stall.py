"""Regression: a hive that stalled expired a worker whose heartbeats were waiting, unread, in its sockets.

chaos.registration-storm.feature saw 41 `worker_registered` lines where 40 were right: twenty workers
unpaused at once starved the hive of CPU; when it ran again its sweep came first, called a worker
silent whose beats were queued, then read them and registered it again. Here the hive is frozen
(SIGSTOP) for longer than lost_after x interval while a worker keeps beating: it must not lose it.
Nor a worker whose beat was answered just as the hive froze, and who beats again an interval after
the answer (a sweep one interval after the stall raced that beat: one CI run lost the worker).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.services.stack import ROOT, free_port, wait_for
from tests.services.test_hive_restart import queen  # noqa: F401 - the fake queen fixture

INTERVAL = 0.5
LOST_AFTER = 3


def _beat(url: str, worker_id: str = "w-1") -> None:
    body = json.dumps({"worker_id": worker_id, "url": "http://127.0.0.1:9/", "model": "tinyllama", "status": "ready",
                       "active": 0, "slots": 1}).encode()
    request = urllib.request.Request(f"{url}/v1/workers/heartbeat", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


@contextmanager
def _hive(tmp_path: Path, queen_url: str) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """A hive on a free port (heartbeat INTERVAL, LOST_AFTER beats); yields its URL, process and log file."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HIVE_PORT": str(port), "HIVE_ID": "hive-1", "HIVE_URL": url, "QUEEN_URL": queen_url,
           "DATA_DIR": str(tmp_path / "hive"), "HEARTBEAT_INTERVAL": str(INTERVAL), "LOST_AFTER": str(LOST_AFTER)}
    log_path = tmp_path / "hive.log"
    with log_path.open("wb") as log:
        hive = subprocess.Popen([sys.executable, "-m", "services.hive"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        yield url, hive, log_path
    finally:
        hive.kill()
        hive.wait(timeout=5)


def test_a_frozen_hive_does_not_lose_the_worker_that_kept_beating(tmp_path: Path, queen: str) -> None:  # noqa: F811
    stop = threading.Event()
    with _hive(tmp_path, queen) as (url, hive, log_path):

        def worker() -> None:
            while not stop.is_set():
                try:
                    _beat(url)
                except OSError:
                    pass
                stop.wait(INTERVAL)

        beating = threading.Thread(target=worker, daemon=True)
        beating.start()
        try:
            wait_for(lambda: "worker_registered" in log_path.read_text(), what="the worker registered")
            time.sleep(2 * INTERVAL)
            hive.send_signal(signal.SIGSTOP)  # the hive stalls; the worker's next beat waits in its socket
            time.sleep(LOST_AFTER * INTERVAL + 1.0)
            hive.send_signal(signal.SIGCONT)
            time.sleep(4 * INTERVAL)
        finally:
            stop.set()
            beating.join(timeout=15)
    text = log_path.read_text()
    assert '"worker_lost"' not in text, text[-3000:]
    assert text.count('"worker_registered"') == 1, text[-3000:]
    assert '"sweep_deferred"' in text


def test_after_a_stall_workers_get_lost_after_intervals_to_beat_and_the_silent_one_is_still_lost(
        tmp_path: Path, queen: str) -> None:  # noqa: F811
    with _hive(tmp_path, queen) as (url, hive, log_path):
        wait_for(lambda: '"listening"' in log_path.read_text(), what="the hive listening")
        _beat(url, "w-answered")
        _beat(url, "w-silent")
        hive.send_signal(signal.SIGSTOP)  # both beats answered, then the hive freezes: nothing waits in its sockets
        time.sleep(LOST_AFTER * INTERVAL + 1.0)
        hive.send_signal(signal.SIGCONT)
        resumed = time.monotonic()
        wait_for(lambda: "sweep_deferred" in log_path.read_text(), what="the hive noticed its stall")
        # w-answered beats again well inside lost_after intervals of the resume, and keeps beating
        while time.monotonic() < resumed + (LOST_AFTER + 3) * INTERVAL:
            if time.monotonic() >= resumed + 1.5 * INTERVAL:
                _beat(url, "w-answered")
            time.sleep(INTERVAL / 2)
        wait_for(lambda: '"worker_lost", "worker_id": "w-silent"' in log_path.read_text(), what="w-silent lost")
    text = log_path.read_text()
    lost = [json.loads(line) for line in text.splitlines() if '"worker_lost"' in line]
    assert [entry["worker_id"] for entry in lost] == ["w-silent"], text[-3000:]
