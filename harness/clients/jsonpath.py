"""Dotted paths into JSON documents (``error.code``, ``items.0.id``, ``workers[2].state``).

Grammar: segments separated by dots; a segment is a key, or an index into an array
(``items.0`` or ``items[0]``; negative indexes count from the end); ``['a.b']`` (or ``["a.b"]``) is a
key that holds dots. The empty path (or ``$``) is the whole document.

Also here: JSON literals written in steps (``equals "abc"``, ``equals 3``), strict JSON equality
(``true`` is not ``1``) and containment, because every JSON check needs them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from harness import expect
from harness.errors import HarnessError, VerificationFailed

_SEGMENT = re.compile(r'\[(?P<index>-?\d+)\]|\[(?P<q>["\'])(?P<quoted>.*?)(?P=q)\]|(?P<key>[^.\[\]]+)')
_EXCERPT = 400


class PathNotFound(VerificationFailed):
    """A path names nothing in a document (carries ``path``, ``document`` and ``reason``)."""

    def __init__(self, path: str, document: Any, reason: str, what: str = "the document") -> None:
        self.path = path
        self.document = document
        self.reason = reason
        super().__init__(f"no {path!r} in {what}: {reason}\n{what}: {excerpt(document)}",
                         hint="check the path against the document above (keys are case-sensitive)")


@dataclass(frozen=True)
class Lookup:
    """The outcome of following a path: the value, or why nothing is there."""

    found: bool
    value: Any = None
    reason: str = ""


def parse(path: str) -> list[str | int]:
    """The segments of a path: keys as str, bracketed indexes as int."""
    text = path.strip()
    if text in ("", "$"):
        return []
    text = text[2:] if text.startswith("$.") else text
    segments: list[str | int] = []
    pos = 0
    while pos < len(text):
        if segments and text[pos] == ".":
            pos += 1
        match = _SEGMENT.match(text, pos)
        if match is None or match.end() == pos:
            raise HarnessError(f"bad JSON path {path!r} at character {pos + 1}",
                               hint='write keys with dots, indexes as items.0 or items[0], '
                                    "and a key holding dots as ['a.b']")
        if match.group("index") is not None:
            segments.append(int(match.group("index")))
        else:
            quoted = match.group("quoted")
            segments.append(quoted if quoted is not None else match.group("key"))
        pos = match.end()
    return segments


def lookup(document: Any, path: str) -> Lookup:
    """Follow ``path`` through ``document`` without raising when it names nothing."""
    current = document
    walked = "$"
    for segment in parse(path):
        step = _step(current, segment, walked)
        if not step.found:
            return step
        current = step.value
        walked = f"{walked}[{segment}]" if isinstance(segment, int) else f"{walked}.{segment}"
    return Lookup(True, current)


def _step(current: Any, segment: str | int, walked: str) -> Lookup:
    where = "the document" if walked == "$" else repr(walked[2:])
    if isinstance(current, list):
        if isinstance(segment, str) and not re.fullmatch(r"-?\d+", segment):
            return Lookup(False, reason=f"{where} is an array, so {segment!r} must be an index")
        index = int(segment)
        if not -len(current) <= index < len(current):
            return Lookup(False, reason=f"{where} has {len(current)} items, no index {index}")
        return Lookup(True, current[index])
    if isinstance(current, dict):
        key = str(segment)
        if key not in current:
            keys = ", ".join(sorted(map(str, current))[:20]) or "none"
            return Lookup(False, reason=f"{where} has no key {key!r} (keys: {keys})")
        return Lookup(True, current[key])
    shown = excerpt(current, 80)
    return Lookup(False, reason=f"{where} is {type_name(current)} {shown}, not an object or array")


def get(document: Any, path: str, what: str = "the document") -> Any:
    """The value at ``path``; PathNotFound (a VerificationFailed) when there is none."""
    found = lookup(document, path)
    if not found.found:
        raise PathNotFound(path, document, found.reason, what)
    return found.value


def at(document: Any, path: str, what: str = "the document") -> Any:
    """The value at ``path``, counted as a verification that it exists."""
    found = lookup(document, path)
    if not found.found:
        expect.that(False, str(PathNotFound(path, document, found.reason, what)))
    expect.that(True, "")
    return found.value


def literal(text: str) -> Any:
    """A JSON literal written in a step (``"abc"``, ``3``, ``true``, ``null``, ``[1, 2]``)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise HarnessError(f"not a JSON literal: {text!r} ({exc.msg})",
                           hint='quote strings ("ready"); numbers, true, false, null, [..] and {..} '
                                'stand as they are') from exc


def same(actual: Any, expected: Any) -> bool:
    """JSON equality: like ``==`` but booleans are not numbers, and it recurses."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(actual, dict) and isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(same(actual[k], expected[k]) for k in actual)
    if isinstance(actual, list) and isinstance(expected, list):
        return len(actual) == len(expected) and all(same(a, e) for a, e in zip(actual, expected, strict=True))
    return bool(type_name(actual) == type_name(expected) and actual == expected)


def contains(container: Any, item: Any) -> bool:
    """A string holds a substring; an array holds an element (objects: a superset); an object a subset."""
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, list):
        return any(same(element, item) or (isinstance(item, dict) and contains(element, item))
                   for element in container)
    if isinstance(container, dict) and isinstance(item, dict):
        return all(k in container and (same(container[k], v)
                                       or (isinstance(v, dict) and contains(container[k], v)))
                   for k, v in item.items())
    return False


def type_name(value: Any) -> str:
    """The JSON name of a value's type: string, number, boolean, array, object, null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def excerpt(document: Any, limit: int = _EXCERPT) -> str:
    """A document as compact JSON, cut to ``limit`` characters."""
    try:
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        text = repr(document)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"
