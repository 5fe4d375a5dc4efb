"""Work stealing between the workers of one `harness run --workers N`: an item runs where it is claimed first.

The plan (harness.parallel.shard.balance) is an estimate: the last run's durations, bring-ups slower when
workers start environments at once, a failure that waits out a timeout. A worker that finishes its
share early would idle while another still has minutes of work. So each worker is given its own
share followed by the other shares' items, their tails first (what their owners reach last), and
before a feature (or a ``file:line`` item) runs, the worker claims it in the run's claims folder with
an exclusive create: the first worker to get there runs it; the others skip it as *foreign* before
any environment comes up for it. The record leaves foreign items out and the merge drops their
skipped copies, so the merged run has each item exactly once, as a sequential run does.

    <run>/claims/items.txt        the claimable locations, one per line
    <run>/claims/<location>       created by the worker that runs it; holds its run id

The @serial items come last in every worker's list and are claimed as one group: the first worker to
run out of other work claims ``@serial`` and, with it, every @serial item. It brings their
environments up (its own are often among them) and waits at the run's gate (harness.parallel.gate) until the
others are done; then it runs them alone. No process is started for them and no environment is
brought up twice. When they need an environment no other item does, they come right after each
worker's own share instead, before the others' items: the first worker done with its share takes
them (and nothing else), so that bring-up overlaps the others' last items; the plan keeps the first
share lighter by it (shard.balance ``reserve``).

    <run>/claims/serial.txt       the @serial locations (also in items.txt)
    <run>/claims/@serial          created by the worker that runs them all; holds its run id
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from typing import Any

from harness.parallel.shard import SETUP_SECONDS, Item, top_scenarios
from harness.runfolder import names

CLAIMS_ENV = "HARNESS_CLAIMS"  # the claims folder of the run; set for the first attempt of split workers
OWNER_ENV = "HARNESS_RUN_ID"  # the worker's own run id is its name on a claim
ITEMS = names.CLAIM_ITEMS
SERIAL_ITEMS = names.CLAIM_SERIAL
SERIAL_GROUP = "@serial"  # the claim of every @serial item at once
FOREIGN = "harness_foreign"  # set on a behave feature or scenario another worker runs


@dataclass(frozen=True)
class Claims:
    """One worker's view of the run's claims folder."""

    folder: Path
    owner: str
    items: frozenset[str]
    serial: frozenset[str] = frozenset()

    @classmethod
    def create(cls, folder: Path, locations: Iterable[str], serial: Iterable[str] = ()) -> Path:
        """Make the claims folder of a run, listing the claimable item locations (``serial``: claimed as a group)."""
        folder.mkdir(parents=True, exist_ok=True)
        together = list(serial)
        (folder / ITEMS).write_text("".join(f"{loc}\n" for loc in [*locations, *together]))
        (folder / SERIAL_ITEMS).write_text("".join(f"{loc}\n" for loc in together))
        return folder

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Claims | None:
        """The claims of this behave process when it is a split worker's first attempt, else None."""
        folder = environ.get(CLAIMS_ENV, "")
        if not folder:
            return None
        path = Path(folder)
        items = _locations(path)
        if items is None:
            return None  # no list: every item is this worker's own
        return cls(path, environ.get(OWNER_ENV, str(os.getpid())), frozenset(items),
                   frozenset(_locations(path, SERIAL_ITEMS) or []))

    def claim(self, location: str) -> bool:
        """True when this worker runs ``location``: it claimed it now or earlier."""
        path = self.folder / _name(location)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return self.owner_of(location) == self.owner
        with os.fdopen(fd, "w") as out:
            out.write(self.owner)
        return True

    def elsewhere(self, location: str) -> bool:
        """Claimed by another worker (so this one will not run it); a @serial item: its group."""
        owner = self.owner_of(SERIAL_GROUP if location in self.serial else location)
        return owner is not None and owner != self.owner

    def owner_of(self, location: str) -> str | None:
        """The run id of the worker that claimed ``location`` (None: nobody yet)."""
        try:
            return (self.folder / _name(location)).read_text() or None
        except OSError:
            return None

    def take(self, location: str) -> bool:
        """Claim an item; a @serial one only with the whole @serial group. True when this worker runs it."""
        if location in self.serial and not self.claim(SERIAL_GROUP):
            return False
        return self.claim(location)

    def feature_is_foreign(self, feature: Any) -> bool:
        """Claim a feature item for this worker; True when another worker runs it (or all its scenario items)."""
        path = str(feature.filename)
        return not self.take(path) if path in self.items else self.others_run(feature)

    def scenario_is_foreign(self, scenario: Any) -> bool:
        """Claim the ``file:line`` item of a scenario (an outline's row: the outline's); True when another runs it."""
        location = item_of(scenario)
        return location in self.items and not self.take(location)

    def runs_alone(self, location: str) -> bool:
        """A @serial item this worker runs (it holds the @serial group)."""
        return location in self.serial and self.owner_of(SERIAL_GROUP) == self.owner

    def is_serial(self, feature: Any) -> bool:
        """The feature is a @serial item or holds one."""
        path = str(feature.filename)
        return path in self.serial or any(loc in self.serial for loc in _top_locations(feature))

    def not_needed_here(self, feature: Any) -> bool:
        """Whether a later feature needs no environment kept up here: others run it, or this worker holds the
        @serial items and it is not one (the others run every other item before those start; one they leave
        unclaimed still runs here, after a bring-up)."""
        if not self.is_serial(feature) and self.owner_of(SERIAL_GROUP) == self.owner:
            return True
        return self.others_run(feature)

    def others_run(self, feature: Any) -> bool:
        """True when other workers have claimed the feature, or every scenario item of it."""
        path = str(feature.filename)
        mine = [path] if path in self.items else [loc for loc in _top_locations(feature) if loc in self.items]
        return bool(mine) and all(self.elsewhere(loc) for loc in mine)


