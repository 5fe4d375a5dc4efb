"""The mutation switches (services/README.md): each off by default, each breaking its one property when on."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.hive.app import HiveConfig
from services.queen.app import QueenConfig
from services.queen.events import EventHub
from services.queen.hives import HiveDirectory
from services.worker import app as worker_app
from services.worker.app import WorkerConfig
from tests.services.test_queue import Clock, hive_beat

SWITCHES = {"QUEEN_FORGET_RUNNING": "1", "QUEEN_DISPATCH_TO_LOST": "1", "QUEEN_NO_EVENT_REPLAY": "1",
            "HIVE_NO_RETRY": "1", "HIVE_KEEP_PARTITIONED": "1", "WORKER_DROP_AFTER_RESTART": "1",
            "WORKER_ONE_AT_A_TIME": "1", "QUEEN_BUFFER_STREAM": "1"}


def test_every_switch_is_off_by_default_and_read_from_its_variable() -> None:
    off, on = QueenConfig.from_env({}), QueenConfig.from_env(SWITCHES)
    assert not (off.forget_running or off.dispatch_to_lost or off.no_event_replay or off.buffer_stream)
    assert on.forget_running and on.dispatch_to_lost and on.no_event_replay and on.buffer_stream
    assert not HiveConfig.from_env({}).no_retry and not HiveConfig.from_env({}).keep_partitioned
    assert HiveConfig.from_env(SWITCHES).no_retry and HiveConfig.from_env(SWITCHES).keep_partitioned
    assert not WorkerConfig.from_env({}).drop_after_restart and WorkerConfig.from_env(SWITCHES).drop_after_restart
    assert not WorkerConfig.from_env({}).one_at_a_time and WorkerConfig.from_env(SWITCHES).one_at_a_time


def test_dispatch_to_lost_picks_a_lost_hive() -> None:
    clock = Clock()
    hives = HiveDirectory(3.0, clock)
    hives.heartbeat(hive_beat("a", "ready"))
    clock.now += 10
    assert [h.hive_id for h in hives.sweep()] == ["a"]
    assert hives.pick("m", {}) is None
    hives.dispatch_to_lost = True
    picked = hives.pick("m", {})
    assert picked is not None and picked.hive_id == "a"


def test_no_event_replay_loses_what_was_published_while_away() -> None:
    hub = EventHub()
    for n in range(3):
        hub.publish("t", "token", {"index": n})
    assert [f["seq"] for f in hub.replay("t", 1)] == [2, 3]
    hub.replay_enabled = False
    assert hub.replay("t", 1) == []


def test_a_worker_knows_it_was_started_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_app.tempfile, "gettempdir", lambda: str(tmp_path))
    assert not worker_app._started_before("w1")
    assert worker_app._started_before("w1")
    assert not worker_app._started_before("w2")
