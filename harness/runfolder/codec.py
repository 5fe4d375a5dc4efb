"""Reading helpers the formats share: one JSON object per line or per file, read leniently.

A run folder outlives the code that wrote it and a killed process leaves a line cut short, so a
reader skips what is not a JSON object and takes a missing field as its default.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


def json_lines(path: Path) -> Iterator[dict[str, Any]]:
    """Every line of an NDJSON file that is a JSON object (none when the file is missing)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return
    for line in text.splitlines():
        found = _object(line)
        if found is not None:
            yield found


def json_file(path: Path) -> dict[str, Any] | None:
    """A JSON file holding one object, or None (missing, unreadable, cut short, not an object)."""
    try:
        return _object(path.read_text(errors="replace"))
    except OSError:
        return None


def _object(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def number(data: Mapping[str, Any], key: str, default: float = 0.0) -> float:
    """A number field (``default`` when absent, null or not a number)."""
    value = data.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def optional_number(data: Mapping[str, Any], key: str) -> float | None:
    """A number field, or None when absent or not a number."""
    value = data.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def text(data: Mapping[str, Any], key: str) -> str:
    """A text field ('' when absent or null)."""
    value = data.get(key)
    return "" if value is None else str(value)
