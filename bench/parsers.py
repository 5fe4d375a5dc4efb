"""Benchmark: our Prometheus text and SSE parsers against the libraries that do the same job, on the same input.

    prometheus   harness.clients.metrics.parse(text)  vs  prometheus_client.parser.text_string_to_metric_families
                 on a 2,000-series exposition (counters with timestamps, gauges, histograms; labels with escapes)
    sse-lines    harness.clients.sse.Parser.feed(line)  vs  httpx_sse's SSEDecoder.decode(line) (private: the only
                 part of httpx-sse that could read our aiohttp streams), on the 10,000 events' lines
    sse-httpx    harness.clients.sse.parse(response.iter_lines())  vs  httpx_sse.EventSource(response).iter_sse(),
                 both from the same in-memory httpx.Response (the path of the `I stream ...` steps)

Both sides do what the harness needs of them: every SSE event's data is JSON-decoded (ours does it inside);
the Prometheus side only builds the library's objects (mapping them onto our samples would cost more).
Each round times every pair in one process (CPU time of the process: the machine is shared), ours first in
odd rounds and the library first in even ones; a case is reported by its median round and its best round,
``ratio`` = library median / our median and ``ratio_best`` = library best / our best (> 1: ours is faster).
Also prints where the outputs differ (the features that decide besides speed), and the machine's load
and CPU steal beside the numbers. Results go to bench/results/parsers.json.

Needs the bench extras: pip install -e '.[bench]' (prometheus-client, httpx-sse).
Run: .venv/bin/python bench/parsers.py [--rounds 15] [--series 2000] [--events 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import EventSource
from httpx_sse._decoders import SSEDecoder
from prometheus_client.parser import text_string_to_metric_families

from harness.clients import metrics, sse

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "parsers.json"


def exposition(series: int, seed: int = 7) -> str:
    """A Prometheus page of about ``series`` series: a fifth counters (with timestamps), gauges, histograms."""
    rng = random.Random(seed)
    lines: list[str] = []
    per_family = 50
    families = max(1, series // per_family)
    for f in range(families):
        kind = ("counter", "gauge", "histogram", "gauge", "counter")[f % 5]
        name = f"svc_metric_{f}" + ("_total" if kind == "counter" else "")
        lines += [f"# HELP {name} Family {f} of the benchmark.", f"# TYPE {name} {kind}"]
        if kind == "histogram":
            for s in range(per_family // 5):  # 5 series per histogram child: 3 buckets, sum, count
                labels = f'route="/v1/r{s}",method="GET"'
                lines += [f'{name}_bucket{{{labels},le="0.1"}} {s}', f'{name}_bucket{{{labels},le="1"}} {2 * s}',
                          f'{name}_bucket{{{labels},le="+Inf"}} {3 * s}', f"{name}_sum{{{labels}}} {rng.random():.6f}",
                          f"{name}_count{{{labels}}} {3 * s}"]
            continue
        for s in range(per_family):
            labels = f'outcome="o{s % 7}",worker="w-{s}",note="a \\"quoted\\" value"'
            stamp = f" {1700000000000 + s}" if kind == "counter" else ""
            lines.append(f"{name}{{{labels}}} {rng.random() * 1000:.3f}{stamp}")
    return "\n".join(lines) + "\n"


def event_stream(events: int, seed: int = 7) -> str:
    """``events`` SSE events: JSON data, an event kind, an id every 10th, a comment every 50th."""
    rng = random.Random(seed)
    out: list[str] = []
    for i in range(events):
        if i % 50 == 0:
            out.append(": keep-alive")
        if i % 10 == 0:
            out.append(f"id: {i}")
        out += [f"event: {('token', 'progress', 'job_started')[i % 3]}",
                "data: " + json.dumps({"seq": i, "text": f"word{rng.randrange(1000)}", "done": False}), ""]
    return "\n".join(out) + "\n"


def ours_prometheus(text: str) -> int:
    return len(metrics.parse(text).samples)


def lib_prometheus(text: str) -> int:
    return sum(len(family.samples) for family in text_string_to_metric_families(text))


def ours_sse_lines(lines: list[str]) -> int:
    parser, count = sse.Parser(), 0
    for line in lines:
        if parser.feed(line) is not None:
            count += 1
    return count


def lib_sse_lines(lines: list[str]) -> int:
    decoder, count = SSEDecoder(), 0
    for line in lines:
        event = decoder.decode(line)
        if event is not None:
            sse._data(event.data)
            count += 1
    return count


def _response(body: bytes) -> httpx.Response:
    chunks = [body[i:i + 4096] for i in range(0, len(body), 4096)]  # as a network delivers it
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_Chunks(chunks))


class _Chunks(httpx.SyncByteStream):
    """A response body in 4 KiB chunks."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Any:
        return iter(self.chunks)


def ours_sse_httpx(body: bytes) -> int:
    return sum(1 for _ in sse.parse(_response(body).iter_lines()))


def lib_sse_httpx(body: bytes) -> int:
    count = 0
    for event in EventSource(_response(body)).iter_sse():
        sse._data(event.data)
        count += 1
    return count


