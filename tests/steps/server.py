"""A local HTTP server for the step library's tests: JSON, echo, statuses, slowness, SSE streams."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DOCUMENT = {"status": "ok", "items": [{"id": 1, "tags": ["a", "b"]}, {"id": 2}], "error": {"code": "bad_input"},
            "flag": True, "count": 3, "ratio": 0.5, "nothing": None, "dotted.key": "x"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stopping: threading.Event
    hits: dict[str, int]

    def handle_error(self, request: Any, client_address: Any) -> None:  # clients that hang up early
        pass


class Handler(BaseHTTPRequestHandler):
    """Routes: /json, /echo, /status/N, /text, /slow?ms=N, /counter/NAME, /events?...."""

    server: _Server

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def do_PUT(self) -> None:
        self._route()

    def _route(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = url.path.strip("/").split("/")
        if parts[0] == "json":
            self._json(200, DOCUMENT)
        elif parts[0] == "echo":
            self._echo(url.path, query)
        elif parts[0] == "status":
            self._json(int(parts[1]), {"code": int(parts[1])})
        elif parts[0] == "text":
            self._send(200, b"hello world", "text/plain")
        elif parts[0] == "slow":
            time.sleep(int(query.get("ms", "100")) / 1000)
            self._json(200, {"slow": True})
        elif parts[0] == "counter":
            self.server.hits[parts[1]] = self.server.hits.get(parts[1], 0) + 1
            self._json(200, {"count": self.server.hits[parts[1]]})
        elif parts[0] == "events":
            self._events(query)
        else:
            self._json(404, {"error": {"code": "not_found"}})

    def _echo(self, path: str, query: dict[str, str]) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self._json(200, {"method": self.command, "path": path, "query": query, "body": raw, "json": body,
                         "headers": {k.lower(): v for k, v in self.headers.items()}})

    def _events(self, query: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("X-Stream", "yes")
        self.end_headers()
        gap = int(query.get("gap_ms", "0")) / 1000
        kinds = query.get("kinds", "job_started,token,token,token,job_completed").split(",")
        for index, kind in enumerate(kinds):
            time.sleep(gap)
            data: Any = {"job_id": "j-1", "index": index}
            if kind == "nojob":
                data = {"index": index}
            elif kind == "text":
                data = "plain text"
            chunk = f": comment\nid: {index}\nevent: {kind}\ndata: {json.dumps(data)}\n\n"
            self.wfile.write(chunk.encode())
            self.wfile.flush()
        if query.get("hang"):
            self.server.stopping.wait(10)
        if query.get("trickle"):
            while not self.server.stopping.wait(0.05):
                self.wfile.write(b": keep-alive\n")
                self.wfile.flush()

    def _json(self, status: int, document: Any) -> None:
        self._send(status, json.dumps(document).encode(), "application/json")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serving() -> Iterator[str]:
    """Run the server on 127.0.0.1 (a free port) and yield its base URL."""
    server = _Server(("127.0.0.1", 0), Handler)
    server.stopping = threading.Event()
    server.hits = {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
