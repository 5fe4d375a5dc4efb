"""The boundary to the Compose v2 CLI: every `docker compose` call goes through ComposeRunner.

Tests pass a fake ``run`` callable (like httpx's MockTransport) so no Docker is needed.
"""

from __future__ import annotations

import logging
import math
import os
import re
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from harness.errors import ComposeError, ComposeTimeout, DockerUnavailable
from harness.waiting import Wait

logger = logging.getLogger(__name__)
ENDPOINT_RACE = "has active endpoints"
DOWN_RETRY = Wait(timeout=math.inf, interval=0.5, backoff=2.0, attempts=3)  # `down` again after 0.5 s, then 1 s

Run = Callable[..., "subprocess.CompletedProcess[str]"]


@dataclass
class ComposeRunner:
    """Runs `docker compose -p PROJECT [--project-directory DIR] [-f FILE] ...`; failures become ComposeError.

    ``project_directory`` is the folder relative paths resolve from (the template's folder, as
    `docker compose` itself resolves them from the compose file's folder); ``env`` is added to
    the environment of every compose process (the values of secret parameters live only there).
    """

    project: str
    files: Sequence[Path] = ()
    timeout: float = 120.0
    project_directory: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    run: Run = field(default=subprocess.run, repr=False)
    popen: Callable[..., subprocess.Popen[bytes]] = field(default=subprocess.Popen, repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    setting: str = "the environment file"
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def argv(self, *args: str) -> list[str]:
        """The full command line for ``args``."""
        cmd = ["docker", "compose", "-p", self.project]
        if self.project_directory is not None:
            cmd += ["--project-directory", str(self.project_directory)]
        for path in self.files:
            cmd += ["-f", str(path)]
        return cmd + list(args)

    def __call__(self, *args: str, timeout: float | None = None, check: bool = True) -> str:
        """Run a compose subcommand and return its stdout."""
        cmd = self.argv(*args)
        logger.debug("compose: %s", " ".join(cmd))
        try:
            done = self.run(cmd, capture_output=True, text=True, timeout=timeout or self.timeout,
                            env=self._environ(), start_new_session=True)  # a terminal's Ctrl-C is ours to handle
        except FileNotFoundError as exc:
            raise DockerUnavailable("the docker CLI is not installed",
                                    hint="run `make setup`, which installs Docker and Compose v2") from exc
        except subprocess.TimeoutExpired as exc:
            logger.error("compose gave no answer within %g s: %s", exc.timeout, " ".join(cmd))
            raise ComposeTimeout(cmd, args[0] if args else "", self.project, exc.timeout, self.setting) from exc
        if check and done.returncode != 0:
            logger.error("compose failed (%s): %s", done.returncode, done.stderr.strip())
            raise ComposeError(cmd, done.returncode, done.stderr, hint=_hint(done.stderr))
        return done.stdout

    def config(self) -> None:
        """Validate the compose files (`docker compose config -q`)."""
        self("config", "-q")

    def up(self, pull: str = "missing") -> None:
        """Create and start every service in the background."""
        self(*self.UP_ARGS, pull)

    UP_ARGS = ("up", "-d", "--no-build", "--remove-orphans", "--pull")

    def spawn_up(self, log: Path, pull: str = "missing") -> Started:
        """Start `up -d` without waiting for it, so readiness polling overlaps container start."""
        cmd = self.argv(*self.UP_ARGS, pull)
        logger.debug("compose (background): %s", " ".join(cmd))
        handle = open(log, "w")  # noqa: SIM115 - closed by Started.result
        try:
            process = self.popen(cmd, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env=self._environ(), start_new_session=True)
        except FileNotFoundError as exc:
            handle.close()
            raise DockerUnavailable("the docker CLI is not installed",
                                    hint="run `make setup`, which installs Docker and Compose v2") from exc
        return Started(cmd, process, handle, log, deadline=self.clock() + self.timeout,
                       timed_out=lambda: ComposeTimeout(cmd, "up", self.project, self.timeout, self.setting),
                       clock=self.clock)

    def down(self, timeout: float) -> None:
        """Stop and remove containers, networks and volumes of the project.

        A busy engine may refuse to remove a network whose containers it has just removed ("has active
        endpoints": its endpoint count lags): `down` is tried again (DOWN_RETRY); any other error at once.
        """
        def race(exc: BaseException) -> bool:
            return isinstance(exc, ComposeError) and ENDPOINT_RACE in str(exc)

        def tell(_exc: BaseException, attempt: int) -> None:
            logger.warning("compose down %s: a network still had endpoints; trying again (%d/%d)", self.project,
                           attempt, DOWN_RETRY.attempts)
        DOWN_RETRY.poll(lambda: self("down", "-v", "--remove-orphans", "-t", str(int(timeout)), timeout=timeout + 60),
                        retry_on=race, notify=tell, sleep=self.sleep)

    def logs(self, *services: str, tail: int | None = None, timestamps: bool = True) -> str:
        """The logs of ``services`` (all when none is given)."""
        args = ["logs", "--no-color"] + (["--timestamps"] if timestamps else [])
        if tail is not None:
            args += ["--tail", str(tail)]
        return self(*args, *services, check=False)

    def _environ(self) -> dict[str, str] | None:
        """The process environment: ours plus ``env`` (None, i.e. inherit, when there is nothing to add)."""
        return {**os.environ, **self.env} if self.env else None


@dataclass
class Started:
    """A compose command running in the background."""

    argv: list[str]
    process: subprocess.Popen[bytes]
    handle: IO[str]
    log: Path
    deadline: float = float("inf")  # on ``clock``: past it, the command is stopped and ``timed_out()`` raised
    timed_out: Callable[[], ComposeError] | None = None
    clock: Callable[[], float] = time.monotonic

    def result(self) -> bool | None:
        """None while running; True when it succeeded; raises ComposeError when it failed or outlived its bound."""
        code = self.process.poll()
        if code is None:
            if self.clock() < self.deadline or self.timed_out is None:
                return None
            self.stop()
            logger.error("compose gave no answer in time: %s", " ".join(self.argv))
            raise self.timed_out()
        self.handle.close()
        if code != 0:
            output = self.log.read_text()
            raise ComposeError(self.argv, code, output, hint=_hint(output))
        return True

    def stop(self) -> None:
        """Interrupt the command (used when start-up is abandoned) and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.handle.close()


def _hint(stderr: str) -> str:
    text = stderr.lower()
    if "cannot connect to the docker daemon" in text or "is the docker daemon running" in text:
        return "no Docker engine answers: start it (`make setup` starts one as root on Debian)"
    if "is not a docker command" in text or "unknown shorthand flag: 'p'" in text:
        return "Compose v2 is missing: `make setup` installs it as a Docker CLI plugin"
    if "pull access denied" in text or "no such image" in text or "failed to resolve reference" in text:
        image = _missing_image(stderr)
        return (f"image {image or '(see above)'} is not on this machine and no registry answers: build it "
                "(give its service a `build:` section and the harness builds it) or `docker load` it, "
                "then run again")
    if ENDPOINT_RACE in text:
        return ("the engine still counts endpoints on a network none of its containers uses (a Docker engine bug, "
                "moby#42119, when it persists): the network is harmless; restarting the Docker engine drops the "
                "stale count, then `harness gc` removes it")
    if "port is already allocated" in text:
        return "a fixed host port collides; let the harness publish ephemeral ports instead"
    return "read compose's message above; the rendered file is in the run folder"


def _missing_image(stderr: str) -> str:
    """The image a pull or lookup failed for, as compose names it."""
    found = re.search(r"pull access denied for ([^\s,]+)|no such image: ([^\s,]+)"
                      r"|failed to resolve reference \"?([^\s\"]+)", stderr, re.IGNORECASE)
    return next((group for group in found.groups() if group), "") if found else ""
