"""A sweep's behave process keeps an idle fault proxy between scenarios (edge.linger) instead of starting and
removing a container per scenario; remove_idle() removes it, and a kept proxy that stopped is replaced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.faults import edge


class FakeProxy:
    def __init__(self) -> None:
        self.removed = False
        self.running = True

    def state(self) -> str:
        return "running" if self.running else "exited (137)"

    def remove(self) -> None:
        self.removed = True


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[FakeProxy]]:
    made: list[FakeProxy] = []

    def start(like: Any, network: str, *, image: str | None = None) -> FakeProxy:
        made.append(FakeProxy())
        return made[-1]

    monkeypatch.setattr(edge.ProxyContainer, "start", staticmethod(start))
    monkeypatch.setattr(edge, "project_of", lambda container: "shop")
    monkeypatch.setattr(edge, "_shared", {})
    yield made
    edge.linger(False)


def test_without_linger_the_last_release_removes_the_proxy(started: list[FakeProxy]) -> None:
    edge.release_proxy(edge.acquire_proxy(object(), "net"))
    edge.release_proxy(edge.acquire_proxy(object(), "net"))
    assert len(started) == 2 and all(p.removed for p in started)


def test_with_linger_one_proxy_serves_every_scenario_until_remove_idle(started: list[FakeProxy]) -> None:
    edge.linger(True)
    for _ in range(3):
        edge.release_proxy(edge.acquire_proxy(object(), "net"))
    assert len(started) == 1 and not started[0].removed
    busy = edge.acquire_proxy(object(), "net")
    assert edge.remove_idle() == [] and not started[0].removed  # in use: kept
    edge.release_proxy(busy)
    assert edge.remove_idle() == [] and started[0].removed


def test_a_kept_proxy_that_stopped_is_replaced(started: list[FakeProxy]) -> None:
    edge.linger(True)
    edge.release_proxy(edge.acquire_proxy(object(), "net"))
    started[0].running = False
    edge.release_proxy(edge.acquire_proxy(object(), "net"))
    assert len(started) == 2
