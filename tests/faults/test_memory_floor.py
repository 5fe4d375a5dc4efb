"""A sweep's memory cell on cgroup v1: the engine refuses a limit below the memory a container uses and cannot
reclaim; the sweep's squeeze then sets the limit to that usage (no headroom) instead of failing, and says so."""

from __future__ import annotations

from typing import Any

import docker.errors
import pytest

from harness.errors import FaultError
from harness.faults.resources import MemoryLimit, usage_above_limit

REFUSAL = ('Cannot update container 50a0: runc did not terminate successfully: exit status 1: unable to set memory '
           'limit to 33554432 (current usage: 39198720, peak usage: 60600320)')


class FakeContainer:
    name = "worker-1"

    def __init__(self) -> None:
        self.attrs: dict[str, Any] = {"HostConfig": {"Memory": 0, "MemorySwap": 0}}
        self.updates: list[int] = []

    def reload(self) -> None:
        pass

    def update(self, *, mem_limit: int, memswap_limit: int) -> None:
        if mem_limit < 39198720:
            raise docker.errors.APIError(REFUSAL)
        self.updates.append(mem_limit)


def test_the_usage_is_read_from_the_engines_refusal() -> None:
    assert usage_above_limit(REFUSAL) == 39198720
    assert usage_above_limit("500 Server Error: no such container") is None


def test_the_sweeps_squeeze_falls_back_to_the_usage_rounded_up_to_a_mib() -> None:
    container = FakeContainer()
    fault = MemoryLimit(container, 32 * 2**20, floor_at_usage=True)  # type: ignore[arg-type]
    fault.inject()
    assert container.updates == [38 * 2**20] and fault.limit_bytes == 38 * 2**20
    fault.revert()
    assert container.updates[-1] > 2**40  # unlimited again


def test_an_ordinary_memory_limit_still_fails_as_asked() -> None:
    with pytest.raises(FaultError, match="current usage"):
        MemoryLimit(FakeContainer(), 32 * 2**20).inject()  # type: ignore[arg-type]
