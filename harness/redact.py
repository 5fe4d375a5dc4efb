"""Redaction of secret values from anything written to disk or printed."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
_PATTERNS = (
    re.compile(r"(?i)(authorization\s*[:=]\s*)(\"?)(bearer\s+)?[^\s\"',]+"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"),  # JWT-shaped
)


def text(value: str, secrets: Iterable[str] = ()) -> str:
    """``value`` with every secret, bearer token and JWT replaced by ***."""
    for secret in secrets:
        if secret and len(secret) >= 3:
            value = value.replace(secret, MASK)
    value = _PATTERNS[0].sub(lambda m: m.group(1) + m.group(2) + MASK, value)
    value = _PATTERNS[1].sub("Bearer " + MASK, value)
    return _PATTERNS[2].sub(MASK, value)
