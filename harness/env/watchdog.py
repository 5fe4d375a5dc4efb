"""Takes a compose project down when the process that owns it dies (even by SIGKILL).

Spawned in its own session by `Environment.start` through ``Watchdog.start``; stopped with SIGTERM by
a normal `down` (``Watchdog.stop``).
It reaches its owner's engine, also a remote one: the owner passes ``Engine.environ()``
(``DOCKER_HOST`` or ``DOCKER_CONTEXT``) in its environment, and `docker compose` reads it.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from harness.waiting import Wait

logger = logging.getLogger(__name__)


def owner_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists (zombies count as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


class Watchdog:
    """The watchdog process of one environment: spawned beside its owner, stopped by a normal `down`."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, owner: int, project: str, log: Path, environ: Mapping[str, str]) -> None:
        """Spawn the watchdog in its own session (output appended to ``log``); ``environ`` pins its engine."""
        with open(log, "ab") as out:  # the child holds its own copy of the descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "harness.env.watchdog", "--owner", str(owner), "--project", project],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
                env={**os.environ, **environ})

    def stop(self) -> None:
        """Stop the watchdog (SIGTERM) if it still runs; safe to call twice."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)
        self.process = None


def main(argv: list[str]) -> int:
    """Wait for the owner to die, then `docker compose -p PROJECT down -v --remove-orphans`."""
    parser = argparse.ArgumentParser(prog="harness watchdog")
    parser.add_argument("--owner", type=int, required=True, help="the pid whose end takes the project down")
    parser.add_argument("--project", required=True, help="the compose project to take down")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between checks (default 0.5)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole terminal group
    Wait(timeout=math.inf, interval=args.interval).until(lambda: not owner_alive(args.owner),
                                                          what=f"owner {args.owner} to exit")
    print(f"owner {args.owner} is gone: taking {args.project} down", flush=True)
    done = subprocess.run(["docker", "compose", "-p", args.project, "down", "-v", "--remove-orphans",
                           "-t", "5"], capture_output=True, text=True)
    print(done.stdout + done.stderr, flush=True)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
