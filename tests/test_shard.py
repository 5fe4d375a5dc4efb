"""The split of a run: items from feature files, duration weights, longest-first balance, CI shards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.parallel import shard
from harness.parallel.shard import Item, Shard
from tests.conftest import FIXTURES

PROJECT = FIXTURES / "parallel"


def test_collect_makes_a_feature_an_item_and_splits_parallel_scenarios() -> None:
    items = shard.collect(["features"], PROJECT)
    locations = [i.location for i in items]
    assert "features/alpha.feature" in locations
    gamma = [i for i in items if i.feature == "features/gamma.feature"]
    assert [i.location for i in gamma] == ["features/gamma.feature:3", "features/gamma.feature:6"]
    assert [i.location for i in items if i.serial] == ["features/delta.feature"]
    assert next(i for i in items if i.location == "features/beta.feature").scenarios == 2


def test_collect_keeps_a_file_line_argument_as_one_item() -> None:
    items = shard.collect(["features/alpha.feature:2"], PROJECT)
    assert items == [Item("features/alpha.feature:2", "features/alpha.feature")]


def test_collect_names_a_missing_path() -> None:
    with pytest.raises(ConfigError, match="nofeatures"):
        shard.collect(["nofeatures"], PROJECT)


def test_balance_puts_the_longest_first_on_the_lightest_bucket() -> None:
    items = [Item(name, name, weight=w) for name, w in (("a", 1), ("b", 5), ("c", 4), ("d", 3), ("e", 3))]
    buckets = shard.balance(items, 2)
    assert [[i.location for i in b] for b in buckets] == [["b", "e"], ["c", "d", "a"]]
    assert sum(i.weight for i in buckets[0]) == 8 and sum(i.weight for i in buckets[1]) == 8


def test_balance_keeps_an_environment_together_unless_splitting_pays() -> None:
    items = [Item("A", "A", weight=10.0, env="a"), Item("B", "B", weight=10.0, env="b"),
             Item("a1", "a1", weight=1.0, env="a"), Item("a2", "a2", weight=1.0, env="a")]
    together = shard.balance(items, 2, setup=5.0)  # B first: 10 s plus a bring-up of its own
    assert [[i.location for i in b] for b in together] == [["B"], ["A", "a1", "a2"]]
    spread = shard.balance(items, 2, setup=0.0)  # bring-up free: the small ones go where there is room
    assert [[i.location for i in b] for b in spread] == [["A", "a1"], ["B", "a2"]]
    same = [Item(f"f{n}", f"f{n}", weight=20.0, env="stack") for n in range(4)]
    assert [len(b) for b in shard.balance(same, 2, setup=5.0)] == [2, 2]  # long ones: a second bring-up pays


def test_a_short_item_with_an_environment_of_its_own_goes_early() -> None:
    """Nobody takes it over (its bring-up is longer than it), so it must not be a worker's last item."""
    storm = Item("storm", "storm", weight=2.5, env="storm")
    stack = [Item(f"s{n}", f"s{n}", weight=w, env="stack") for n, w in enumerate((8.0, 5.0, 4.0, 3.0))]
    costs = {"storm": 9.0, "stack": 4.0}
    assert [i.location for i in shard.run_order([*stack, storm], costs)] == ["storm", "s0", "s1", "s2", "s3"]
    assert [i.location for i in shard.run_order([*stack, storm], {"storm": 0.0, "stack": 0.0})][-1] == "storm"
    assert shard.with_bring_ups([*stack, storm], costs)["s0"] == 9.0  # 8 s + a quarter of the stack's 4 s
    buckets = shard.balance([*stack, storm], 2, measured=costs)
    assert [i.location for i in buckets[0]][0] == "storm"  # placed first, not left for the end


def test_the_first_bucket_is_kept_lighter_by_the_serial_items_own_bring_ups() -> None:
    """The worker that will run the @serial items ends its share early enough to bring their environment up
    while the others finish, instead of after them."""
    shared = [Item(f"s{n}", f"s{n}", weight=10.0, env="stack") for n in range(6)]
    serial = [Item("load1", "load1", serial=True, weight=10.0, env="load"),
              Item("load2", "load2", serial=True, weight=5.0, env="load"),
              Item("ws", "ws", serial=True, weight=2.0, env="stack")]
    assert shard.serial_bring_up(serial, shared, {"load": 4.0, "stack": 3.0}) == 4.0  # "stack" is up already
    assert shard.serial_bring_up(serial, shared, {}) == shard.SETUP_SECONDS
    assert shard.serial_bring_up(serial[2:], shared, {}) == 0.0
    even = shard.balance(shared, 3, measured={"stack": 3.0})
    assert [len(b) for b in even] == [2, 2, 2]
    kept = shard.balance(shared, 3, measured={"stack": 3.0}, reserve=12.0)
    assert [len(b) for b in kept] == [1, 3, 2]  # 12 s + 3 s + 10 s against 3 + 30 and 3 + 20


