"""The @serial worker's gate (harness.parallel.gate) and the pool's use of it (harness.parallel.pool)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.errors import HarnessError
from harness.parallel import gate
from harness.parallel.claims import CLAIMS_ENV, OWNER_ENV, Claims, owners, serial_owner
from harness.parallel.pool import Pool, Worker
from harness.parallel.retry import RetryPolicy


def test_wait_returns_once_the_gate_file_exists(tmp_path: Path) -> None:
    path = tmp_path / "serial.gate"
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            gate.open_gate(path)

    gate.wait(path, parent=7, getppid=lambda: 7, sleep=sleep)
    assert len(sleeps) == 3 and path.exists()


def test_wait_gives_up_when_the_run_that_started_the_worker_is_gone(tmp_path: Path) -> None:
    parents = iter([7, 7, 1])  # re-parented to init: the `harness run` was killed
    with pytest.raises(HarnessError, match="the run that started this worker is gone"):
        gate.wait(tmp_path / "serial.gate", parent=7, getppid=lambda: next(parents), sleep=lambda _s: None)


def test_prepare_brings_up_in_order_then_waits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    monkeypatch.setattr(gate, "wait", lambda path: events.append("wait") or 0.0)
    gate.prepare(tmp_path / "g", ["load", "full-stack"], lambda name: events.append(name))
    assert events == ["load", "full-stack", "wait"]


def test_a_failed_bring_up_still_waits_for_the_gate_then_fails(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Its feature fails as it would have, but only once the others are done (never beside them)."""
    events: list[str] = []
    monkeypatch.setattr(gate, "wait", lambda path: events.append("wait") or 0.0)

    def start(name: str) -> None:
        raise HarnessError(f"{name} never got healthy")

    with pytest.raises(HarnessError, match="load never got healthy"):
        gate.prepare(tmp_path / "g", ["load", "full-stack"], start)
    assert events == ["wait"]


