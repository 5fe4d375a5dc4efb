"""Frames of a named connection (WebSocket messages or SSE events) and the checks steps make on them.

A frame's *kind* is, for an SSE event, its event name; for a WebSocket message, the value at the
scenario's kind path (``type`` unless a step says otherwise) of its JSON. Pure functions here: no
network, so frame matching is tested without servers (harness.clients.ws owns the connections).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.clients import jsonpath, sse
from harness.errors import VerificationFailed

NOT_JSON = object()


@dataclass(frozen=True)
class Frame:
    """One received frame: its JSON (or NOT_JSON), raw text, arrival (clock seconds), SSE kind, attempt."""

    raw: str
    data: Any
    at: float
    index: int
    epoch: int = 1
    event: str | None = None

    @property
    def is_json(self) -> bool:
        """True when the frame's text is JSON."""
        return self.data is not NOT_JSON

    def kind(self, path: str) -> str:
        """The SSE event name, else the string at ``path`` of the JSON ('' when there is none)."""
        if self.event is not None:
            return self.event
        if not self.is_json:
            return ""
        found = jsonpath.lookup(self.data, path)
        return str(found.value) if found.found and found.value is not None else ""

    def describe(self) -> str:
        """``#3 {"type": …}`` shortened, for messages."""
        body = jsonpath.excerpt(self.data, 200) if self.is_json else repr(self.raw[:200])
        prefix = f"{self.event} " if self.event is not None else ""
        return f"#{self.index} {prefix}{body}"


def decode(raw: str) -> Any:
    """The JSON of a frame's text, or NOT_JSON."""
    try:
        return json.loads(raw)
    except ValueError:
        return NOT_JSON


@dataclass(frozen=True)
class Selection:
    """Which frames of which connection a step looks at: all, or those whose ``path`` equals ``value``.

    ``written``: the value as the step wrote it (``"tick"``, ``3``), shown in messages as it stands;
    ``value`` is that text until the step resolves it to JSON.
    """

    name: str
    path: str = ""
    value: Any = None
    written: str = ""

    @property
    def label(self) -> str:
        """``"alice"`` or ``"alice" where "job_id" is "j1"``."""
        shown = self.written or jsonpath.excerpt(self.value)
        where = f' where "{self.path}" is {shown}' if self.path else ""
        return f'"{self.name}"{where}'

    def pick(self, frames: Sequence[Frame]) -> list[Frame]:
        """The frames this selection names."""
        if not self.path:
            return list(frames)
        picked = []
        for frame in frames:
            found = jsonpath.lookup(frame.data, self.path) if frame.is_json else None
            if found is not None and found.found and jsonpath.same(found.value, self.value):
                picked.append(frame)
        return picked


def kinds(frames: Sequence[Frame], path: str) -> list[str]:
    """The kinds of the frames, in arrival order."""
    return [frame.kind(path) for frame in frames]


def summary(frames: Sequence[Frame], path: str) -> str:
    """``job_started, token x3, job_completed`` (frames without a kind show as ``?``)."""
    return sse.summary([kind or "?" for kind in kinds(frames, path)])


def as_events(frames: Sequence[Frame], path: str) -> list[sse.Event]:
    """The frames as SSE events (kind by ``path``), to reuse the stream checks' order logic."""
    return [sse.Event(frame.kind(path) or "?", frame.data if frame.is_json else frame.raw, frame.raw,
                      at_ms=frame.at * 1000) for frame in frames]


def order_difference(frames: Sequence[Frame], path: str, expected: list[str]) -> str:
    """Empty when the kinds, consecutive repeats collapsed, are ``expected``; else what differs."""
    return sse.order_difference(as_events(frames, path), expected)


def of_kind(frames: Sequence[Frame], path: str, kind: str) -> list[Frame]:
    """The frames of one kind."""
    return [frame for frame in frames if frame.kind(path) == kind]


def value_at(frame: Frame, path: str, where: str) -> Any:
    """The JSON value at ``path`` of a frame; a clear failure when it is not JSON or has no such path."""
    if not frame.is_json:
        raise VerificationFailed(f"{where}: frame {frame.describe()} is not JSON, so it has no value at {path!r}")
    return jsonpath.at(frame.data, path, what=f"{where}: frame #{frame.index}")


def lacking(frames: Sequence[Frame], path: str) -> list[Frame]:
    """The frames that are not JSON or have no value at ``path``."""
    return [f for f in frames if not f.is_json or not jsonpath.lookup(f.data, path).found]


def sequence_problems(values: Sequence[Any]) -> str:
    """Empty when the values are integers increasing by exactly 1; else the duplicates, gaps and misfits."""
    if not values:
        return "no values"
    misfits = [v for v in values if not isinstance(v, int) or isinstance(v, bool)]
    if misfits:
        return f"not integers: {misfits[:5]!r}"
    problems: list[str] = []
    seen: set[int] = set()
    duplicates = sorted({v for v in values if v in seen or seen.add(v)})  # type: ignore[func-returns-value]
    if duplicates:
        problems.append(f"duplicated: {duplicates[:10]}")
    missing = sorted(set(range(min(values), max(values) + 1)) - seen)
    if missing:
        problems.append(f"missing: {missing[:10]}{' …' if len(missing) > 10 else ''} ({len(missing)} in all)")
    disorder = [(a, b) for a, b in zip(values, values[1:], strict=False) if b < a]
    if disorder:
        problems.append(f"out of order at {disorder[:3]}")
    return "; ".join(problems)
