"""What a client needs of the scenario it serves: the environment, state, undo and remembered values.

The run's ``Session`` (harness.run.session) is one; a client takes this Protocol instead, so
clients and load sit below the run and tests can hand them a small fake.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from harness.env.lifecycle import Environment


class Scope(Protocol):
    """The scenario a client serves (structurally: ``harness.run.session.Session``)."""

    @property
    def userdata(self) -> Mapping[str, str]:
        """behave's userdata (-D), where the clients read their timeouts."""

    @property
    def env(self) -> Environment:
        """The environment of the current scenario."""

    def extension(self, key: str, factory: Callable[[], Any]) -> Any:
        """Per-scenario state of a client, made on first use."""

    def cleanup(self, fn: Callable[[], None], what: str) -> None:
        """Register an undo, run at the scenario's end."""

    def recall(self, name: str) -> Any:
        """A remembered value."""

    def interpolate(self, text: str) -> str:
        """``{name}`` replaced with remembered values."""
