"""Requests sent N times (one after another, or all at once) and what their answers have in common.

    send_many(client, request, count, concurrent=False) -> Batch
    Batch.count(status) / Batch.summary() / Batch.distinct(kind, path)
    repeated(text, count) -> str

One Batch per scenario is kept by the step module (``batches(session)``). After a batch sent one
by one the client's ``last`` response is its last answer, so the single-response steps apply to it.
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from harness.clients import jsonpath, sse
from harness.clients.http import HttpClient, Request, Response, status_matches
from harness.clients.scope import Scope
from harness.errors import HarnessError

MAX_PARALLEL = 64


@dataclass(frozen=True)
class Batch:
    """The answers to one request sent several times, in sending order."""

    responses: tuple[Response, ...]
    concurrent: bool = False

    def count(self, status: str) -> int:
        """How many answers have ``status`` (``429``) or are of its class (``4xx``)."""
        return sum(1 for r in self.responses if status_matches(r.status, status))

    def summary(self) -> str:
        """``200 x5, 429 x3`` in order of first appearance."""
        counts = Counter(r.status for r in self.responses)
        return ", ".join(f"{status} x{n}" for status, n in counts.items()) or "no responses"

    def first_events(self, kind: str) -> list[sse.Event | None]:
        """The first event of ``kind`` in each answer's body (read as an event stream), None if none."""
        found: list[sse.Event | None] = []
        for response in self.responses:
            events = (e for e in sse.parse(response.text.splitlines() + [""]) if e.kind == kind)
            found.append(next(events, None))
        return found

    def distinct(self, kind: str, path: str) -> list[Any]:
        """The distinct JSON values at ``path`` in the first ``kind`` event of every answer."""
        seen: dict[str, Any] = {}
        for index, event in enumerate(self.first_events(kind), 1):
            if event is None:
                raise HarnessError(f"answer #{index} of {len(self.responses)} has no {kind!r} event: "
                                   f"{self.responses[index - 1].describe()}")
            value = jsonpath.at(event.data, path, what=f"the {kind} event of answer #{index}")
            seen.setdefault(json.dumps(value, sort_keys=True), value)
        return list(seen.values())


def send_many(client: HttpClient, request: Request, count: int, *, concurrent: bool = False) -> Batch:
    """Send ``request`` ``count`` times; concurrently on up to MAX_PARALLEL threads, or one by one."""
    if count < 1:
        raise HarnessError(f"cannot send a request {count} times", hint="send it at least once")
    if not concurrent:
        return Batch(tuple(client.send(request) for _ in range(count)))
    with ThreadPoolExecutor(max_workers=min(count, MAX_PARALLEL)) as pool:
        responses = tuple(pool.map(lambda _: client.send(request), range(count)))
    return Batch(responses, concurrent=True)


class Batches:
    """A scenario's last batch."""

    def __init__(self) -> None:
        self._last: Batch | None = None

    @property
    def last(self) -> Batch:
        """The scenario's last batch of requests."""
        if self._last is None:
            raise HarnessError("no batch of requests has been sent in this scenario",
                               hint='send one first: When I send 5 GET requests to "/path" on "SERVICE"')
        return self._last

    def keep(self, batch: Batch) -> Batch:
        """Keep ``batch`` as the last one."""
        self._last = batch
        return batch


def batches(session: Scope) -> Batches:
    """The scenario's batches (made on first use)."""
    found: Batches = session.extension("repeat", Batches)
    return found


def repeated(text: str, count: int) -> str:
    """``text`` repeated ``count`` times (a long value for limits tests)."""
    if count < 0:
        raise HarnessError(f"cannot repeat a text {count} times")
    return text * count