def test_weigh_uses_the_last_run_and_scenario_counts_otherwise(tmp_path: Path) -> None:
    record = tmp_path / "record.ndjson"
    record.write_text("\n".join(json.dumps(line) for line in (
        {"kind": "run", "event": "start"},
        {"kind": "feature", "location": "features/alpha.feature:1", "duration": 12.5},
        {"kind": "scenario", "location": "features/gamma.feature:3", "duration": 2.0},
    )) + "\n")
    known = shard.durations(record)
    items = shard.weigh(shard.collect(["features"], PROJECT), known)
    weights = {i.location: i.weight for i in items}
    assert weights["features/alpha.feature"] == 12.5
    assert weights["features/gamma.feature:3"] == 2.0
    assert weights["features/beta.feature"] == 2 * shard.DEFAULT_SCENARIO_SECONDS
    assert shard.durations(tmp_path / "missing.ndjson") == {}


def test_a_feature_weighs_its_wall_time_when_a_fresh_environment_came_up_between_its_scenarios(
        tmp_path: Path) -> None:
    record = tmp_path / "record.ndjson"
    record.write_text("\n".join(json.dumps(line) for line in (
        {"kind": "feature", "location": "features/oom.feature:1", "duration": 2.0},
        {"kind": "scenario", "location": "features/oom.feature:3", "duration": 1.0, "started": 100.0},
        {"kind": "step", "location": "features/oom.feature:4", "duration": 1.0, "started": 100.0},
        {"kind": "scenario", "location": "features/oom.feature:9", "duration": 1.0, "started": 107.0},
        {"kind": "step", "location": "features/oom.feature:10", "duration": 1.0, "started": 107.0},
    )) + "\n")
    known = shard.durations(record)
    assert known["features/oom.feature"] == 8.0  # 100.0 to 108.0: the 6 s bring-up in between counts
    assert known["features/oom.feature:3"] == 1.0 and known["features/oom.feature:9"] == 1.0


def test_measured_bring_up_times_steer_the_balance(tmp_path: Path) -> None:
    for folder, env, seconds in (("w1/storm", "storm", 11.0), ("w2/storm-1", "storm", 9.0), ("stack", "stack", 2.0)):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "startup.json").write_text(json.dumps({"environment": env, "seconds": seconds}))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "startup.json").write_text("{")
    measured = shard.setups(tmp_path)
    assert measured == {"storm": 11.0, "stack": 2.0}
    items = [Item("A", "A", weight=10.0, env="a"), Item("B", "B", weight=10.0, env="b"),
             Item("a1", "a1", weight=1.0, env="a"), Item("a2", "a2", weight=1.0, env="a")]
    # with the default 5 s a second bring-up of "a" does not pay; measured at 0 s (fast) it does
    assert [[i.location for i in b] for b in shard.balance(items, 2)] == [["B"], ["A", "a1", "a2"]]
    spread = shard.balance(items, 2, measured={"a": 0.0, "b": 0.0})
    assert [[i.location for i in b] for b in spread] == [["A", "a1"], ["B", "a2"]]
    assert shard.setups(tmp_path / "missing") == {}


def test_shards_are_disjoint_cover_the_whole_and_are_deterministic() -> None:
    items = shard.weigh(shard.collect(["features"], PROJECT), {})
    parts = [shard.pick(items, Shard(i, 3)) for i in (1, 2, 3)]
    chosen = [i.location for part in parts for i in part]
    assert sorted(chosen) == sorted(i.location for i in items)
    assert len(chosen) == len(set(chosen))
    again = [shard.pick(list(reversed(items)), Shard(i, 3)) for i in (1, 2, 3)]
    assert [{i.location for i in p} for p in again] == [{i.location for i in p} for p in parts]


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0"])
def test_a_bad_shard_is_a_config_error_naming_the_option(text: str) -> None:
    with pytest.raises(ConfigError, match="--shard"):
        Shard.parse(text)


def test_shard_parses_i_of_n() -> None:
    assert Shard.parse(" 2/4 ") == Shard(2, 4)


@pytest.mark.parametrize("tag", ["serial", "load", "timing"])
def test_timing_sensitive_features_and_scenarios_run_alone_like_serial(tmp_path: Path, tag: str) -> None:
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "f.feature").write_text(
        f"@{tag}\nFeature: f\n  Scenario: a\n    Given x\n")
    (tmp_path / "features" / "g.feature").write_text(
        f"@parallel.scenarios\nFeature: g\n  @{tag}\n  Scenario: b\n    Given x\n  Scenario: c\n    Given x\n")
    (tmp_path / "features" / "h.feature").write_text("@fast\nFeature: h\n  Scenario: d\n    Given x\n")
    items = shard.collect(["features"], tmp_path)
    assert [i.location for i in items if i.serial] == ["features/f.feature", "features/g.feature:4"]
