"""Process faults against real containers: kill, crash, stop/start, restart, pause, churn."""

from __future__ import annotations

import time

import pytest
from docker.models.containers import Container
from faultkit import BASE_IMAGE, Trio

from harness.errors import FaultError
from harness.faults import Churn, Crash, FaultStack, Kill, Pause, Restart, Start, Stop, Unpause
from harness.waiting import poll

pytestmark = pytest.mark.docker


def status(container: Container) -> str:
    container.reload()
    return str(container.status)


def test_kill_stops_the_container_and_revert_starts_it(trio: Trio) -> None:
    with FaultStack() as stack:
        stack.inject(Kill(trio.b))
        assert status(trio.b) == "exited"
        time.sleep(0.5)
        assert status(trio.b) == "exited"  # docker kill: the restart policy does not apply
    assert status(trio.b) == "running"
    poll(lambda: trio.probe(trio.a, "b") == "ok" or _fail(), timeout=10, interval=0.3,
         retry_on=(AssertionError,))


def _fail() -> None:
    raise AssertionError("not yet")


def test_crash_kills_the_app_and_the_restart_policy_brings_it_back(trio: Trio) -> None:
    before = int(trio.b.attrs["RestartCount"])
    with FaultStack() as stack:
        stack.inject(Crash(trio.b))

        def restarted() -> None:
            trio.b.reload()
            assert int(trio.b.attrs["RestartCount"]) == before + 1
        poll(restarted, timeout=10, interval=0.2, retry_on=(AssertionError,))
    assert status(trio.b) == "running"


def test_crash_without_init_is_a_fault_error_with_a_hint(trio: Trio) -> None:
    plain = trio.client.containers.run(BASE_IMAGE, ["sleep", "60"], detach=True,
                                       labels={"harness.test": trio.label})
    try:
        with pytest.raises(FaultError, match="not docker-init") as info:
            Crash(plain).inject()
        assert "init: true" in str(info.value)
    finally:
        plain.remove(force=True)


def test_stop_then_start_and_revert_leaves_it_running(trio: Trio) -> None:
    with FaultStack() as stack:
        stack.inject(Stop(trio.c, grace=1))
        assert status(trio.c) == "exited"
        stack.inject(Start(trio.c))
        assert status(trio.c) == "running"
        stack.inject(Stop(trio.c, grace=1))
    assert status(trio.c) == "running"


def test_restart_changes_the_start_time(trio: Trio) -> None:
    started = trio.c.attrs["State"]["StartedAt"]
    with FaultStack() as stack:
        stack.inject(Restart(trio.c, grace=1))
    trio.c.reload()
    assert trio.c.attrs["State"]["StartedAt"] != started
    assert status(trio.c) == "running"


def test_pause_freezes_and_revert_unpauses(trio: Trio) -> None:
    with FaultStack() as stack:
        stack.inject(Pause(trio.b))
        assert status(trio.b) == "paused"
        assert trio.probe(trio.a, trio.b) == "TimeoutError"  # connects (kernel) but never echoes
    assert status(trio.b) == "running"
    assert trio.probe(trio.a, trio.b) == "ok"
    Pause(trio.b).inject()
    Unpause(trio.b).inject()
    assert status(trio.b) == "running"


def test_churn_kills_and_restarts_then_stops_and_leaves_all_running(trio: Trio) -> None:
    churn = Churn([trio.b, trio.c], interval=0.3, duration=30, down_time=0.2, seed=7)
    with FaultStack() as stack:
        stack.inject(churn)
        poll(lambda: None if len(churn.events) >= 4 else _fail(), timeout=15, interval=0.2,
             retry_on=(AssertionError,))
    assert not churn.running
    assert {action for _, action, _ in churn.events} == {"kill", "start"}
    assert status(trio.b) == "running" and status(trio.c) == "running"
    count = len(churn.events)
    time.sleep(0.6)
    assert len(churn.events) == count  # the thread really stopped
