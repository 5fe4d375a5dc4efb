"""Bring-up turns (harness.env.turns): one `compose up` at a time among the workers of a split run."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from harness.env.turns import TURNS_ENV, Turn


def test_a_second_worker_waits_until_the_first_ones_compose_up_is_done(tmp_path: Path) -> None:
    environ = {TURNS_ENV: str(tmp_path / "turns.lock")}
    first = Turn.take(environ)
    events: list[str] = []

    def second() -> None:
        turn = Turn.take(environ)  # its own open file: flock excludes it like another process
        events.append("second starts")
        turn.end()

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.3)
    events.append("first's compose up exits")
    done = first.until_done(lambda: True)
    assert done() is True
    thread.join(timeout=5)
    assert events == ["first's compose up exits", "second starts"]


def test_the_turn_lasts_while_compose_up_runs_and_ends_when_it_fails(tmp_path: Path) -> None:
    environ = {TURNS_ENV: str(tmp_path / "turns.lock")}
    turn = Turn.take(environ)
    polls = iter([None, None, True])
    result = turn.until_done(lambda: next(polls))
    assert result() is None and result() is None
    assert not _free(environ)  # still compose up's turn
    assert result() is True and _free(environ)

    failing = Turn.take(environ)

    def broken() -> bool:
        raise RuntimeError("compose up failed")

    with pytest.raises(RuntimeError):
        failing.until_done(broken)()
    assert _free(environ)
    failing.end()  # idempotent


def test_outside_a_split_run_nobody_waits(tmp_path: Path) -> None:
    one, two = Turn.take({}), Turn.take({})
    one.end()
    two.end()
    assert list(tmp_path.iterdir()) == []


def _free(environ: dict[str, str]) -> bool:
    """Whether another worker could take its turn now."""
    import fcntl
    with Path(environ[TURNS_ENV]).open("ab") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


def test_the_pool_gives_every_worker_the_runs_lock_and_no_inherited_one(tmp_path: Path) -> None:
    import io
    from typing import Any

    from harness.parallel.pool import Pool, Worker
    from harness.parallel.retry import RetryPolicy
    from tests.test_gate import Proc

    seen: list[str | None] = []

    def popen(cmd: list[str], **kwargs: Any) -> Proc:
        seen.append(kwargs["env"].get(TURNS_ENV))
        return Proc(Path(cmd[1]), lambda: True)

    workers = [Worker(f"w{n}", f"r-w{n}", tmp_path / f"w{n}", [f"{n}.feature"]) for n in (1, 2)]
    lock = tmp_path / "turns.lock"
    Pool(workers, None, lambda w: [w.label, str(w.current.folder)], tmp_path, {TURNS_ENV: "/elsewhere"},
         RetryPolicy(0), out=io.StringIO(), popen=popen, turns=lock).run()  # type: ignore[arg-type]
    Pool(workers[:1], None, lambda w: [w.label, str(w.current.folder)], tmp_path, {TURNS_ENV: "/elsewhere"},
         RetryPolicy(0), out=io.StringIO(), popen=popen).run()  # type: ignore[arg-type]
    assert seen == [str(lock), str(lock), None]
