"""Process faults against real containers: kill, crash, stop/start, restart, pause, churn."""

from __future__ import annotations

import time

import pytest
from docker.models.containers import Container
from faultkit import BASE_IMAGE, Trio

from harness.errors import FaultError
from harness.faults import Churn, Crash, FaultStack, Kill, Pause, Restart, Start, Stop, Unpause
from harness.faults.process import stop_grace
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


def test_stop_and_restart_honour_the_containers_own_stop_timeout(trio: Trio) -> None:
    # An app that needs 12 s to drain after SIGTERM and sets a 20 s stop timeout (compose's
    # `stop_grace_period`): the default 10 s would SIGKILL it (exit 137); its own timeout lets it exit 0.
    script = "trap 'sleep 12; exit 0' TERM; touch /tmp/trapped; while :; do sleep 0.2; done"
    created = trio.client.api.create_container(BASE_IMAGE, ["sh", "-c", script], stop_timeout=20,
                                               labels={"harness.test": trio.label})
    drainer = trio.client.containers.get(created["Id"])
    drainer.start()
    try:
        # a SIGTERM before the trap is set is ignored (sh is PID 1) and ends in SIGKILL: wait for the trap
        poll(lambda: drainer.exec_run(["test", "-f", "/tmp/trapped"]).exit_code == 0 or _fail(), timeout=30,
             interval=0.2, retry_on=(AssertionError,))
        fault = Stop(drainer)
        assert fault.grace == 20
        fault.inject()
        drainer.reload()
        assert drainer.attrs["State"]["ExitCode"] == 0, "the stop SIGKILLed an app still inside its stop timeout"
        drainer.start()
        assert Restart(drainer).grace == 20
        assert Stop(drainer, grace=1).grace == 1
    finally:
        drainer.remove(force=True)


def test_stop_grace_defaults_to_the_engines_ten_seconds() -> None:
    class Bare:
        attrs: dict[str, object] = {"Config": {}}
    assert stop_grace(Bare()) == 10  # type: ignore[arg-type]
    Bare.attrs = {"Config": {"StopTimeout": 0}}
    assert stop_grace(Bare()) == 0  # type: ignore[arg-type]


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
