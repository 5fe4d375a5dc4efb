"""Pause: runc's "unable to freeze" (a busy cgroup on a loaded machine) is tried again; other errors are not."""

from __future__ import annotations

from dataclasses import replace

import docker.errors
import pytest

from harness.errors import FaultError
from harness.faults import Pause, process, waits


class FreezingContainer:
    """``pause()`` fails with the engine's freeze error ``failures`` times, then pauses."""

    name = "hive-1"

    def __init__(self, failures: int, message: str = "OCI runtime pause failed: unable to freeze: unknown") -> None:
        self.failures, self.message, self.calls = failures, message, 0

    def pause(self) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise docker.errors.APIError(f"500 Server Error: Internal Server Error (\"Cannot pause container: "
                                         f"{self.message}\")")


@pytest.fixture(autouse=True)
def no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(process, "FREEZE_RETRY", replace(waits.FREEZE_RETRY, interval=0.0))


def test_a_freeze_that_fails_twice_is_tried_again_and_pauses() -> None:
    container = FreezingContainer(failures=2)
    Pause(container).inject()  # type: ignore[arg-type]
    assert container.calls == 3


def test_a_freeze_that_keeps_failing_is_a_fault_error_after_the_last_attempt() -> None:
    container = FreezingContainer(failures=99)
    with pytest.raises(FaultError, match="pause hive-1 failed: .*unable to freeze"):
        Pause(container).inject()  # type: ignore[arg-type]
    assert container.calls == waits.FREEZE_RETRY.attempts == 5


def test_another_engine_error_is_not_tried_again() -> None:
    container = FreezingContainer(failures=1, message="container is not running")
    with pytest.raises(FaultError, match="container is not running"):
        Pause(container).inject()  # type: ignore[arg-type]
    assert container.calls == 1
