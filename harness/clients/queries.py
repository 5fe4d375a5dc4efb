"""The answer of a database query (SQLite in a container, PostgreSQL on a published port) and its checks.

Cells compare as text against a step's table (``None`` is ``null``), or as JSON against a literal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.clients import jsonpath


@dataclass(frozen=True)
class QueryResult:
    """Columns and rows a query returned, and where it ran."""

    database: str
    query: str
    columns: list[str]
    rows: list[list[Any]]

    def describe(self, limit: int = 10) -> str:
        """``SQLite … answered 2 rows to "…": (a, b) | (c, d)``, for messages."""
        shown = " | ".join("(" + ", ".join(cell_text(c) for c in row) + ")" for row in self.rows[:limit])
        more = f" ... ({len(self.rows)} rows)" if len(self.rows) > limit else ""
        return (f"{self.database} answered {len(self.rows)} rows to {self.query!r}; columns "
                f"{', '.join(self.columns) or 'none'}: {shown or '(no rows)'}{more}")

    def first_value(self) -> Any:
        """The first column of the first row (None when there is no row)."""
        return self.rows[0][0] if self.rows and self.rows[0] else None


def cell_text(value: Any) -> str:
    """A cell as a table would show it: ``null`` for None, ``true``/``false``, numbers and text as is."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def table_difference(result: QueryResult, heading: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Empty when the result has exactly these rows, in this order, in the heading's columns; else what differs."""
    missing = [name for name in heading if name not in result.columns]
    if missing:
        return f"no column {', '.join(missing)} in the answer (columns: {', '.join(result.columns)})"
    index = [result.columns.index(name) for name in heading]
    got = [[cell_text(row[i]) for i in index] for row in result.rows]
    want = [list(row) for row in rows]
    if got == want:
        return ""
    lines = [f"expected {len(want)} rows, got {len(got)}:"]
    for i in range(max(len(got), len(want))):
        expected = " | ".join(want[i]) if i < len(want) else "(none)"
        actual = " | ".join(got[i]) if i < len(got) else "(none)"
        mark = "  " if expected == actual else "≠ "
        lines.append(f"{mark}row {i + 1}: expected {expected}  got {actual}")
    return "\n".join(lines)


def value_matches(value: Any, literal: Any) -> bool:
    """A cell against a JSON literal: equal as JSON, or equal as text (a text column holding '3')."""
    return jsonpath.same(value, literal) or cell_text(value) == cell_text(literal)