def test_an_interrupt_during_bring_up_does_not_wait(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gate, "wait", lambda path: pytest.fail("waited after an interrupt"))

    def start(name: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        gate.prepare(tmp_path / "g", ["load"], start)


def feature(env: str | None, *tags: str, runs: bool = True) -> Any:
    return SimpleNamespace(tags=[*tags, *([f"env.{env}"] if env else [])], runs=runs)


def test_environments_ahead_are_the_selected_shared_ones_in_order_of_first_use() -> None:
    features = [feature("load"), feature("load"), feature("chaos", runs=False), feature("oom", "fresh"),
                feature(None), feature("full-stack"), feature("load")]
    names = gate.environments_ahead(features, lambda f: f.runs,
                                    lambda f: next((t[4:] for t in f.tags if t.startswith("env.")), None))
    assert names == ["load", "full-stack"]


def test_selector_follows_behaves_tag_expression() -> None:
    class Feature:
        def __init__(self, ok: bool) -> None:
            self.ok = ok

        def should_run_with_tags(self, expression: object) -> bool:
            return self.ok

    pick = gate.selector(SimpleNamespace(tag_expression=object()))
    assert pick(Feature(True)) and not pick(Feature(False))
    assert gate.selector(SimpleNamespace())(Feature(False))  # no expression: everything runs


# -- the pool without claims (one worker): the serial worker starts in the first slot freed; the gate opens after --

class Proc:
    """A behave process that ends when its ``until`` says so (checked on each poll)."""

    def __init__(self, folder: Path, until: Any) -> None:
        self.folder, self.until, self.returncode, self.pid = folder, until, None, 2**22 + 54321

    def poll(self) -> int | None:
        if self.returncode is None and self.until():
            (self.folder / "record.ndjson").write_text(json.dumps({"kind": "run", "event": "end"}) + "\n")
            (self.folder / "rerun.txt").write_text("")
            self.returncode = 0
        return self.returncode


def ends_after(polls: int) -> Callable[[], bool]:
    """An ``until`` for Proc: the process ends on the poll after ``polls`` polls."""
    seen = iter(range(polls))
    return lambda: next(seen, None) is None


def test_the_pool_starts_the_serial_worker_early_and_opens_its_gate_after_the_others(tmp_path: Path) -> None:
    gate_file = tmp_path / "serial.gate"
    slow = ends_after(polls=5)
    log: list[str] = []

    def popen(cmd: list[str], **kwargs: Any) -> Proc:
        label, env = cmd[0], kwargs["env"]
        running = [w.label for w in workers if w.proc is not None]
        log.append(f"start {label} gate={env.get(gate.GATE_ENV, '-')} open={gate_file.exists()} running={running}")
        until = {"w1": lambda: True, "w2": slow, "serial": gate_file.exists}[label]
        return Proc(Path(cmd[1]), until)

    workers = [Worker("w1", "r-w1", tmp_path / "w1", ["a.feature"]),
               Worker("w2", "r-w2", tmp_path / "w2", ["b.feature"])]
    serial = Worker("serial", "r-s", tmp_path / "serial", ["c.feature"])
    stale = {gate.GATE_ENV: "/left/in/the/shell"}  # never reaches the other workers
    pool = Pool(workers, serial, lambda w: [w.label, str(w.current.folder)], tmp_path, stale, RetryPolicy(0),
                out=io.StringIO(), popen=popen, gate=gate_file)  # type: ignore[arg-type]
    pool.run()
    assert log == ["start w1 gate=- open=False running=[]", "start w2 gate=- open=False running=['w1']",
                   f"start serial gate={gate_file} open=False running=['w2']"]  # w1 done, w2 still running
    assert serial.codes == [0] and workers[1].codes == [0] and gate_file.exists()
    assert "[serial] starting: bringing up its environments while the others finish" in pool.out.getvalue()  # type: ignore[attr-defined]


def test_without_a_gate_the_serial_worker_starts_after_the_others(tmp_path: Path) -> None:
    started: list[str] = []

    def popen(cmd: list[str], **kwargs: Any) -> Proc:
        started.append(cmd[0])
        others_done = all(w.done for w in workers)
        assert cmd[0] != "serial" or others_done
        return Proc(Path(cmd[1]), lambda: True)

    workers = [Worker("w1", "r-w1", tmp_path / "w1", ["a.feature"])]
    serial = Worker("serial", "r-s", tmp_path / "serial", ["c.feature"])
    Pool(workers, serial, lambda w: [w.label, str(w.current.folder)], tmp_path, {}, RetryPolicy(0),
         out=io.StringIO(), popen=popen).run()  # type: ignore[arg-type]
    assert started == ["w1", "serial"]



# -- with claims: the first worker out of work takes the @serial items; the gate opens when the others are done --

def test_the_serial_items_are_claimed_as_one_group(tmp_path: Path) -> None:
    folder = Claims.create(tmp_path / "claims", ["a.feature"], ["s1.feature", "s2.feature"])
    one = Claims.from_environ({CLAIMS_ENV: str(folder), OWNER_ENV: "r-w1"})
    two = Claims.from_environ({CLAIMS_ENV: str(folder), OWNER_ENV: "r-w2"})
    assert one is not None and two is not None and one.serial == {"s1.feature", "s2.feature"}
    assert serial_owner(folder) is None and not two.elsewhere("s2.feature")
    assert one.take("s1.feature") and serial_owner(folder) == "r-w1"
    assert not two.take("s2.feature") and two.elsewhere("s2.feature")  # s2 is w1's before w1 reaches it
    assert one.take("s2.feature") and one.runs_alone("s2.feature")
    assert not two.runs_alone("s1.feature") and not one.runs_alone("a.feature")
    assert two.take("a.feature") and owners(folder) == {"a.feature": "r-w2", "s1.feature": "r-w1",
                                                        "s2.feature": "r-w1"}


def holding_the_serial_items(folder: Path, gate_file: Path, passes: Callable[[], None]) -> Callable[[], bool]:
    """An ``until`` for w1's Proc: it claims the @serial group at once, then waits at the gate."""
    def holder() -> bool:
        Claims(folder, "r-w1", frozenset(), frozenset({"c.feature"})).take("c.feature")
        if gate_file.exists():
            passes()
            return True
        return False
    return holder


def test_the_pool_opens_the_gate_for_the_worker_holding_the_serial_items_once_the_others_are_done(
        tmp_path: Path) -> None:
    folder = Claims.create(tmp_path / "claims", ["a.feature", "b.feature"], ["c.feature"])
    gate_file = tmp_path / "serial.gate"
    slow = ends_after(polls=5)
    log: list[str] = []

    holder = holding_the_serial_items(
        folder, gate_file, lambda: log.append(f"w1 passes the gate; w2 done: {workers[1].done}"))

    def popen(cmd: list[str], **kwargs: Any) -> Proc:
        log.append(f"start {cmd[0]} gate={kwargs['env'].get(gate.GATE_ENV, '-')}")
        return Proc(Path(cmd[1]), {"w1": holder, "w2": slow}[cmd[0]])

    workers = [Worker("w1", "r-w1", tmp_path / "w1", ["a.feature", "c.feature"]),
               Worker("w2", "r-w2", tmp_path / "w2", ["b.feature", "c.feature"])]
    lone = Worker("serial", "r-s", tmp_path / "serial", ["c.feature"])
    pool = Pool(workers, lone, lambda w: [w.label, str(w.current.folder)], tmp_path, {}, RetryPolicy(0),
                out=io.StringIO(), popen=popen, claims=folder, gate=gate_file)  # type: ignore[arg-type]
    pool.run()
    assert log == [f"start w1 gate={gate_file}", f"start w2 gate={gate_file}", "w1 passes the gate; w2 done: True"]
    assert not lone.parts and pool.gate_opened is not None  # no process of their own
    out = pool.out.getvalue()  # type: ignore[attr-defined]
    assert "[w1] takes the @serial items" in out and "[w1] the others are done: the @serial items run alone" in out


def test_when_no_worker_claims_the_serial_items_their_own_worker_runs_them_after_the_others(tmp_path: Path) -> None:
    folder = Claims.create(tmp_path / "claims", ["a.feature", "b.feature"], ["c.feature"])
    started: list[str] = []

    def popen(cmd: list[str], **kwargs: Any) -> Proc:
        started.append(cmd[0])
        assert cmd[0] != "serial" or all(w.done for w in workers)
        return Proc(Path(cmd[1]), lambda: True)

    workers = [Worker("w1", "r-w1", tmp_path / "w1", ["a.feature"]),
               Worker("w2", "r-w2", tmp_path / "w2", ["b.feature"])]
    lone = Worker("serial", "r-s", tmp_path / "serial", ["c.feature"])
    Pool(workers, lone, lambda w: [w.label, str(w.current.folder)], tmp_path, {}, RetryPolicy(0), out=io.StringIO(),
         popen=popen, claims=folder, gate=tmp_path / "serial.gate").run()  # type: ignore[arg-type]
    assert started == ["w1", "w2", "serial"] and lone.codes == [0]


@pytest.mark.parametrize(("said", "retries", "gate_while_w2_tears_down"),
                         [("clean", 1, True), ("failed", 0, True), ("failed", 1, False)])
def test_the_gate_opens_when_the_others_scenarios_are_over_not_when_their_teardowns_end(
        tmp_path: Path, said: str, retries: int, gate_while_w2_tears_down: bool) -> None:
    folder = Claims.create(tmp_path / "claims", ["a.feature", "b.feature"], ["c.feature"])
    gate_file = tmp_path / "serial.gate"
    polls, log = iter(range(1000)), []

    holder = holding_the_serial_items(
        folder, gate_file, lambda: log.append(f"w1 passes the gate; w2 running: {workers[1].proc is not None}"))

    def popen(cmd: list[str], **kwargs: Any) -> Proc:
        marker = Path(kwargs["env"][gate.OVER_ENV])

        def tearing_down() -> bool:  # w2: its last scenario ends at poll 3; its teardown takes 10 polls more
            n = next(polls)
            if n == 3:
                gate.scenarios_over(said == "clean", {gate.OVER_ENV: str(marker)})
            return n >= 13

        return Proc(Path(cmd[1]), {"w1": holder, "w2": tearing_down}[cmd[0]])

    workers = [Worker("w1", "r-w1", tmp_path / "w1", ["a.feature", "c.feature"]),
               Worker("w2", "r-w2", tmp_path / "w2", ["b.feature", "c.feature"])]
    pool = Pool(workers, None, lambda w: [w.label, str(w.current.folder)], tmp_path, {}, RetryPolicy(retries),
                out=io.StringIO(), popen=popen, claims=folder, gate=gate_file)  # type: ignore[arg-type]
    pool.run()
    assert log == [f"w1 passes the gate; w2 running: {gate_while_w2_tears_down}"]
    assert gate.over(workers[1].current.folder / "scenarios.over") == said


def test_a_behave_process_outside_a_split_run_writes_no_marker(tmp_path: Path) -> None:
    gate.scenarios_over(True, {})
    assert list(tmp_path.iterdir()) == [] and gate.over(tmp_path / "scenarios.over") is None


@pytest.mark.parametrize(("statuses", "said"), [(["passed", "skipped"], "clean"), (["passed", "failed"], "failed"),
                                                (["passed", "hook_error"], "failed")])
def test_after_all_says_the_scenarios_are_over_before_the_environments_go_down(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, statuses: list[str], said: str) -> None:
    from harness.run import behave_hooks
    marker = tmp_path / "scenarios.over"
    monkeypatch.setenv(gate.OVER_ENV, str(marker))
    seen: list[str | None] = []
    scenarios = [SimpleNamespace(status=SimpleNamespace(name=s)) for s in statuses]
    feature = SimpleNamespace(status=SimpleNamespace(name="passed"), walk_scenarios=lambda: scenarios)
    session = SimpleNamespace(close=lambda: seen.append(gate.over(marker)))
    behave_hooks.after_all(SimpleNamespace(harness=session, _runner=SimpleNamespace(features=[feature])))
    assert seen == [said]  # written before the teardown starts
