"""The expectation API: every check a step makes goes through here and is counted.

The count per step is what lets the analyzer tell a step that verified something from a
hollow one that only passed. behave runs steps one at a time, so one process-wide ledger
is enough; the hooks reset it before each step and read it after.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable
from dataclasses import dataclass
from typing import Any

from harness.errors import VerificationFailed


@dataclass
class Ledger:
    """Verifications and actions counted since the last reset."""

    verifications: int = 0
    actions: int = 0

    def take(self) -> tuple[int, int]:
        """Return (verifications, actions) and start counting again."""
        counts = (self.verifications, self.actions)
        self.verifications = 0
        self.actions = 0
        return counts


LEDGER = Ledger()


def drove(_what: str = "") -> None:
    """Record that a step drove the system (a request, a fault, a load run)."""
    LEDGER.actions += 1


def that(condition: object, message: str) -> None:
    """Verify that ``condition`` is true; fail with ``message`` otherwise."""
    LEDGER.verifications += 1
    if not condition:
        raise VerificationFailed(message)


def equal(actual: Any, expected: Any, what: str) -> None:
    """Verify ``actual == expected``."""
    that(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


def not_equal(actual: Any, unexpected: Any, what: str) -> None:
    """Verify ``actual != unexpected``."""
    that(actual != unexpected, f"{what}: expected anything but {unexpected!r}")


def contains(container: Container[Any] | str, item: Any, what: str) -> None:
    """Verify ``item in container``."""
    that(item in container, f"{what}: {item!r} not found in {_short(container)}")


def matches(text: str, pattern: str, what: str) -> None:
    """Verify that ``pattern`` (a regular expression) is found in ``text``."""
    that(re.search(pattern, text) is not None, f"{what}: {_short(text)} does not match /{pattern}/")


def at_most(actual: float, bound: float, what: str) -> None:
    """Verify ``actual <= bound``."""
    that(actual <= bound, f"{what}: {actual!r} is above the bound {bound!r}")


def at_least(actual: float, bound: float, what: str) -> None:
    """Verify ``actual >= bound``."""
    that(actual >= bound, f"{what}: {actual!r} is below the bound {bound!r}")


def is_type(value: Any, type_name: str, what: str) -> None:
    """Verify a JSON value's type by name: string, number, integer, boolean, array, object, null."""
    types: dict[str, tuple[type, ...]] = {
        "string": (str,), "number": (int, float), "integer": (int,), "boolean": (bool,),
        "array": (list,), "list": (list,), "object": (dict,), "null": (type(None),),
    }
    if type_name not in types:
        raise VerificationFailed(f"{what}: unknown type name {type_name!r}; use one of {sorted(types)}")
    ok = isinstance(value, types[type_name]) and not (
        type_name in ("number", "integer") and isinstance(value, bool))
    that(ok, f"{what}: expected a {type_name}, got {type(value).__name__} {_short(value)}")


def all_unique(items: Iterable[Any], what: str) -> None:
    """Verify that no item occurs twice."""
    seen: set[Any] = set()
    dupes = [item for item in items if item in seen or seen.add(item)]  # type: ignore[func-returns-value]
    that(not dupes, f"{what}: duplicated {dupes[:5]!r}")


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
