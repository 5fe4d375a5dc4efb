"""Crash: a `kill` exec that dies with the container it emptied (137) is the fault succeeding."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from harness.errors import FaultError
from harness.faults import Crash
from harness.waiting import Wait


class FakeContainer:
    """Answers the two execs of Crash (list the app pids, kill them) and reloads into ``after``."""

    name = "svc-1"

    def __init__(self, kill_exit: int, after: dict[str, Any]) -> None:
        self.kill_exit, self.after = kill_exit, after
        self.attrs: dict[str, Any] = {"RestartCount": 0, "State": {"Running": True, "StartedAt": "t0"}}
        self.killed = False

    def exec_run(self, argv: list[str]) -> Any:
        if argv[-1].startswith("kill"):
            self.killed = True
            return SimpleNamespace(exit_code=self.kill_exit, output=b"")
        return SimpleNamespace(exit_code=0, output=b"7\ndocker-init\n")

    def reload(self) -> None:
        if self.killed:
            self.attrs = {"RestartCount": 0, "State": self.after}


def test_a_137_from_the_kill_exec_of_a_container_that_stopped_is_success() -> None:
    Crash(FakeContainer(137, {"Running": False, "StartedAt": "t0"}))._act()  # type: ignore[arg-type]


def test_a_137_while_a_restart_policy_already_restarted_the_app_is_success() -> None:
    Crash(FakeContainer(137, {"Running": True, "StartedAt": "t1"}))._act()  # type: ignore[arg-type]


def test_a_failed_kill_on_a_container_still_running_as_before_is_an_error() -> None:
    with pytest.raises(FaultError, match=r"`kill -KILL 7` in svc-1 exited 1"):
        Crash(FakeContainer(1, {"Running": True, "StartedAt": "t0"}))._act()  # type: ignore[arg-type]


class LaggingContainer(FakeContainer):
    """The engine shows the kill only on the third reload after it (a loaded machine)."""

    def __init__(self, kill_exit: int, after: dict[str, Any]) -> None:
        super().__init__(kill_exit, after)
        self.reloads_after_kill = 0

    def reload(self) -> None:
        if self.killed:
            self.reloads_after_kill += 1
            if self.reloads_after_kill >= 3:
                super().reload()


def test_a_137_the_engine_shows_only_a_moment_later_is_success() -> None:
    container = LaggingContainer(137, {"Running": False, "StartedAt": "t0"})
    Crash(container, wait=Wait(timeout=5, interval=0.01))._act()  # type: ignore[arg-type]
    assert container.reloads_after_kill >= 3


def test_a_137_from_a_container_that_keeps_running_as_before_is_an_error_after_the_wait() -> None:
    container = FakeContainer(137, {"Running": True, "StartedAt": "t0"})
    with pytest.raises(FaultError, match=r"`kill -KILL 7` in svc-1 exited 137"):
        Crash(container, wait=Wait(timeout=0.2, interval=0.01))._act()  # type: ignore[arg-type]
