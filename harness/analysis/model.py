"""One model of a test run, whatever it was read from (record, behave JSON, JUnit, Cucumber).

    Run ── Feature ── Scenario ── Step
            └── rules (name, status)

Statuses are behave 1.3's names. Readers fill what their format knows; the rest stays empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

PASSED = "passed"
FAILED = "failed"
ERROR = "error"
HOOK_ERROR = "hook_error"
SKIPPED = "skipped"
UNTESTED = "untested"
UNDEFINED = "undefined"
PENDING = "pending"
PENDING_WARN = "pending_warn"
CLEANUP_ERROR = "cleanup_error"

COUNT_KEYS = (PASSED, FAILED, ERROR, HOOK_ERROR, SKIPPED, UNTESTED, UNDEFINED, PENDING)
EXTRA_KEYS = (PENDING_WARN, CLEANUP_ERROR)
PROBLEMS = frozenset({FAILED, ERROR, HOOK_ERROR, UNDEFINED, PENDING, CLEANUP_ERROR})
NOT_RUN = frozenset({SKIPPED, UNTESTED})


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What went wrong: exception type, message, traceback (any may be empty)."""

    type: str = ""
    message: str = ""
    traceback: str = ""
    hook: str = ""


class Step(NamedTuple):
    """One executed (or not executed) step (a NamedTuple: 100k of them must be cheap to build)."""

    keyword: str
    name: str
    location: str
    status: str
    duration: float = 0.0
    error: ErrorInfo | None = None
    match: str = ""
    verifications: int | None = None
    actions: int | None = None
    captured: str = ""
    environment: Any = None
    started: float = 0.0
    embeddings: tuple[Any, ...] = ()

    @property
    def text(self) -> str:
        """Keyword and name, as written in the feature file."""
        return f"{self.keyword} {self.name}"


@dataclass(slots=True, unsafe_hash=True)  # treat as frozen (change with replace()): a frozen __init__ costs 4x
class Scenario:
    """One scenario (an outline row is a scenario of its own).

    Not declared frozen only for speed: a reader builds 100k+ of them and the frozen ``__init__``
    (one ``object.__setattr__`` per field) took 0.45 s of a 50 MB JUnit file's 2.5 s. Hashing and
    equality are by value, as if frozen; nothing assigns to a field.
    """

    name: str
    location: str
    status: str
    tags: tuple[str, ...]
    steps: tuple[Step, ...]
    feature: str = ""
    feature_name: str = ""
    rule: str = ""
    duration: float = 0.0
    error: ErrorInfo | None = None
    skip_reason: str = ""
    masked_by: ErrorInfo | None = None
    attempts: tuple[str, ...] = ()
    captured: str = ""
    environment: Any = None
    uid: str = ""
    started: float = 0.0

    @property
    def key(self) -> str:
        """Identity across runs: feature file and scenario name (lines move, names rarely do)."""
        return f"{self.feature}::{self.name}"


@dataclass(frozen=True, slots=True)
class Rule:
    """A Gherkin Rule: only its status is counted, scenarios live in the feature."""

    name: str
    location: str
    status: str


@dataclass(frozen=True, slots=True)
class Feature:
    """One feature file's result."""

    name: str
    location: str
    status: str
    tags: tuple[str, ...]
    scenarios: tuple[Scenario, ...]
    rules: tuple[Rule, ...] = ()
    hook_error: ErrorInfo | None = None
    duration: float = 0.0

    @property
    def path(self) -> str:
        """The feature file path without the line number."""
        return self.location.rsplit(":", 1)[0] if ":" in self.location else self.location


@dataclass(frozen=True, slots=True)
class RunInfo:
    """Where the results came from and what the runner said about itself."""

    sources: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()
    run_id: str = ""
    commit: str = ""
    started: str = ""
    tags: str = ""
    hook_errors: tuple[ErrorInfo, ...] = ()
    aborted: str = ""
    notes: tuple[str, ...] = ()  # what the input list says of an input ("empty: holds no test")


@dataclass(frozen=True, slots=True)
class Run:
    """A whole test run (possibly merged from shards)."""

    features: tuple[Feature, ...]
    info: RunInfo = field(default_factory=RunInfo)

    def scenarios(self) -> Iterator[Scenario]:
        """Every scenario of every feature."""
        for feature in self.features:
            yield from feature.scenarios

    def steps(self) -> Iterator[Step]:
        """Every step of every scenario."""
        for scenario in self.scenarios():
            yield from scenario.steps


@dataclass(frozen=True, slots=True)
class Counts:
    """Counts by status, as behave's summary prints them."""

    by_status: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, statuses: Iterable[str]) -> Counts:
        """Count an iterable of statuses (a plain dict: Counter's set-up costs more than a scenario's steps)."""
        counts: dict[str, int] = {}
        for status in statuses:
            counts[status] = counts.get(status, 0) + 1
        return cls(tuple(sorted(counts.items())))

    def get(self, status: str) -> int:
        """The count for one status (0 when absent)."""
        for name, count in self.by_status:
            if name == status:
                return count
        return 0

    @property
    def total(self) -> int:
        """Sum over all statuses."""
        return sum(count for _, count in self.by_status)

    def as_dict(self) -> dict[str, int]:
        """passed, failed, error, hook_error, skipped, untested, undefined, pending (+extras), total."""
        data = {key: self.get(key) for key in COUNT_KEYS}
        data.update({key: count for key, count in self.by_status if key not in data and count})
        data["total"] = self.total
        return data


def scenario_status(step_statuses: Iterable[str]) -> str:
    """A scenario's status from its steps, as behave computes it (the first non-passed step wins)."""
    for status in step_statuses:
        if status in (PASSED, PENDING_WARN):
            continue
        if status in (ERROR, HOOK_ERROR, CLEANUP_ERROR, UNDEFINED, PENDING):
            return ERROR
        return status if status in (FAILED, UNTESTED, SKIPPED) else ERROR
    return PASSED


def container_status(child_statuses: Iterable[str]) -> str:
    """A feature's or rule's status from its scenarios, as behave computes it (order matters)."""
    skipped, passed = True, 0
    for status in child_statuses:
        if status in (ERROR, HOOK_ERROR, CLEANUP_ERROR, UNDEFINED, PENDING):
            return ERROR
        if status == FAILED:
            return FAILED
        if status == UNTESTED:
            return FAILED if passed else UNTESTED
        if status != SKIPPED:
            skipped = False
        passed += status == PASSED
    return SKIPPED if skipped else PASSED
