"""How long faults wait: one value (harness.faults.waits.FAULT_WAIT), a user setting, and what a run out wait says."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from harness.errors import ConfigError, FaultError
from harness.faults import Kill, Restart
from harness.faults.process import wait_running
from harness.faults.waits import FAULT_WAIT, fault_wait
from harness.stepdefs import fault_steps
from harness.waiting import Wait


class RestartingContainer:
    """Never runs: its state says restarting every time it is reloaded; counts the looks."""

    name = "hive-1"

    def __init__(self) -> None:
        self.attrs: dict[str, Any] = {"State": {"Running": True, "Restarting": True, "Status": "restarting"}}
        self.reloads = 0

    def reload(self) -> None:
        self.reloads += 1


def test_faults_wait_thirty_seconds_unless_the_user_says_otherwise() -> None:
    assert FAULT_WAIT.timeout == 30.0 and Kill(RestartingContainer()).wait is FAULT_WAIT  # type: ignore[arg-type]
    assert fault_wait({}, {}) is FAULT_WAIT
    assert fault_wait({"fault_timeout": "90"}, {}) == FAULT_WAIT.with_timeout(90)
    assert fault_wait({}, {"HARNESS_FAULT_TIMEOUT": "5"}).timeout == 5
    assert fault_wait({"fault_timeout": "7"}, {"HARNESS_FAULT_TIMEOUT": "5"}).timeout == 7


def test_a_fault_timeout_that_is_no_number_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match="fault_timeout='soon' is not a number of seconds"):
        fault_wait({"fault_timeout": "soon"}, {})


def test_a_container_that_never_runs_again_is_a_fault_error_with_its_status_and_the_setting() -> None:
    container = RestartingContainer()
    with pytest.raises(FaultError) as failed:
        wait_running(container, Wait(0.05, 0.01))  # type: ignore[arg-type]
    assert "hive-1 is not running after 0.05 s (status restarting)" in str(failed.value)
    assert "fault_timeout" in failed.value.hint and container.reloads >= 2


def test_the_wait_given_to_a_fault_is_the_one_its_revert_uses() -> None:
    container = RestartingContainer()
    container.attrs["State"]["Restarting"] = False
    Restart(container, grace=1, wait=Wait(0.05, 0.01)).revert()  # type: ignore[arg-type]
    with pytest.raises(FaultError, match="after 0.02 s"):
        container.attrs["State"]["Restarting"] = True
        Restart(container, grace=1, wait=Wait(0.02, 0.01)).revert()  # type: ignore[arg-type]


class FakeEnv:
    """One service, one container; nothing to refresh."""

    def __init__(self, container: Any) -> None:
        self.services, self.container = {"hive-1": None}, container

    def containers(self, _name: str) -> list[Any]:
        return [self.container]

    def refresh(self) -> None:
        pass


class FakeStack:
    """Records what the steps inject (nothing acts)."""

    def __init__(self) -> None:
        self.injected: list[Any] = []

    def inject(self, fault: Any) -> Any:
        self.injected.append(fault)
        return fault


@pytest.mark.parametrize("userdata,timeout", [({}, 30.0), ({"fault_timeout": "90"}, 90.0)])
def test_the_fault_steps_hand_the_users_fault_timeout_to_every_fault(userdata: dict[str, str], timeout: float) -> None:
    stack = FakeStack()
    context = SimpleNamespace(harness=SimpleNamespace(env=FakeEnv(RestartingContainer()), faults=stack,
                                                      userdata=userdata, interpolate=lambda text: text))
    for step in (fault_steps.step_kill, fault_steps.step_stop, fault_steps.step_restart, fault_steps.step_pause,
                 fault_steps.step_crash):
        step(context, "hive-1")
    fault_steps.step_churn(context, "hive-1", 2, 10)
    assert len(stack.injected) == 6 and {fault.wait.timeout for fault in stack.injected} == {timeout}
