"""Benchmark our load driver against locust (FastHttpUser) and wrk on one loopback aiohttp server.

Same server (its own process), same connection count, same duration; the tools take turns over
``--rounds`` rounds (default 3) and the order rotates each round (round r starts with tool r), so no
tool always runs first on a cold server or last on a warm one; medians are reported. Like for like:
wrk runs with one thread (one process, like our driver and locust) and, as a second figure, with
its default threads (2) — the fastest client we know of on this server, i.e. the floor this
server allows. The server and the load generator share the machine's cores, so the figures are
ratios on this machine, not absolutes; the load average is recorded. Usage:

    .venv/bin/python bench/load_vs_peers.py [--duration 10] [--connections 32] [--rounds 3]

Last line: ``vs_locust=<ours/locust req/s> vs_wrk=<ours/wrk -t1 req/s> vs_wrk_default=<ours/wrk
default threads req/s> p99_added_ms=<ours - wrk -t1 p99>``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.load import RequestSpec, run_closed  # noqa: E402

RESULTS = REPO / "bench" / "results" / "load_vs_peers.json"
GOALS = {"vs_locust": 1.0, "vs_wrk": 0.8, "p99_added_ms": 1.0}  # issue 29

SERVER = """
import sys
from aiohttp import web

async def health(request):
    return web.json_response({"status": "ok"})

app = web.Application()
app.router.add_get("/health", health)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""

LOCUSTFILE = """
from locust import FastHttpUser, constant, task

class Health(FastHttpUser):
    wait_time = constant(0)

    @task
    def health(self):
        self.client.get("/health")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"reference server did not listen on 127.0.0.1:{port} within {timeout}s")


def _missing_tools() -> list[str]:
    """Install commands for peers that are not installed."""
    missing = []
    if not (Path(sys.executable).parent / "locust").exists():
        pip = Path(sys.executable).parent / "pip"
        missing.append(f"{pip} install 'locust>=2.20'   # the 'bench' extra: pip install -e '.[bench]'")
    if shutil.which("wrk") is None:
        missing.append("apt-get install -y wrk")
    return missing


def run_ours(url: str, connections: int, duration: float, uvloop: bool | None) -> dict[str, Any]:
    """Our driver: closed loop, one virtual user per connection."""
    result = run_closed(RequestSpec(url), users=connections, duration=duration, connections=connections,
                        use_uvloop=uvloop)
    p = result.percentiles()
    return {"tool": f"harness.load ({result.loop})", "rps": result.throughput, "p50_ms": p["p50"] * 1e3,
            "p99_ms": p["p99"] * 1e3, "requests": result.count, "errors": result.count - result.ok_count,
            "p99.9_ms": p["p99.9"] * 1e3, "max_ms": p["max"] * 1e3}


def run_locust(url: str, connections: int, duration: float) -> dict[str, Any]:
    """locust FastHttpUser, headless, one user per connection, all spawned in the first second."""
    with tempfile.TemporaryDirectory() as tmp:
        locustfile = Path(tmp) / "locustfile.py"
        locustfile.write_text(LOCUSTFILE)
        argv = [str(Path(sys.executable).parent / "locust"), "-f", str(locustfile), "--headless",
                "-u", str(connections), "-r", str(connections), "-t", f"{duration:g}s", "--host", url,
                "--csv", str(Path(tmp) / "run"), "--only-summary", "--loglevel", "WARNING"]
        subprocess.run(argv, check=True, capture_output=True, timeout=duration + 60)
        with open(Path(tmp) / "run_stats.csv") as handle:
            row = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    return {"tool": "locust FastHttpUser", "rps": float(row["Requests/s"]), "p50_ms": float(row["50%"]),
            "p99_ms": float(row["99%"]), "requests": int(row["Request Count"]),
            "errors": int(row["Failure Count"]), "p99.9_ms": float(row["99.9%"]),
            "max_ms": float(row["Max Response Time"])}


def _wrk_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def run_wrk(url: str, connections: int, duration: float, threads: int | None) -> dict[str, Any]:
    """wrk with --latency; closed loop like the others; ``threads=None`` leaves wrk's default (2)."""
    argv = ["wrk", *([f"-t{threads}"] if threads else []), f"-c{connections}", f"-d{duration:g}s", "--latency", url]
    out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=duration + 60).stdout
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    total = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"tool": f"wrk -t{threads}" if threads else "wrk (default threads)", "rps": rps,
            "p50_ms": _wrk_ms(pct["50"]), "p99_ms": _wrk_ms(pct["99"]),
            "requests": int(total.group(1)) if total else 0, "errors": int(errors.group(1)) if errors else 0}


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One tool's runs folded into one row: the median of every number."""
    row = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, int | float) and key != "order":
            row[key] = statistics.median(run[key] for run in runs)
    row["runs"] = len(runs)
    return row


