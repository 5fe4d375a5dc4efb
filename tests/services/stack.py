"""Start queen, hive and workers as real subprocesses on 127.0.0.1 (free ports) for loopback tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from services.common.auth import mint

ROOT = Path(__file__).resolve().parents[2]
SECRET = "loopback-secret-that-is-long-enough-for-hs256"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], T | None], timeout: float = 10.0, what: str = "condition") -> T:
    """Poll ``check`` every 50 ms until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except httpx.HTTPError as exc:
            last = exc
        else:
            if result:
                return result
            last = result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last observed: {last!r}")


class Stack:
    """A queen, one hive and N workers; every process is stopped on close."""

    def __init__(self, tmp: Path, **overrides: str) -> None:
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.queen_port, self.hive_port = free_port(), free_port()
        self.queen = f"http://127.0.0.1:{self.queen_port}"
        self.hive = f"http://127.0.0.1:{self.hive_port}"
        self.common = {
            "HEARTBEAT_INTERVAL": "0.1",
            "JWT_SECRET": SECRET,
            "TOKEN_RATE": "200",
            "MODEL_LOAD_SECONDS": "0.05",
            "MODEL_MEMORY_MB": "1",
            "GRACE_SECONDS": "5",
            **overrides,
        }
        self.token = mint(SECRET, "alice", "acme")
        self.admin = mint(SECRET, "root", "acme", admin=True)

    def start(self, name: str, module: str, **env: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.common, **env},
        )
        self.procs[name] = proc
        return proc

    def start_queen(self) -> None:
        self.start("queen", "services.queen", QUEEN_PORT=str(self.queen_port), DATA_DIR=str(self.tmp / "queen"))

    def start_hive(self) -> None:
        self.start(
            "hive",
            "services.hive",
            HIVE_PORT=str(self.hive_port),
            HIVE_ID="hive-1",
            HIVE_URL=self.hive,
            QUEEN_URL=self.queen,
            DATA_DIR=str(self.tmp / "hive"),
            EVENT_TIMEOUT="2",
        )

    def start_worker(self, worker_id: str) -> None:
        port = free_port()
        self.start(
            worker_id,
            "services.worker",
            WORKER_PORT=str(port),
            WORKER_ID=worker_id,
            WORKER_URL=f"http://127.0.0.1:{port}",
            HIVE_URL=self.hive,
        )

    def up(self, workers: int = 2) -> Stack:
        self.start_queen()
        self.start_hive()
        for i in range(1, workers + 1):
            self.start_worker(f"w{i}")
        wait_for(lambda: len(self.ready_workers()) == workers, what=f"{workers} ready workers via the queen")
        return self

    def headers(self, admin: bool = False, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin if admin else self.token}", **extra}

    def workers(self) -> list[dict[str, Any]]:
        resp = httpx.get(f"{self.queen}/v1/workers", headers=self.headers(), timeout=2)
        return list(resp.json()["workers"])

    def ready_workers(self) -> list[str]:
        return sorted(w["worker_id"] for w in self.workers() if w["state"] == "ready")

    def logs(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text()

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        for proc in self.procs.values():
            proc.wait(timeout=5)
