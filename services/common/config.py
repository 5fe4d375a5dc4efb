"""Typed access to configuration held in environment variables."""

from __future__ import annotations

import socket
from collections.abc import Mapping


class ConfigError(ValueError):
    """An environment variable holds a value of the wrong kind."""


class Env:
    """Read typed values from an environment mapping; a bad value names its variable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str, default: str) -> str:
        """A string value; empty means default."""
        return self._environ.get(name, "") or default

    def integer(self, name: str, default: int, minimum: int = 0) -> int:
        """An integer value no smaller than ``minimum``."""
        raw = self._environ.get(name, "")
        try:
            value = int(raw) if raw else default
        except ValueError as exc:
            raise ConfigError(f"{name}={raw!r} is not an integer") from exc
        if value < minimum:
            raise ConfigError(f"{name}={value} must be >= {minimum}")
        return value

    def number(self, name: str, default: float, minimum: float = 0.0) -> float:
        """A float value no smaller than ``minimum``."""
        raw = self._environ.get(name, "")
        try:
            value = float(raw) if raw else default
        except ValueError as exc:
            raise ConfigError(f"{name}={raw!r} is not a number") from exc
        if value < minimum:
            raise ConfigError(f"{name}={value} must be >= {minimum}")
        return value

    def flag(self, name: str) -> bool:
        """A boolean switch: 1/true/yes/on enable it."""
        return self._environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}

    def items(self, name: str, default: str = "") -> tuple[str, ...]:
        """A comma-separated list with blanks removed."""
        raw = self._environ.get(name, "") or default
        return tuple(part.strip() for part in raw.split(",") if part.strip())


def hostname() -> str:
    """This machine's (container's) host name, the default ID and advertised host."""
    return socket.gethostname()