def _table(rows: list[dict[str, Any]]) -> str:
    lines = ["| tool | req/s | p50 ms | p99 ms | requests | errors |", "|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['tool']} | {row['rps']:.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} "
                     f"| {row['requests']:.0f} | {row['errors']:.0f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per tool (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="connections per tool (default 32)")
    parser.add_argument("--wrk-threads", type=int, default=1,
                        help="wrk threads (default 1: one process, like our driver and locust)")
    parser.add_argument("--uvloop", choices=["auto", "on", "off"], default="auto",
                        help="our driver's event loop (auto: uvloop when installed)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of every tool in turn, order rotated each round; medians (default 3)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args()

    missing = _missing_tools()
    if missing:
        print("missing peers; install them with:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 2

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    try:
        _wait_for_port(port, 15.0)
        warm_up = ["wrk", "-t1", "-c8", "-d1s", url + "/health"]
        subprocess.run(warm_up, check=True, capture_output=True)
        load_before = os.getloadavg()
        uvloop = {"auto": None, "on": True, "off": False}[args.uvloop]
        tools: list[Callable[[], dict[str, Any]]] = [
            lambda: run_ours(url + "/health", args.connections, args.duration, uvloop),
            lambda: run_locust(url, args.connections, args.duration),
            lambda: run_wrk(url + "/health", args.connections, args.duration, args.wrk_threads),
            lambda: run_wrk(url + "/health", args.connections, args.duration, None)]
        rounds: list[list[dict[str, Any]]] = []
        for number in range(max(1, args.rounds)):
            order = [(number + k) % len(tools) for k in range(len(tools))]
            done = {index: tools[index]() for index in order}
            rounds.append([{**done[index], "order": order.index(index)} for index in range(len(tools))])
            print(f"round {number + 1}: order {[done[i]['tool'] for i in order]}", file=sys.stderr)
        rows = [_median(list(runs)) for runs in zip(*rounds, strict=True)]
    finally:
        server.terminate()
        server.wait(10)

    ours, locust, wrk, wrk_default = rows
    ratios = {"vs_locust": ours["rps"] / locust["rps"], "vs_wrk": ours["rps"] / wrk["rps"],
              "vs_wrk_default": ours["rps"] / wrk_default["rps"],
              "p99_added_ms": ours["p99_ms"] - wrk["p99_ms"]}
    met = {"vs_locust": ratios["vs_locust"] >= GOALS["vs_locust"],
           "vs_wrk": ratios["vs_wrk"] >= GOALS["vs_wrk"],
           "p99_added_ms": ratios["p99_added_ms"] <= GOALS["p99_added_ms"]}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": os.cpu_count(),
        "python": platform.python_version(), "load_average_before": load_before,
        "load_average_after": os.getloadavg(), "duration_s": args.duration, "connections": args.connections,
        "endpoint": "GET /health on one aiohttp server process (127.0.0.1)", "rounds": rounds,
        "floor": "wrk with its default threads: the fastest client on this server (vs_wrk_default)",
        "results": rows,
        "ratios": {k: round(v, 3) for k, v in ratios.items()}, "goals": GOALS, "goals_met": met,
    }, indent=2) + "\n")
    print(_table(rows))
    verdicts = ", ".join(f"{name} {'ok' if ok else 'MISSED'} "
                         f"(goal {'<=' if name == 'p99_added_ms' else '>='} {GOALS[name]:g})"
                         for name, ok in met.items())
    print(f"\ngoals: {verdicts}; load average before {load_before[0]:.2f}; "
          f"JSON in {RESULTS.relative_to(REPO)}")
    print(f"vs_locust={ratios['vs_locust']:.2f} vs_wrk={ratios['vs_wrk']:.2f} "
          f"vs_wrk_default={ratios['vs_wrk_default']:.2f} p99_added_ms={ratios['p99_added_ms']:.2f}")
    return 1 if args.check and not all(met.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
