"""Simulated model downloads; concurrent requests for one model share a single download."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator
from typing import Any

from services.common.logs import EventLog

log = EventLog("services.hive.provision")
MODEL_BYTES = 64 << 20


class Download:
    """One download: its event history, replayed to every follower."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.download_id = uuid.uuid4().hex[:12]
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.followers = 0
        self.done = False
        self._changed = asyncio.Condition()

    async def publish(self, event: str, data: dict[str, Any], final: bool = False) -> None:
        """Append an event and wake followers."""
        async with self._changed:
            self.events.append((event, {"download_id": self.download_id, "model": self.model, **data}))
            self.done = final
            self._changed.notify_all()

    async def follow(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Every event from the start, then new ones as they come, until the final one."""
        seen = 0
        while True:
            async with self._changed:
                await self._changed.wait_for(functools.partial(self._has_more, seen))
                fresh, seen, finished = self.events[seen:], len(self.events), self.done
            for item in fresh:
                yield item
            if finished:
                return

    def _has_more(self, seen: int) -> bool:
        return len(self.events) > seen

    @property
    def percent(self) -> int:
        """Progress so far."""
        progress = [d["percent"] for e, d in self.events if e == "progress"]
        return 100 if self.done else (progress[-1] if progress else 0)


class Provisioner:
    """Start or join downloads; counts how many really started."""

    def __init__(self, seconds: float, steps: int) -> None:
        self.seconds, self.steps = seconds, max(1, steps)
        self.downloads: dict[str, Download] = {}
        self.started_total = 0
        self.joined_total = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def start_or_join(self, model: str) -> tuple[Download, bool]:
        """The model's download and whether this call joined an existing one."""
        existing = self.downloads.get(model)
        if existing is not None:
            self.joined_total += 1
            existing.followers += 1
            return existing, True
        download = Download(model)
        download.followers = 1
        self.downloads[model] = download
        self.started_total += 1
        task = asyncio.ensure_future(self._run(download))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return download, False

    async def _run(self, download: Download) -> None:
        log.info("download_started", model=download.model, download_id=download.download_id)
        for step in range(1, self.steps + 1):
            await asyncio.sleep(self.seconds / self.steps)
            percent = step * 100 // self.steps
            await download.publish(
                "progress",
                {"percent": percent, "bytes": MODEL_BYTES * step // self.steps, "total_bytes": MODEL_BYTES},
            )
        await download.publish("download_completed", {"percent": 100}, final=True)
        log.info("download_completed", model=download.model, download_id=download.download_id)

    def catalogue(self) -> list[dict[str, Any]]:
        """Every model ever provisioned, with state and progress."""
        return [
            {
                "name": d.model,
                "state": "available" if d.done else "downloading",
                "percent": d.percent,
                "download_id": d.download_id,
                "requests": d.followers,
            }
            for d in self.downloads.values()
        ]
