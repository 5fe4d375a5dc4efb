"""Regression: a hive that stalled expired a worker whose heartbeats were waiting, unread, in its sockets.

chaos.registration-storm.feature saw 41 `worker_registered` lines where 40 were right: twenty workers
unpaused at once starved the hive of CPU; when it ran again its sweep came first, called a worker
silent whose beats were queued, then read them and registered it again. Here the hive is frozen
(SIGSTOP) for longer than lost_after x interval while a worker keeps beating: it must not lose it.
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
from pathlib import Path

from tests.services.stack import ROOT, free_port, wait_for
from tests.services.test_hive_restart import queen  # noqa: F401 - the fake queen fixture

INTERVAL = 0.5
LOST_AFTER = 3


def _beat(url: str) -> None:
    body = json.dumps({"worker_id": "w-1", "url": "http://127.0.0.1:9/", "model": "tinyllama", "status": "ready",
                       "active": 0, "slots": 1}).encode()
    request = urllib.request.Request(f"{url}/v1/workers/heartbeat", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def test_a_frozen_hive_does_not_lose_the_worker_that_kept_beating(tmp_path: Path, queen: str) -> None:  # noqa: F811
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HIVE_PORT": str(port), "HIVE_ID": "hive-1", "HIVE_URL": url, "QUEEN_URL": queen,
           "DATA_DIR": str(tmp_path / "hive"), "HEARTBEAT_INTERVAL": str(INTERVAL), "LOST_AFTER": str(LOST_AFTER)}
    log_path = tmp_path / "hive.log"
    with log_path.open("wb") as log:
        hive = subprocess.Popen([sys.executable, "-m", "services.hive"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    stop = threading.Event()

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
        hive.kill()
        hive.wait(timeout=5)
        beating.join(timeout=15)
    text = log_path.read_text()
    assert '"worker_lost"' not in text, text[-3000:]
    assert text.count('"worker_registered"') == 1, text[-3000:]
    assert '"sweep_deferred"' in text
