"""``<env>/startup.json``: how long an environment took to come up (later split runs plan with it).

    {"environment": "tiny", "seconds": 12.3, "services": 2, "ready_at": 1733468400.1,
     "compose_up_turn": {"waited_s": 4.2, "from": 1733468391.0, "to": 1733468395.5}}

``compose_up_turn`` only in a split run's workers (harness.env.turns).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.runfolder.codec import json_file, number, optional_number


@dataclass(frozen=True, slots=True)
class UpTurn:
    """A worker's turn at `compose up`: seconds it waited for it, and when it began and ended (epoch seconds)."""

    waited_s: float
    began: float
    ended: float

    def to_json(self) -> dict[str, float]:
        """The file's ``compose_up_turn`` object."""
        return {"waited_s": self.waited_s, "from": self.began, "to": self.ended}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UpTurn:
        """A turn from its object."""
        return cls(number(data, "waited_s"), number(data, "from"), number(data, "to"))


@dataclass(frozen=True, slots=True)
class Startup:
    """One environment's bring-up."""

    environment: str
    seconds: float
    services: int = 0
    ready_at: float | None = None
    compose_up_turn: UpTurn | None = None

    def to_json(self) -> dict[str, Any]:
        """The file's object."""
        data: dict[str, Any] = {"environment": self.environment, "seconds": self.seconds, "services": self.services}
        if self.ready_at is not None:
            data["ready_at"] = self.ready_at
        if self.compose_up_turn is not None:
            data["compose_up_turn"] = self.compose_up_turn.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Startup | None:
        """The bring-up, or None without an environment name and its seconds."""
        seconds = optional_number(data, "seconds")
        if not data.get("environment") or seconds is None:
            return None
        turn = data.get("compose_up_turn")
        return cls(str(data["environment"]), seconds, int(number(data, "services")),
                   optional_number(data, "ready_at"), UpTurn.from_json(turn) if isinstance(turn, dict) else None)


def write_startup(path: Path, startup: Startup) -> None:
    """Save a bring-up."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(startup.to_json()) + "\n")


def read_startup(path: Path) -> Startup | None:
    """A saved bring-up, or None when missing, cut short or incomplete."""
    data = json_file(path)
    return None if data is None else Startup.from_json(data)
