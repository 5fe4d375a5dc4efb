"""Regression: a hive started again after a while told the queen its old workers were ready.

Its registry file still listed the workers it had before it stopped; the first heartbeat went out
before the first expiry sweep, so the queen dispatched to a hive with no live worker (HTTP 503, the
job queued) until the next heartbeat. features/inference.complete_flow.feature:35 saw the queued
event after health.propagation had stopped and restarted both hives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from services.hive.registry import WorkerRegistry, open_registry
from tests.services.stack import ROOT, free_port, wait_for


class _Queen(BaseHTTPRequestHandler):
    beats: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - the handler's API
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.beats.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def queen() -> Iterator[str]:
    _Queen.beats = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Queen)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_hive_started_with_silent_workers_in_its_registry_never_reports_them(tmp_path: Path, queen: str) -> None:
    data = tmp_path / "hive"
    registry = open_registry(data, clock=lambda: 1_000.0)  # heard from long ago
    assert isinstance(registry, WorkerRegistry)
    registry.upsert({"worker_id": "w-old", "url": "http://127.0.0.1:9/", "model": "tinyllama", "status": "ready"})
    port = free_port()
    env = {**os.environ, "HIVE_PORT": str(port), "HIVE_ID": "hive-1", "HIVE_URL": f"http://127.0.0.1:{port}",
           "QUEEN_URL": queen, "DATA_DIR": str(data), "HEARTBEAT_INTERVAL": "0.5", "LOST_AFTER": "3"}
    log = (tmp_path / "hive.log").open("wb")
    hive = subprocess.Popen([sys.executable, "-m", "services.hive"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: len(_Queen.beats) >= 2, what="two heartbeats at the queen")
    finally:
        hive.kill()
        hive.wait(timeout=5)
        log.close()
    assert [[w["worker_id"] for w in beat["workers"]] for beat in _Queen.beats[:2]] == [[], []]
    assert '"worker_lost", "worker_id": "w-old"' in (tmp_path / "hive.log").read_text()
