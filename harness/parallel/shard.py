"""Work items of a run and their split: features (or scenarios) weighed by duration, balanced longest first.

    collect(paths, root)       -> Items: one per feature file; one per scenario of a feature
                                  tagged @parallel.scenarios; @serial features marked serial
    weigh(items, durations)    -> the last run's durations (wall time) where known, else scenario counts
    setups(run_dir)            -> the last run's bring-up seconds per environment
    balance(items, n, setup)   -> n buckets, longest first onto the lightest bucket (deterministic),
                                  a bucket paying an environment's bring-up the first time it needs it;
                                  "longest" counts each item's share of its environment's bring-up
    run_order(bucket)          -> a worker's order: longest first (the same way)
    pick(items, Shard(i, n))   -> bucket i of n: a CI matrix job's share
    planned(root, item)        -> the item's feature and scenarios as the file has them (a lost item's)
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.env.tags import env_tag
from harness.errors import ConfigError
from harness.runfolder import STARTUP
from harness.runfolder.startup import read_startup

SERIAL_TAG = "serial"
# Tags whose features or scenarios run alone in a split run (after the others' scenarios are over,
# harness.parallel.gate): @serial, and the timing-sensitive ones, whose measurements another
# worker's bring-up or load would inflate (@load: load runs and their percentiles; @timing: a
# latency baseline, a churn rate, anything measured against the clock).
SERIAL_TAGS = frozenset({SERIAL_TAG, "load", "timing"})
SCENARIOS_TAG = "parallel.scenarios"
DEFAULT_SCENARIO_SECONDS = 1.0  # weight of a scenario no earlier run has timed
SETUP_SECONDS = 5.0  # what a worker pays to bring up an environment it has not started yet
_LINE = re.compile(r".+\.feature:\d+")


@dataclass(frozen=True, slots=True)
class Item:
    """A unit one worker runs: a feature file, or ``file:line`` of one scenario."""

    location: str
    feature: str
    scenarios: int = 1
    serial: bool = False
    weight: float = 0.0
    env: str = ""


@dataclass(frozen=True, slots=True)
class Shard:
    """``--shard i/n``: this job runs bucket ``index`` (1-based) of ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"2/4"`` -> Shard(2, 4); anything else is a ConfigError naming the option."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
            raise ConfigError(f"--shard {text!r} is not i/n with 1 <= i <= n", key="--shard",
                              hint="write --shard 1/4 ... --shard 4/4, one per CI matrix job")
        return cls(int(match.group(1)), int(match.group(2)))


def collect(paths: Sequence[str], root: Path) -> list[Item]:
    """The work items of the feature files under ``paths`` (files or folders, relative to ``root``)."""
    # lazy: behave loads only where .feature files are parsed (analysis of result files never needs it)
    from behave.parser import parse_file


    items: list[Item] = []
    lines = [p for p in paths if _LINE.fullmatch(p)]
    items.extend(Item(p, p.rsplit(":", 1)[0]) for p in lines)
    for path in feature_files([p for p in paths if p not in lines], root):
        feature = parse_file(str(root / path))
        if feature is None:
            continue
        tags = {str(t) for t in feature.tags}
        env = env_tag([str(t) for t in feature.tags]) or ""
        tops = list(top_scenarios(feature))
        if SCENARIOS_TAG in tags and not SERIAL_TAGS & tags:
            items.extend(Item(f"{path}:{s.line}", path, 1, bool(SERIAL_TAGS & {str(t) for t in s.tags}), env=env)
                         for s in tops)
        else:
            items.append(Item(path, path, max(1, len(tops)), bool(SERIAL_TAGS & tags), env=env))
    return items


@dataclass(frozen=True, slots=True)
class PlannedScenario:
    """A scenario as its feature file has it (for results that never came: a killed worker's)."""

    name: str
    location: str
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Planned:
    """What an item was to run: its feature (name, ``file:line``, tags) and scenarios."""

    name: str
    location: str
    tags: tuple[str, ...]
    scenarios: tuple[PlannedScenario, ...]


def planned(root: Path, item: Item) -> Planned:
    """The feature of an item and the scenarios it runs (every top scenario, or the one at its line)."""
    # lazy: behave loads only where .feature files are parsed (analysis of result files never needs it)
    from behave.parser import parse_file

    try:
        feature = parse_file(str(root / item.feature))
    except Exception:  # noqa: BLE001 - an unreadable file plans nothing; the item is still named by its location
        feature = None
    if feature is None:
        return Planned("", f"{item.feature}:1", (), ())
    tags = tuple(str(t) for t in feature.tags)
    line = item.location.rsplit(":", 1)[1] if ":" in item.location else ""
    return Planned(str(feature.name), f"{item.feature}:{feature.line}", tags, tuple(
        PlannedScenario(str(s.name), f"{item.feature}:{s.line}", tags + tuple(str(t) for t in s.tags))
        for s in top_scenarios(feature) if not line or str(s.line) == line))


def feature_files(paths: Sequence[str], root: Path) -> list[str]:
    """Feature files (relative to ``root``, sorted) of files and folders; a missing path is an error."""
    found: list[str] = []
    for spec in paths:
        path = root / spec
        if path.is_dir():
            found.extend(str(p.relative_to(root)) for p in sorted(path.rglob("*.feature")))
        elif path.is_file():
            found.append(str(path.relative_to(root)) if path.is_absolute() else spec)
        else:
            raise ConfigError(f"no feature file or folder {spec!r} under {root}", key="paths",
                              hint="give feature files or folders relative to the project folder")
    return list(dict.fromkeys(found))


