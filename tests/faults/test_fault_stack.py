"""FaultStack bookkeeping with fake faults: order, undo-before-act, every revert attempted, timeline."""

from __future__ import annotations

import itertools

import pytest

from harness.errors import FaultError
from harness.faults import Fault, FaultStack, RevertFailed, Timeline


class FakeFault:
    """Records inject/revert calls in a shared journal; can be told to fail."""

    def __init__(self, name: str, journal: list[str], *, fail_inject: BaseException | None = None,
                 fail_revert: BaseException | None = None, stack: FaultStack | None = None) -> None:
        self.name = name
        self.journal = journal
        self.fail_inject = fail_inject
        self.fail_revert = fail_revert
        self.stack = stack
        self.registered_at_inject: bool | None = None

    @property
    def target(self) -> str:
        return f"box-{self.name}"

    def describe(self) -> str:
        return f"fake {self.name}"

    def inject(self) -> None:
        if self.stack is not None:
            self.registered_at_inject = self in self.stack.active
        self.journal.append(f"inject {self.name}")
        if self.fail_inject is not None:
            raise self.fail_inject

    def revert(self) -> None:
        self.journal.append(f"revert {self.name}")
        if self.fail_revert is not None:
            raise self.fail_revert


def test_fake_fault_satisfies_the_protocol() -> None:
    assert isinstance(FakeFault("a", []), Fault)


def test_reverts_in_reverse_order() -> None:
    journal: list[str] = []
    stack = FaultStack()
    for name in "abc":
        stack.inject(FakeFault(name, journal))
    stack.revert_all()
    assert journal == ["inject a", "inject b", "inject c", "revert c", "revert b", "revert a"]
    assert stack.active == []


def test_undo_is_registered_before_the_fault_acts() -> None:
    stack = FaultStack()
    fault = FakeFault("a", [], stack=stack)
    stack.inject(fault)
    assert fault.registered_at_inject is True


def test_failed_inject_is_still_reverted_and_translated() -> None:
    journal: list[str] = []
    stack = FaultStack()
    with pytest.raises(FaultError, match="could not inject fake a") as info:
        stack.inject(FakeFault("a", journal, fail_inject=RuntimeError("half-way")))
    assert isinstance(info.value.__cause__, RuntimeError)
    stack.revert_all()
    assert journal == ["inject a", "revert a"]


def test_every_revert_is_attempted_and_all_errors_reported() -> None:
    journal: list[str] = []
    stack = FaultStack()
    stack.inject(FakeFault("a", journal, fail_revert=RuntimeError("a broke")))
    stack.inject(FakeFault("b", journal))
    stack.inject(FakeFault("c", journal, fail_revert=FaultError("c broke")))
    with pytest.raises(RevertFailed) as info:
        stack.revert_all()
    assert journal[-3:] == ["revert c", "revert b", "revert a"]
    assert [what for what, _ in info.value.errors] == ["fake c", "fake a"]
    assert "a broke" in str(info.value) and "c broke" in str(info.value)
    assert "Hint:" in str(info.value)
    assert stack.active == []


def test_ctrl_c_during_a_revert_finishes_the_others_then_propagates() -> None:
    journal: list[str] = []
    stack = FaultStack()
    stack.inject(FakeFault("a", journal))
    stack.inject(FakeFault("b", journal, fail_revert=KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        stack.revert_all()
    assert journal[-2:] == ["revert b", "revert a"]


def test_context_manager_reverts_after_a_failed_step_and_after_ctrl_c() -> None:
    journal: list[str] = []
    with pytest.raises(AssertionError):
        with FaultStack() as stack:
            stack.inject(FakeFault("a", journal))
            raise AssertionError("step failed")
    with pytest.raises(KeyboardInterrupt):
        with FaultStack() as stack:
            stack.inject(FakeFault("b", journal))
            raise KeyboardInterrupt
    assert journal == ["inject a", "revert a", "inject b", "revert b"]


def test_revert_one_fault_early_removes_it_from_the_stack() -> None:
    journal: list[str] = []
    stack = FaultStack()
    a, b = FakeFault("a", journal), FakeFault("b", journal)
    stack.inject(a)
    stack.inject(b)
    stack.revert(a)
    stack.revert_all()
    assert journal == ["inject a", "inject b", "revert a", "revert b"]
    with pytest.raises(FaultError, match="not active"):
        stack.revert(a)


def test_timeline_records_every_action_with_monotonic_times() -> None:
    ticks = itertools.count(100.0)
    timeline = Timeline(clock=lambda: next(ticks))
    stack = FaultStack(timeline)
    journal: list[str] = []
    stack.inject(FakeFault("a", journal))
    with pytest.raises(FaultError):
        stack.inject(FakeFault("b", journal, fail_inject=ValueError("nope")))
    stack.revert_all()
    events = timeline.events
    assert [(e.action, e.what, e.target) for e in events] == [
        ("inject", "fake a", "box-a"),
        ("inject", "fake b", "box-b"),
        ("inject-failed", "fake b", "box-b"),
        ("revert", "fake b", "box-b"),
        ("revert", "fake a", "box-a"),
    ]
    times = [e.at for e in events]
    assert times == sorted(times) and times[0] > timeline.started
    assert events[2].error == "nope"
