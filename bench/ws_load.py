"""Benchmark the WebSocket load driver against a minimal raw aiohttp WebSocket loop (the floor).

One loopback aiohttp echo server in its own process; the same connection count and duration for
both; each connection sends a small JSON message and waits for its echo before the next (closed
loop). The floor does nothing else; the driver also parses each reply, matches it to its message,
and records its latency. Rounds alternate which goes first; the result is the median of the per-round ratios. Usage:

    .venv/bin/python bench/ws_load.py [--duration 3] [--connections 32] [--rounds 6]

Last line: ``ws_vs_floor=<driver msgs/s / floor msgs/s>`` (goal >= 0.8).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.load.ws import WsSpec, run_ws  # noqa: E402

RESULTS = REPO / "bench" / "results" / "ws_load.json"
GOAL = 0.8

SERVER = """
import sys
from aiohttp import web

async def echo(request):
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for message in ws:
        await ws.send_str(message.data)
    return ws

app = web.Application()
app.router.add_get("/echo", echo)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"echo server did not listen on 127.0.0.1:{port} within {timeout}s")


async def _floor(url: str, connections: int, duration: float) -> float:
    """Messages per second of the plainest loop: send, await the echo, repeat."""
    count = 0

    async def one(session: aiohttp.ClientSession, index: int) -> None:
        nonlocal count
        async with session.ws_connect(url) as ws:
            deadline = time.perf_counter() + duration
            seq = 0
            while time.perf_counter() < deadline:
                await ws.send_str(f'{{"id": "c{index}-s{seq}"}}')
                await ws.receive()
                seq += 1
                count += 1

    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        await asyncio.gather(*(one(session, i) for i in range(connections)))
        return count / (time.perf_counter() - started)


def _driver(url: str, connections: int, duration: float) -> tuple[float, float, float]:
    """Messages per second, p99 in ms and delivery ratio of the load driver on the same loop."""
    result = run_ws(WsSpec(url, message='{"id": "{id}"}', rate=0), connections=connections, duration=duration,
                    linger=2.0)
    return result.ok_count / result.elapsed, result.percentiles()["p99"] * 1e3, result.extra["delivery_ratio"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    try:
        _wait_for_port(port)
        url = f"ws://127.0.0.1:{port}/echo"
        floors, drivers, p99s, ratios = [], [], [], []
        for round_ in range(args.rounds):
            if round_ % 2:  # alternate which goes first, so neither always gets the quieter moment
                rate, p99, delivered = _driver(url, args.connections, args.duration)
                floors.append(asyncio.run(_floor(url, args.connections, args.duration)))
            else:
                floors.append(asyncio.run(_floor(url, args.connections, args.duration)))
                rate, p99, delivered = _driver(url, args.connections, args.duration)
            drivers.append(rate)
            p99s.append(p99)
            ratios.append(delivered)
            print(f"round {round_ + 1}: floor {floors[-1]:.0f} msg/s, driver {rate:.0f} msg/s "
                  f"(p99 {p99:.2f} ms, delivered {delivered * 100:.1f}%)")
    finally:
        server.terminate()
        server.wait(timeout=10)
    floor, driver = statistics.median(floors), statistics.median(drivers)
    ratio = statistics.median(d / f for d, f in zip(drivers, floors, strict=True) if f)
    summary = {"connections": args.connections, "duration_s": args.duration, "rounds": args.rounds,
               "floor_msgs_per_s": round(floor, 1), "driver_msgs_per_s": round(driver, 1),
               "driver_p99_ms": round(statistics.median(p99s), 3), "delivery_ratio": min(ratios),
               "ws_vs_floor": round(ratio, 3), "goal": GOAL, "python": platform.python_version(),
               "aiohttp": aiohttp.__version__, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "cpus": os.cpu_count(), "load_average_after": [round(x, 2) for x in os.getloadavg()]}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))
    print(f"ws_vs_floor={ratio:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
