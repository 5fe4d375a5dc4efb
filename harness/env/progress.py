"""Progress while an environment comes up: a live line on a terminal, plain lines in CI."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Progress:
    """Reports which services are ready and which are still waiting."""

    env: str
    stream: TextIO = field(default_factory=lambda: sys.__stderr__ or sys.stderr)  # behave captures sys.stderr
    live: bool | None = None
    _started: float = field(default_factory=time.monotonic)
    _seen_ready: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.live is None:
            self.live = self.stream.isatty() and not os.environ.get("CI")

    def update(self, ready: list[str], waiting: Mapping[str, str]) -> None:
        """Show the current state of the bring-up."""
        elapsed = time.monotonic() - self._started
        if self.live:
            waits = ", ".join(sorted(waiting)) or "-"
            line = f"[{self.env} {elapsed:4.1f}s] ready {len(ready)}/{len(ready) + len(waiting)}; waiting: {waits}"
            self.stream.write("\r\033[K" + line[:200])
            self.stream.flush()
            return
        for name in sorted(set(ready) - self._seen_ready):
            self.stream.write(f"[{self.env} {elapsed:4.1f}s] {name} ready\n")
        self._seen_ready.update(ready)

    def report(self, line: str) -> None:
        """One line about a step of the bring-up (a build, an image copied), prefixed with the environment."""
        self.stream.write(f"[{self.env}] {line}\n")
        self.stream.flush()

    def done(self, message: str) -> None:
        """Finish the progress display with a closing line."""
        prefix = "\r\033[K" if self.live else ""
        self.stream.write(f"{prefix}[{self.env} {time.monotonic() - self._started:4.1f}s] {message}\n")
        self.stream.flush()
