"""Secret redaction shared by the run record and every reader: nothing secret leaves a run."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "***"
_PATTERNS = (
    # Authorization: <scheme> <value>  (header dumps, dict reprs, JSON)
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:(bearer|basic|token|digest)\s+)?[^\s\"',}\]]+"),
     lambda m: f"{m.group(1)}{(m.group(2) + ' ') if m.group(2) else ''}{MASK}"),
    (re.compile(r"(?i)\b(bearer)\s+(?!\*\*\*)[A-Za-z0-9._~+/=-]+"), lambda m: f"{m.group(1)} {MASK}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), lambda m: MASK),
    (re.compile(r"(?i)([\"']?(?:password|passwd|secret|api[_-]?key|access[_-]?token|refresh[_-]?token)"
                r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',}\]]+"), lambda m: f"{m.group(1)}{MASK}"),
)
# words one of the patterns above needs (lower case): most texts hold none, and one lower() with a few
# substring tests costs a fraction of four case-insensitive regex scans (the 50 MB JUnit benchmark
# redacts 21k failure texts)
_NEEDS = ("authorization", "bearer", "eyj", "passw", "secret", "api", "token")
SECRET_KEY = re.compile(r"(?i)(secret|token|password|passwd|api[_-]?key|credential)")


class Redactor:
    """Masks Authorization values, bearer tokens, JWT-shaped strings and known secret values."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def add(self, *secrets: str) -> None:
        """Remember more secret values."""
        self.secrets = sorted({*self.secrets, *(s for s in secrets if s and len(s) >= 4)},
                              key=len, reverse=True)

    def text(self, value: str) -> str:
        """Redact one string."""
        if not value:
            return value
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        low = value.lower()
        if not any(word in low for word in _NEEDS):
            return value
        for pattern, repl in _PATTERNS:
            if pattern.search(value):
                value = pattern.sub(repl, value)
        return value

    def any(self, value: Any) -> Any:
        """Redact strings inside nested dicts/lists; values under secret-looking keys are masked."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: (MASK if isinstance(k, str) and SECRET_KEY.search(k) and isinstance(v, str)
                        else self.any(v)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.any(v) for v in value]
        return value


DEFAULT = Redactor()


def redact(value: str) -> str:
    """Redact a string with the pattern-only redactor (readers of foreign files use this)."""
    return DEFAULT.text(value)
