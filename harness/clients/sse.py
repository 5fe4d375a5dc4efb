"""Server-Sent Events: read a streamed response into a list of events, with two timeouts.

``consume`` sends one streaming request and reads ``text/event-stream`` lines until the server
closes the stream, an event of a ``stop_at`` kind arrives, no byte arrives for ``idle`` seconds,
or ``total`` seconds pass (checked as data arrives, so a trickling stream may overrun it by less
than ``idle``). It never raises for a timeout or a cut stream: the ``Stream`` says
how it ended, and ``Stream.failure()`` says it in words (events so far, the last one).
Errors before the response starts (connect, write) are left to the caller to translate.
``Parser`` is the same parsing fed one line at a time (harness.clients.ws reads background streams with it).

Why our own parser and not ``httpx-sse`` (measured by bench/parsers.py, results in
bench/results/parsers.json; 10,000 events, 15 rounds, CPU time, load 8-11 on 2 cores): the library is
a little faster — its line decoder 31.1 ms against our Parser's 41.8 ms (ratio 0.75, best rounds 0.84),
and through an httpx response 37.3 ms against 41.6 ms (0.90) — about 1 us an event, nothing beside the
network. It is kept out for what it does: it dispatches events that have no data (an ``event: ping``
keep-alive, or a second blank line once any ``id:`` was seen, becomes an event; WHATWG says no event
without data), which would change the kinds and order the steps check; its public reader takes only an
``httpx.Response``, and our background streams are aiohttp (harness.clients.ws), which only its private
``httpx_sse._decoders.SSEDecoder`` could read. Both skip comment lines.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.clients.jsonpath import excerpt

CLOSED = "closed"
STOPPED = "stopped"
IDLE_TIMEOUT = "idle timeout"
TOTAL_TIMEOUT = "total timeout"
BROKEN = "broken"


@dataclass(frozen=True)
class Event:
    """One event: its kind (``event:`` field, default ``message``), data, id, arrival in ms."""

    kind: str
    data: Any
    raw: str
    id: str | None = None
    at_ms: float = 0.0

    def describe(self) -> str:
        """``kind {data}`` shortened, for messages."""
        return f"{self.kind} {excerpt(self.data, 200)}"


@dataclass
class Stream:
    """A consumed event stream: status, headers, events and how it ended."""

    method: str
    url: str
    status: int
    headers: httpx.Headers
    events: list[Event] = field(default_factory=list)
    ended: str = CLOSED
    detail: str = ""
    elapsed_ms: float = 0.0
    body: str = ""
    total: float = 0.0
    idle: float = 0.0

    @property
    def finished(self) -> bool:
        """True when the server closed the stream or a stop event arrived."""
        return self.ended in (CLOSED, STOPPED)

    def kinds(self) -> list[str]:
        """The kinds of the events, in arrival order."""
        return [event.kind for event in self.events]

    def failure(self) -> str:
        """What went wrong, with the count of events and the last one."""
        limit = {IDLE_TIMEOUT: f" (no data for {self.idle:g} s)", TOTAL_TIMEOUT: f" (limit {self.total:g} s)"}
        last = self.events[-1].describe() if self.events else "none"
        detail = f": {self.detail}" if self.detail else ""
        how = f"{self.ended}{limit.get(self.ended, '')}{detail}"
        return (f"the event stream of {self.method} {self.url} ended by {how} "
                f"after {self.elapsed_ms:.0f} ms; {len(self.events)} events arrived "
                f"({summary(self.kinds())}); last event: {last}")


def summary(kinds: list[str]) -> str:
    """``job_started, token x3, job_completed``: consecutive kinds collapsed with counts."""
    parts = [f"{kind} x{count}" if count > 1 else kind for kind, count in runs(kinds)]
    return ", ".join(parts) or "no events"


def runs(kinds: Iterable[str]) -> list[tuple[str, int]]:
    """Consecutive equal kinds collapsed into (kind, count)."""
    out: list[tuple[str, int]] = []
    for kind in kinds:
        if out and out[-1][0] == kind:
            out[-1] = (kind, out[-1][1] + 1)
        else:
            out.append((kind, 1))
    return out


def order_difference(events: list[Event], expected: list[str]) -> str:
    """Empty when the event kinds, consecutive duplicates collapsed, are ``expected``; else what differs."""
    seen = runs(event.kind for event in events)
    want = [kind for kind, _ in runs(expected)]
    starts = [sum(count for _, count in seen[:i]) for i in range(len(seen))]
    context = f"\nexpected: {', '.join(want)}\narrived:  {summary([e.kind for e in events])}"
    for i, kind in enumerate(want):
        if i >= len(seen):
            after = f"after {want[i - 1]} " if i else ""
            return f"expected {kind} {after}but the stream had no more events{context}"
        if seen[i][0] != kind:
            got = f"event #{starts[i] + 1}: {events[starts[i]].describe()}"
            return f"expected {kind} at step {i + 1} of the order, got {got}{context}"
    if len(seen) > len(want):
        extra = f"event #{starts[len(want)] + 1}: {events[starts[len(want)]].describe()}"
        return f"after {want[-1] if want else 'nothing'} came unexpected {extra}{context}"
    return ""


@dataclass
class _Pending:
    kind: str = ""
    data: list[str] = field(default_factory=list)
    id: str | None = None


class Parser:
    """Incremental ``text/event-stream`` parsing: feed lines, get an Event at each blank line."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter, started: float | None = None) -> None:
        self._clock = clock
        self._origin = clock() if started is None else started
        self._pending = _Pending()
        self._last_id: str | None = None

    def feed(self, line: str) -> Event | None:
        """Take one line (without its end); return the event it completes, if any."""
        if line == "":
            done, self._pending = self._pending, _Pending()
            if not done.data:
                return None
            raw = "\n".join(done.data)
            return Event(done.kind or "message", _data(raw), raw, self._last_id, (self._clock() - self._origin) * 1000)
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._pending.kind = value
        elif name == "data":
            self._pending.data.append(value)
        elif name == "id" and "\0" not in value:
            self._last_id = value
        return None


