"""Choosing a worker: the least-loaded ready worker for the model."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from services.hive.registry import WorkerRecord

SCHEDULABLE = frozenset({"ready", "busy"})


def least_loaded(
    workers: Iterable[WorkerRecord], model: str, inflight: Mapping[str, int], exclude: Collection[str] = ()
) -> WorkerRecord | None:
    """The worker for ``model`` with the lowest load (jobs this hive runs on it / its slots)."""
    candidates = [
        w
        for w in workers
        if w.model == model
        and w.status in SCHEDULABLE
        and w.worker_id not in exclude
        and inflight.get(w.worker_id, 0) < w.slots
    ]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda w: (inflight.get(w.worker_id, 0) / w.slots, inflight.get(w.worker_id, 0), w.worker_id),
    )
