"""Look accepted jobs up after a load run: many GETs at once, in rounds until each is final.

Each round fetches the jobs not yet final concurrently (aiohttp, one event loop per round);
rounds repeat through ``harness.waiting.poll`` until every job is done or failed, or the
time is up. ``fetch`` is injectable, so tests need no server.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from harness.errors import VerificationFailed
from harness.load.spec import check_target
from harness.load.target import JobLookup
from harness.waiting import poll

Query = tuple[str, str, Mapping[str, str]]
"""(job id, URL, headers) of one lookup."""
Answer = tuple[int, Any]
"""(HTTP status, parsed JSON or None; status 0 for no answer, with the error text as the body)."""
Fetch = Callable[[Sequence[Query]], dict[str, Answer]]


@dataclass(frozen=True)
class JobState:
    """What a lookup saw of one job: HTTP status, state, wall-clock finish time, a short excerpt."""

    job_id: str
    status: int
    state: str | None
    finished: float | None
    excerpt: str

    def describe(self) -> str:
        """``job-1: HTTP 200 state 'failed' {...}``."""
        return f"{self.job_id}: HTTP {self.status} state {self.state!r} {self.excerpt}"


def judge(job_id: str, answer: Answer, lookup: JobLookup) -> JobState:
    """Read one answer: the state and finish time at the lookup's keys."""
    status, body = answer
    state = finished = None
    if isinstance(body, dict):
        value = body.get(lookup.state_key)
        state = None if value is None else str(value)
        done_at = body.get(lookup.finished_key) if lookup.finished_key else None
        finished = float(done_at) if isinstance(done_at, int | float) else None
    excerpt = json.dumps(body)[:200] if body is not None else ""
    return JobState(job_id, status, state, finished, excerpt)


def is_final(state: JobState, lookup: JobLookup) -> bool:
    """Done, failed, or an answer that will not change (a 4xx such as 404)."""
    return state.state == lookup.done or state.state in lookup.failed or 400 <= state.status < 500


def look_up(queries: Sequence[Query], lookup: JobLookup, *, within: float, interval: float = 0.5,
            fetch: Fetch | None = None, sleep: Callable[[float], None] = time.sleep) -> dict[str, JobState]:
    """Every job's last seen state, polling the unfinished ones for up to ``within`` seconds."""
    fetch = fetch or fetch_all
    states: dict[str, JobState] = {}
    pending = list(queries)

    def round_() -> None:
        nonlocal pending
        answers = fetch(pending)
        for job_id, _, _ in pending:
            states[job_id] = judge(job_id, answers.get(job_id, (0, None)), lookup)
        pending = [q for q in pending if not is_final(states[q[0]], lookup)]
        if pending:
            raise VerificationFailed(f"{len(pending)} jobs not final yet, e.g. {states[pending[0][0]].describe()}")

    try:
        poll(round_, timeout=within, interval=interval, sleep=sleep)
    except VerificationFailed:
        pass  # the caller judges what was seen last
    return states


def fetch_all(queries: Sequence[Query], concurrency: int = 32, timeout: float = 10.0) -> dict[str, Answer]:
    """GET every query's URL concurrently (loopback only); status 0 when no answer came."""
    for _, url, _ in queries:
        check_target(url)
    return asyncio.run(_fetch_all(queries, concurrency, timeout))


async def _fetch_all(queries: Sequence[Query], concurrency: int, timeout: float) -> dict[str, Answer]:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)) as http:
        async def one(query: Query) -> tuple[str, Answer]:
            job_id, url, headers = query
            try:
                async with http.get(url, headers=dict(headers)) as response:
                    body = await response.read()
                    try:
                        return job_id, (response.status, json.loads(body))
                    except ValueError:
                        return job_id, (response.status, body.decode(errors="replace")[:200])
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                return job_id, (0, f"{type(exc).__name__}: {exc}")

        return dict(await asyncio.gather(*(one(q) for q in queries)))
