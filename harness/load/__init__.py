"""Load driver: closed and open loop on aiohttp, HDR-style percentiles, operation histories.

Describe one request, run it from a behave step (synchronous), check what came back::

    from harness.load import RequestSpec, run_closed, run_open, no_duplicate_ids

    spec = RequestSpec(
        url=env.url("queen") + "/jobs", method="POST",
        headers=lambda user, seq: {"Authorization": f"Bearer {tokens[user]}"},
        json=lambda user, seq: {"prompt": f"job {seq}"},
        id_key="job_id",                              # taken from each JSON response
    )
    result = run_closed(spec, users=8, requests_per_user=50)      # or duration=10.0
    result = run_open(spec, rate=200, duration=10.0)              # latency from intended send
    print(result.format_table())          # Markdown: requests, ok %, req/s, p50 ... max
    result.throughput, result.success_rate, result.status_counts, result.percentiles()
    check = no_duplicate_ids(result.history())    # CheckResult(valid, checked, problems)

Every run is bounded (a count and/or a duration, capped by ``Limits``) and may target only
loopback or the project's own docker networks (``Limits(allowed_networks=(cidr, ...))``).
Inside a coroutine, await ``closed_loop``/``open_loop`` instead. uvloop is used when installed
(``use_uvloop=None``); pass ``use_uvloop=False`` for the standard loop.
"""

from __future__ import annotations

from harness.load.driver import closed_loop, open_loop, run_closed, run_open
from harness.load.histogram import Histogram
from harness.load.history import (
    CheckResult,
    History,
    Operation,
    completes_within,
    no_duplicate_ids,
    no_lost_jobs,
)
from harness.load.results import LoadResult, Record, Second, format_table
from harness.load.spec import Limits, RequestSpec, check_target, is_2xx

__all__ = [
    "CheckResult",
    "Histogram",
    "History",
    "Limits",
    "LoadResult",
    "Operation",
    "Record",
    "RequestSpec",
    "Second",
    "check_target",
    "closed_loop",
    "completes_within",
    "format_table",
    "is_2xx",
    "no_duplicate_ids",
    "no_lost_jobs",
    "open_loop",
    "run_closed",
    "run_open",
]