def parse(lines: Iterable[str], clock: Callable[[], float] = time.perf_counter,
          started: float | None = None) -> Iterator[Event]:
    """Events from ``text/event-stream`` lines (the WHATWG rules; comments and retry ignored)."""
    parser = Parser(clock, started)
    for line in lines:
        event = parser.feed(line)
        if event is not None:
            yield event


def _data(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def consume(client: httpx.Client, method: str, url: str, *, total: float, idle: float,
            stop_at: frozenset[str] = frozenset(), clock: Callable[[], float] = time.perf_counter,
            **request: Any) -> Stream:
    """Send a streaming request and read its events until it ends (see the module docstring)."""
    timeout = httpx.Timeout(client.timeout.connect, read=min(idle, total), write=client.timeout.write,
                            pool=client.timeout.pool)
    started = clock()
    with client.stream(method, url, timeout=timeout, **request) as response:
        stream = Stream(method, url, response.status_code, response.headers, total=total, idle=idle)
        if response.status_code >= 300 or "text/event-stream" not in response.headers.get("content-type", ""):
            stream.body = response.read().decode(response.encoding or "utf-8", errors="replace")
        else:
            _read(stream, response, started, clock, stop_at)
    stream.elapsed_ms = (clock() - started) * 1000
    return stream


def _read(stream: Stream, response: httpx.Response, started: float, clock: Callable[[], float],
          stop_at: frozenset[str]) -> None:
    lines: list[str] = []

    def watched() -> Iterator[str]:
        for line in response.iter_lines():
            lines.append(line)
            yield line
            if clock() - started > stream.total:
                stream.ended = TOTAL_TIMEOUT
                return

    try:
        for event in parse(watched(), clock, started):
            stream.events.append(event)
            if event.kind in stop_at:
                stream.ended = STOPPED
                break
    except httpx.ReadTimeout:
        stream.ended = TOTAL_TIMEOUT if clock() - started >= stream.total else IDLE_TIMEOUT
    except httpx.HTTPError as exc:
        stream.ended, stream.detail = BROKEN, f"{type(exc).__name__}: {exc}"
    stream.body = "\n".join(lines)