def serial_owner(folder: Path) -> str | None:
    """The run id of the worker that claimed the @serial items (None: nobody yet)."""
    try:
        return (folder / SERIAL_GROUP).read_text() or None
    except OSError:
        return None


def owners(folder: Path) -> dict[str, str]:
    """Every claimed location of a run and the run id of the worker that ran it."""
    found: dict[str, str] = {}
    for location in _locations(folder) or []:
        try:
            found[location] = (folder / _name(location)).read_text()
        except OSError:
            continue
    return found


def mark(statement: Any) -> None:
    """Skip a foreign feature or scenario and mark it for the record (which leaves it out)."""
    setattr(statement, FOREIGN, True)
    statement.skip("run by another worker")


def is_foreign(statement: Any) -> bool:
    """A feature or scenario another worker runs (see :func:`mark`)."""
    return bool(getattr(statement, FOREIGN, False))


def with_steals(buckets: Sequence[Sequence[Item]], setups: Mapping[str, float] | None = None) -> list[list[Item]]:
    """Each bucket followed by what it may take from the others: their tails first, taken in turn.

    Items of an environment the bucket has up anyway come first; an item needing an environment it
    does not have is only worth taking when it is longer than that bring-up (``setups[env]``, else
    ``SETUP_SECONDS``).
    """
    costs = setups or {}
    lists: list[list[Item]] = []
    for k, own in enumerate(buckets):
        tails = [list(reversed(b)) for j, b in enumerate(buckets) if j != k]
        taken = [item for group in zip_longest(*tails) for item in group if item is not None]
        envs = {i.env for i in own}
        near = [i for i in taken if i.env in envs]
        far = [i for i in taken if i.env not in envs and i.weight > costs.get(i.env, SETUP_SECONDS)]
        lists.append([*own, *near, *far])
    return lists


def worker_lists(shares: Sequence[Sequence[Item]], serial: Sequence[Item], setups: Mapping[str, float] | None = None,
                 serial_first: bool = False) -> list[list[Item]]:
    """What each worker runs, in order: its share, what it may take from the others (``with_steals``), then the
    @serial items. ``serial_first`` (they need an environment of their own, see shard.serial_bring_up): the
    @serial items come before the others' items, so the first worker done with its share takes them and
    brings that environment up while the others finish (the one that takes them takes nothing else)."""
    return [[*own, *serial, *steals[len(own):]] if serial_first else [*steals, *serial]
            for own, steals in zip(shares, with_steals(shares, setups), strict=True)]


def _locations(folder: Path, name: str = ITEMS) -> list[str] | None:
    """The claimable locations listed in a claims folder (None without a list)."""
    try:
        return [line.strip() for line in (folder / name).read_text().splitlines() if line.strip()]
    except OSError:
        return None


def _top_locations(feature: Any) -> list[str]:
    return [f"{feature.filename}:{top.line}" for top in top_scenarios(feature)]


def item_of(scenario: Any) -> str:
    """``file:line`` of the scenario, or of the outline it is a row of (items are top-level scenarios)."""
    feature = scenario.feature
    for top in top_scenarios(feature):
        if top is scenario or any(s is scenario for s in getattr(top, "scenarios", None) or []):
            return f"{feature.filename}:{top.line}"
    return f"{scenario.filename}:{scenario.line}"


def _name(location: str) -> str:
    return location.replace("/", "__").replace(":", "@")