def top_scenarios(container: Any) -> Iterable[Any]:
    """Scenarios and scenario outlines (not their rows), rules included, in file order."""
    for item in getattr(container, "run_items", []) or []:
        if type(item).__name__ == "Rule":
            yield from top_scenarios(item)
        elif type(item).__name__ in ("Scenario", "ScenarioOutline"):
            yield item


def durations(record: Path) -> dict[str, float]:
    """Seconds by feature path and by scenario ``file:line`` from a run record (empty if unreadable).

    A feature or scenario weighs the longer of behave's duration (its steps) and its wall time from
    its first step's start to its last step's end, which also counts what ran between its scenarios
    (a @fresh scenario's own environment coming up, cleanups).
    """
    found: dict[str, float] = {}
    spans: dict[str, tuple[float, float]] = {}
    scenario = ""
    try:
        lines = record.read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue
        kind, location = data.get("kind"), str(data.get("location", ""))
        if kind == "feature":
            path = location.rsplit(":", 1)[0]
            found[path] = found.get(path, 0.0) + float(data.get("duration") or 0.0)
        elif kind == "scenario":
            found[location] = float(data.get("duration") or 0.0)
            scenario = location
        elif kind == "step" and isinstance(data.get("started"), int | float):
            start = float(data["started"])
            end = start + float(data.get("duration") or 0.0)
            for key in (location.rsplit(":", 1)[0], scenario):
                low, high = spans.get(key, (start, end))
                spans[key] = (min(low, start), max(high, end))
    for key, (low, high) in spans.items():
        if key in found:
            found[key] = max(found[key], high - low)
    return found


def setups(run_dir: Path) -> dict[str, float]:
    """Seconds each environment took to come up in a run (its ``startup.json`` files, longest kept)."""
    found: dict[str, float] = {}
    for path in sorted(run_dir.rglob(STARTUP)) if run_dir.is_dir() else []:
        startup = read_startup(path)
        if startup is not None:
            found[startup.environment] = max(found.get(startup.environment, 0.0), startup.seconds)
    return found


def weigh(items: Sequence[Item], known: dict[str, float]) -> list[Item]:
    """Each item with its expected seconds: the last run's duration, else scenarios × a default."""
    return [replace(item, weight=known.get(item.location, item.scenarios * DEFAULT_SCENARIO_SECONDS))
            for item in items]


def balance(items: Sequence[Item], n: int, setup: float = SETUP_SECONDS,
            measured: Mapping[str, float] | None = None, reserve: float = 0.0) -> list[list[Item]]:
    """``n`` buckets: longest item first onto the bucket that would finish it first.

    A bucket that has not started the item's environment yet pays its bring-up: ``measured[env]``
    (the last run's, see ``setups``) or ``setup`` seconds, so features of one environment stay
    together unless splitting them pays. The first bucket starts ``reserve`` seconds late (the
    @serial items' bring-ups: ``serial_bring_up``). Ties go by bucket number and items by location:
    the split is deterministic.
    """
    costs = measured or {}
    total = with_bring_ups(items, costs, setup)
    buckets: list[list[Item]] = [[] for _ in range(max(1, n))]
    loads = [reserve] + [0.0] * (len(buckets) - 1)
    envs: list[set[str]] = [set() for _ in buckets]

    def cost(b: int, item: Item) -> float:
        return loads[b] + (costs.get(item.env, setup) if item.env and item.env not in envs[b] else 0.0)

    for item in sorted(items, key=lambda i: (-total[i.location], i.location)):
        best = min(range(len(buckets)), key=lambda b: (cost(b, item), b))
        loads[best] = cost(best, item) + item.weight
        envs[best].add(item.env)
        buckets[best].append(item)
    return buckets


def serial_bring_up(serial: Sequence[Item], shared: Sequence[Item], measured: Mapping[str, float],
                    setup: float = SETUP_SECONDS) -> float:
    """Seconds the worker that runs the @serial items spends bringing up their environments that no other
    item needs (``measured[env]``, else ``setup``): the others it may have up already."""
    others = {i.env for i in shared}
    own = dict.fromkeys(i.env for i in serial if i.env and i.env not in others)
    return sum(measured.get(env, setup) for env in own)


def run_order(bucket: Sequence[Item], measured: Mapping[str, float] | None = None,
              setup: float = SETUP_SECONDS) -> list[Item]:
    """The order a worker runs its share in: longest first (ties by location), counting bring-ups.

    The short items come last: a worker that runs out of work takes from the others' tails
    (harness.parallel.claims), and short tails even out the finish. An environment stays up until the
    worker's last item that needs it, so the order costs no extra bring-up; but a short item that
    needs an environment of its own is long (nobody else takes it over, see claims.with_steals) and
    goes early.
    """
    total = with_bring_ups(bucket, measured or {}, setup)
    return sorted(bucket, key=lambda i: (-total[i.location], i.location))


def with_bring_ups(items: Sequence[Item], measured: Mapping[str, float],
                   setup: float = SETUP_SECONDS) -> dict[str, float]:
    """Each item's expected seconds with its share of its environment's bring-up (``measured[env]``, else
    ``setup``), split evenly among the items that need that environment."""
    users = Counter(i.env for i in items if i.env)
    return {i.location: i.weight + (measured.get(i.env, setup) / users[i.env] if i.env else 0.0) for i in items}


def pick(items: Sequence[Item], shard: Shard) -> list[Item]:
    """The items of one shard, in file order (serial items are balanced like the others)."""
    chosen = balance(items, shard.count)[shard.index - 1]
    order = {item.location: n for n, item in enumerate(items)}
    return sorted(chosen, key=lambda i: order[i.location])