def _time(fn: Callable[[Any], int], arg: Any) -> tuple[float, int]:
    """CPU seconds of this process (other tenants' load moves wall time far more) and the count returned."""
    started = time.process_time()
    result = fn(arg)
    return time.process_time() - started, result


def differences() -> dict[str, list[str]]:
    """Where the libraries' outputs differ from ours on small, telling inputs."""
    page = ('# TYPE jobs_total counter\njobs_total{outcome="done"} 3 1700000000000\n'
            'jobs_created{outcome="done"} 1.7e9\n')
    ours = metrics.parse(page)
    theirs = list(text_string_to_metric_families(page))
    prometheus = [
        f"family of jobs_total: ours {ours.samples[0].family!r} ({ours.samples[0].type}), "
        f"prometheus_client {theirs[0].name!r} ({theirs[0].type})",
        f"jobs_created (no TYPE of its own): ours family {ours.samples[1].family!r} ({ours.samples[1].type}), "
        f"prometheus_client family {theirs[1].name!r} ({theirs[1].type})",
        f"timestamp 1700000000000: ours {ours.samples[0].timestamp!r}, prometheus_client "
        f"{theirs[0].samples[0].timestamp!r}",
    ]
    try:
        list(text_string_to_metric_families("ok 1\nbroken{ 2\n"))
        prometheus.append("a bad line: prometheus_client accepts it")
    except ValueError as exc:
        prometheus.append(f"a bad line: prometheus_client ValueError {str(exc)[:60]!r} (no line number); ours "
                          f"ExpositionError 'line 2: ...'")
    keepalive = ["event: ping", "", "id: 7", "data: {}", "", "", ": comment", "data: x", ""]
    ours_events = [e.kind for e in sse.parse(keepalive)]
    decoder = SSEDecoder()
    lib_events = [e.event or "message" for e in (decoder.decode(line) for line in keepalive) if e is not None]
    events = [f"'event: ping' with no data, then an id, a blank line more, a comment: ours {ours_events}, "
              f"httpx-sse {lib_events} (WHATWG: no event without data)",
              "comments: both skip them; neither hands them to the caller",
              "httpx-sse reads only an httpx.Response (EventSource); our background streams are aiohttp "
              "(harness.clients.ws), which only its private SSEDecoder could read"]
    return {"prometheus": prometheus, "sse": events}


def machine() -> dict[str, Any]:
    """Load average and CPU steal (vmstat) beside the numbers: a shared host can take CPU for minutes."""
    try:
        out = subprocess.run(["vmstat", "1", "3"], capture_output=True, text=True, timeout=10).stdout.split("\n")
        header = out[1].split()
        steal = [int(line.split()[header.index("st")]) for line in out[2:] if line.strip()]
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        steal = []
    return {"loadavg": os.getloadavg(), "cpu_steal_pct": steal, "cpus": os.cpu_count(),
            "python": platform.python_version()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--events", type=int, default=10000)
    args = parser.parse_args()
    page = exposition(args.series)
    stream = event_stream(args.events)
    lines = stream.split("\n")
    body = stream.encode()
    cases: dict[str, tuple[Callable[[Any], int], Callable[[Any], int], Any]] = {
        "prometheus": (ours_prometheus, lib_prometheus, page),
        "sse-lines": (ours_sse_lines, lib_sse_lines, lines),
        "sse-httpx": (ours_sse_httpx, lib_sse_httpx, body),
    }
    before = machine()
    times: dict[str, dict[str, list[float]]] = {name: {"ours": [], "library": []} for name in cases}
    counts: dict[str, dict[str, int]] = {name: {} for name in cases}
    for round_ in range(args.rounds):
        for name, (ours, lib, arg) in cases.items():
            order = [("ours", ours), ("library", lib)] if round_ % 2 == 0 else [("library", lib), ("ours", ours)]
            for side, fn in order:
                seconds, count = _time(fn, arg)
                times[name][side].append(seconds)
                counts[name][side] = count
    report: dict[str, Any] = {"rounds": args.rounds, "series_samples": counts["prometheus"].get("ours"),
                              "events": counts["sse-lines"].get("ours"), "machine_before": before, "cases": {}}
    for name, sides in times.items():
        ours_s, lib_s = statistics.median(sides["ours"]), statistics.median(sides["library"])
        best = min(sides["library"]) / min(sides["ours"])
        report["cases"][name] = {"ours_s": round(ours_s, 5), "library_s": round(lib_s, 5),
                                 "ratio": round(lib_s / ours_s, 2), "ratio_best": round(best, 2),
                                 "counts": counts[name],
                                 "ours_all": [round(t, 5) for t in sides["ours"]],
                                 "library_all": [round(t, 5) for t in sides["library"]]}
        print(f"{name:11s} ours {ours_s * 1000:8.2f} ms  library {lib_s * 1000:8.2f} ms  "
              f"ratio={lib_s / ours_s:.2f}  ratio_best={best:.2f}  counts {counts[name]}")
    report["differences"] = differences()
    report["machine_after"] = machine()
    for kind, notes in report["differences"].items():
        for note in notes:
            print(f"{kind}: {note}")
    print(f"machine: loadavg {report['machine_after']['loadavg']}, steal % {report['machine_after']['cpu_steal_pct']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
