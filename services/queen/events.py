"""The per-tenant job event channel behind ``GET /v1/events`` (WebSocket).

Every job event is numbered with ``seq`` (per tenant, from 1, increasing) and kept in a bounded
window (the last ``window`` events of the tenant). A subscriber gets the tenant's live events; one
that reconnects with ``since=<seq>`` first gets every kept event after it, so nothing published
while it was away is lost. When the window no longer holds ``since + 1`` the replay starts with an
``events_lost`` frame naming the gap. Sequence numbers live in memory: a queen restart starts over.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Frame = dict[str, Any]


@dataclass
class _Tenant:
    seq: int = 0
    kept: deque[Frame] = field(default_factory=deque)
    queues: set[asyncio.Queue[Frame | None]] = field(default_factory=set)


class SlowSubscriber(Exception):
    """A subscriber's queue overflowed; it must reconnect with ``since``."""


class EventHub:
    """Numbers, keeps and fans out each tenant's job events."""

    def __init__(self, window: int = 1000, queue_limit: int = 10000,
                 clock: Callable[[], float] = time.time) -> None:
        self.window, self.queue_limit, self._clock = window, queue_limit, clock
        self._tenants: dict[str, _Tenant] = {}
        self.replay_enabled = True  # mutation switch QUEEN_NO_EVENT_REPLAY: since= replays nothing

    def publish(self, tenant: str, kind: str, data: dict[str, Any]) -> Frame:
        """Number the event, keep it, and hand it to every live subscriber of the tenant."""
        state = self._tenants.setdefault(tenant, _Tenant())
        state.seq += 1
        frame = {**data, "type": kind, "seq": state.seq, "published_at": self._clock()}
        state.kept.append(frame)
        while len(state.kept) > self.window:
            state.kept.popleft()
        for queue in list(state.queues):
            if queue.qsize() >= self.queue_limit:
                state.queues.discard(queue)
                queue.put_nowait(None)
            else:
                queue.put_nowait(frame)
        return frame

    def subscribe(self, tenant: str, since: int | None) -> tuple[list[Frame], asyncio.Queue[Frame | None]]:
        """The replay after ``since`` (empty when None) and a queue of the live events that follow."""
        state = self._tenants.setdefault(tenant, _Tenant())
        queue: asyncio.Queue[Frame | None] = asyncio.Queue()
        state.queues.add(queue)
        return (self.replay(tenant, since) if since is not None else []), queue

    def unsubscribe(self, tenant: str, queue: asyncio.Queue[Frame | None]) -> None:
        """Stop feeding a subscriber."""
        state = self._tenants.get(tenant)
        if state is not None:
            state.queues.discard(queue)

    def replay(self, tenant: str, since: int) -> list[Frame]:
        """Kept events after ``since``; an ``events_lost`` frame first when some are no longer kept."""
        state = self._tenants.get(tenant)
        if state is None or not self.replay_enabled:
            return []
        frames = [frame for frame in state.kept if frame["seq"] > since]
        oldest = frames[0]["seq"] if frames else state.seq + 1
        if since < state.seq and oldest > since + 1:
            lost = {"type": "events_lost", "since": since, "first_kept": oldest, "missing": oldest - since - 1,
                    "published_at": self._clock()}
            return [lost, *frames]
        return frames

    def subscribers(self, tenant: str) -> int:
        """How many subscribers a tenant has now."""
        state = self._tenants.get(tenant)
        return len(state.queues) if state else 0


def encode(frame: Frame) -> str:
    """One frame as compact JSON text."""
    return json.dumps(frame, separators=(",", ":"))
