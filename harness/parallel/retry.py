"""`harness run --retries K`: how often a worker re-runs the scenarios that failed.

A retry re-runs behave in the same worker slot on the ``file:line`` locations of its rerun file.
Every attempt stays in the run folder; the analyzer merges them per scenario, so a scenario that
failed and then passed is flaky, never plainly passed (harness.analysis.history.flaky).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import ConfigError


@dataclass(frozen=True)
class RetryPolicy:
    """Up to ``retries`` more attempts for the failed scenarios of a worker."""

    retries: int = 0

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ConfigError(f"--retries {self.retries} is negative", key="--retries",
                              hint="write --retries 0 (no retry) or more")

    def again(self, attempts_so_far: int) -> bool:
        """Whether another attempt may follow ``attempts_so_far`` (the first run counts as one)."""
        return attempts_so_far <= self.retries
