"""The queen's view of its hives, kept fresh by hive heartbeats."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

SCHEDULABLE = frozenset({"ready", "busy"})


@dataclass
class HiveEntry:
    """One hive as last heard of."""

    hive_id: str
    url: str
    last_seen: float
    workers: list[dict[str, Any]] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    status: str = "ready"
    lost: bool = False
    unreachable_until: float = 0.0

    def state(self, now: float) -> str:
        """ready | draining | unreachable | lost."""
        if self.lost:
            return "lost"
        if now < self.unreachable_until:
            return "unreachable"
        return self.status

    def slots(self, model: str) -> int:
        """Job slots of its schedulable workers for ``model``."""
        return sum(
            int(w.get("slots", 1)) for w in self.workers if w.get("model") == model and w.get("status") in SCHEDULABLE
        )


class HiveDirectory:
    """Heartbeats in; lost hives marked; the least-loaded hive with spare capacity out."""

    def __init__(self, lost_after_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.lost_after, self._clock = lost_after_seconds, clock
        self.hives: dict[str, HiveEntry] = {}
        self.dispatch_to_lost = False  # mutation switch QUEEN_DISPATCH_TO_LOST: lost hives still get jobs

    def heartbeat(self, summary: Mapping[str, Any]) -> str | None:
        """Record a heartbeat; returns "registered" or "rejoined" when that happened."""
        hive_id = str(summary["hive_id"])
        entry = self.hives.get(hive_id)
        change = "registered" if entry is None else ("rejoined" if entry.lost else None)
        if entry is None:
            entry = self.hives[hive_id] = HiveEntry(hive_id, str(summary["url"]), self._clock())
        entry.url, entry.last_seen, entry.lost = str(summary["url"]), self._clock(), False
        entry.workers = list(summary.get("workers", []))
        entry.models = list(summary.get("models", []))
        entry.status = str(summary.get("status", "ready"))
        return change

    def remove(self, hive_id: str) -> bool:
        """A hive deregistered."""
        return self.hives.pop(hive_id, None) is not None

    def sweep(self) -> list[HiveEntry]:
        """Mark hives silent for too long as lost; return the newly lost."""
        cutoff = self._clock() - self.lost_after
        newly = [h for h in self.hives.values() if not h.lost and h.last_seen < cutoff]
        for hive in newly:
            hive.lost = True
        return newly

    def mark_unreachable(self, hive_id: str, seconds: float) -> None:
        """Skip a hive we could not reach for a while (its heartbeats may still arrive)."""
        if hive_id in self.hives:
            self.hives[hive_id].unreachable_until = self._clock() + seconds

    def pick(self, model: str, inflight: Mapping[tuple[str, str], int]) -> HiveEntry | None:
        """The ready hive with spare capacity for ``model`` and the lowest load."""
        now = self._clock()
        best: tuple[float, str] | None = None
        chosen = None
        for hive in self.hives.values():
            slots = hive.slots(model)
            used = inflight.get((hive.hive_id, model), 0)
            state = "ready" if self.dispatch_to_lost and hive.lost else hive.state(now)
            if state != "ready" or used >= slots:
                continue
            key = (used / slots, hive.hive_id)
            if best is None or key < best:
                best, chosen = key, hive
        return chosen

    def describe(self) -> list[dict[str, Any]]:
        """Every hive with its state, models and worker count."""
        now = self._clock()
        return [
            {
                "hive_id": h.hive_id,
                "url": h.url,
                "state": h.state(now),
                "models": h.models,
                "workers": len(h.workers),
                "last_seen_seconds": round(now - h.last_seen, 3),
            }
            for h in self.hives.values()
        ]

    def models(self) -> set[str]:
        """Models some live hive advertises."""
        return {m for h in self.hives.values() if not h.lost for m in h.models}

    def workers(self) -> list[dict[str, Any]]:
        """Every worker across hives, each with its hive_id and state (lost with its hive)."""
        return [
            {**w, "hive_id": h.hive_id, "state": "lost" if h.lost else w.get("status", "unknown")}
            for h in self.hives.values()
            for w in h.workers
        ]

    def counts(self) -> tuple[Counter[str], Counter[str]]:
        """Workers by state and hives by state."""
        now = self._clock()
        return Counter(w["state"] for w in self.workers()), Counter(h.state(now) for h in self.hives.values())

    def health(self) -> tuple[str, list[str]]:
        """ok | degraded | unhealthy, with reasons."""
        now = self._clock()
        if not self.hives:
            return "unhealthy", ["no hive registered"]
        answering = [h for h in self.hives.values() if h.state(now) in {"ready", "draining"}]
        reasons = [f"hive {h.hive_id} is {h.state(now)}" for h in self.hives.values() if h not in answering]
        if not answering:
            return "unhealthy", reasons or ["no hive answers"]
        reasons += [
            f"hive {h.hive_id} has no ready worker"
            for h in answering
            if not any(w.get("status") in SCHEDULABLE for w in h.workers)
        ]
        return ("degraded" if reasons else "ok"), reasons
