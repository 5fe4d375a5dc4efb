"""Error text helpers: split behave's error strings into type/message, normalise for grouping."""

from __future__ import annotations

import re

from harness.analysis.model import ErrorInfo
from harness.analysis.redact import redact

_EXC_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Failed|Timeout|Step|Warning)"
                       r"|[A-Za-z_][\w.]*\.[A-Z]\w*):\s?(.*)$")
_HOOK = re.compile(r"^HOOK-ERROR in (\w+)(?:\(tag=[^)]*\))?:\s*(.*)$", re.S)
_NORMALISE = (
    (re.compile(r"0x[0-9a-fA-F]+"), "0x…"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"\b[0-9a-f]{12,64}\b"), "<hex>"),
    (re.compile(r"\d+(\.\d+)?"), "<n>"),
    (re.compile(r"'[^']*'|\"[^\"]*\""), "'…'"),
    (re.compile(r"\s+"), " "),
)
_HTTP = re.compile(r"(?i)\b(?:http(?:/\d(?:\.\d)?)?|status(?:[ _]code)?|response)\D{0,12}([1-5]\d\d)\b")


def parse_error(text: str | list[str] | None) -> ErrorInfo | None:
    """Turn a behave/JUnit error string into an ErrorInfo (type guessed from the text)."""
    if not text:
        return None
    if isinstance(text, list):
        text = "\n".join(text)
    text = redact(text)
    hook = ""
    found = _HOOK.match(text)
    if found:
        hook, text = found.group(1), found.group(2)
    if text.startswith(("ASSERT FAILED:", "Assertion Failed:")):
        return ErrorInfo("AssertionError", text.split(":", 1)[1].strip(), "", hook)
    lines = text.rstrip().splitlines()
    if lines and lines[0].startswith("Traceback"):
        return _from_traceback(lines, text, hook)
    found = _EXC_LINE.match(lines[0]) if lines else None
    if found:
        return ErrorInfo(found.group(1).rsplit(".", 1)[-1], found.group(2).strip(), "", hook)
    return ErrorInfo("", text.strip(), "", hook)


def _from_traceback(lines: list[str], text: str, hook: str) -> ErrorInfo:
    for index in range(len(lines) - 1, 0, -1):
        found = _EXC_LINE.match(lines[index])
        if found and not lines[index].startswith(" "):
            message = "\n".join([found.group(2), *lines[index + 1:]]).strip()
            return ErrorInfo(found.group(1).rsplit(".", 1)[-1], message, text, hook)
    return ErrorInfo("", lines[-1].strip(), text, hook)


def normalise(message: str) -> str:
    """A message with numbers, ids, quoted values and whitespace folded: equal for 'the same' error."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    for pattern, repl in _NORMALISE:
        first = pattern.sub(repl, first)
    return first[:200]


def http_status(message: str) -> int | None:
    """The HTTP status a message mentions (``status 503``, ``HTTP 501``, ``response: 404``)."""
    found = _HTTP.search(message or "")
    return int(found.group(1)) if found else None
