"""How long faults wait: one value (harness.faults.waits.FAULT_WAIT), a user setting, and what a run out wait says."""

from __future__ import annotations

from typing import Any

import pytest

from harness.errors import ConfigError, FaultError
from harness.faults import Kill, Restart
from harness.faults.process import wait_running
from harness.faults.waits import FAULT_WAIT, fault_wait
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
