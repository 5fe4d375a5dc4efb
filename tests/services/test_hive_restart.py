"""Regression: a restarted hive told the queen its old workers were ready before they had beaten.

Its registry file still listed the workers it had before it stopped. Its first heartbeat counted them
as ready; then its sweep expired them (their beats had failed while it was down) until they beat
again, and the queen's job in between got HTTP 503 and queued. features/inference.complete_flow
.feature:35 saw the queued event after health.propagation had stopped and restarted both hives.
A worker of the file is unconfirmed until it beats, and expired if it stays silent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
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


@pytest.mark.parametrize("silent_for", [1.0, 3600.0], ids=["just-before-the-restart", "long-ago"])
def test_a_restarted_hive_reports_no_worker_of_its_file_ready_and_expires_the_silent(
        tmp_path: Path, queen: str, silent_for: float) -> None:
    data = tmp_path / "hive"
    registry = open_registry(data, clock=lambda: time.time() - silent_for)
    assert isinstance(registry, WorkerRegistry)
    registry.upsert({"worker_id": "w-old", "url": "http://127.0.0.1:9/", "model": "tinyllama", "status": "ready"})
    port = free_port()
    env = {**os.environ, "HIVE_PORT": str(port), "HIVE_ID": "hive-1", "HIVE_URL": f"http://127.0.0.1:{port}",
           "QUEEN_URL": queen, "DATA_DIR": str(data), "HEARTBEAT_INTERVAL": "0.5", "LOST_AFTER": "3"}
    log = (tmp_path / "hive.log").open("wb")
    hive = subprocess.Popen([sys.executable, "-m", "services.hive"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _Queen.beats and not _Queen.beats[-1]["workers"], what="a heartbeat without w-old")
    finally:
        hive.kill()
        hive.wait(timeout=5)
        log.close()
    statuses = [[w["status"] for w in beat["workers"]] for beat in _Queen.beats]
    assert statuses[0] == ["unconfirmed"], statuses
    assert not any(s in ("ready", "busy") for beat in statuses for s in beat), statuses
    assert '"worker_lost", "worker_id": "w-old"' in (tmp_path / "hive.log").read_text()
