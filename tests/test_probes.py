"""Probes and the readiness poll, with fake targets and an injected sleep (nothing sleeps)."""

from __future__ import annotations

import http.server
import itertools
import socket
import threading
from collections.abc import Iterator

import pytest

from harness.env.probes import Healthcheck, HttpOk, Observed, PortOpen, Running
from harness.errors import VerificationFailed
from harness.waiting import eventually, poll


def observed(**kw: object) -> Observed:
    base: dict[str, object] = {"service": "s", "name": "s-1", "id": "x", "state": "running"}
    return Observed(**{**base, **kw})  # type: ignore[arg-type]


def test_summary_parsing_reads_health_exit_code_and_loopback_ports() -> None:
    obs = Observed.from_summary({
        "Id": "abc", "Names": ["/p-web-1"], "State": "exited", "Status": "Exited (3) 2 seconds ago",
        "Labels": {"com.docker.compose.service": "web"},
        "Ports": [{"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": 32768, "Type": "tcp"},
                  {"PrivatePort": 81, "Type": "tcp"}]})
    assert (obs.service, obs.name, obs.exit_code, obs.ports) == ("web", "p-web-1", 3, {80: 32768})
    assert Observed.from_summary({"Id": "a", "Status": "Up 3 seconds (health: starting)"}).health == "starting"


def test_healthcheck_and_running() -> None:
    assert Healthcheck()(observed(health="healthy")) is None
    assert "unhealthy" in (Healthcheck()(observed(health="unhealthy")) or "")
    assert Running()(observed(state="created")) == "state created"


@pytest.fixture
def http_server() -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200 if self.path == "/ok" else 503)
            self.end_headers()
            self.wfile.write(b"loading")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def test_http_probe_answers_none_when_ready_and_says_what_it_saw(http_server: int) -> None:
    target = observed(ports={80: http_server})
    assert HttpOk(port=80, path="/ok")(target) is None
    seen = HttpOk(port=80, path="/health")(target) or ""
    assert "503" in seen and "loading" in seen
    assert "not published" in (HttpOk(port=81)(target) or "")


def test_port_probe_tells_a_listener_from_a_closed_port() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    assert PortOpen(port=1, hold=0.01)(observed(ports={1: port})) is None
    listener.close()
    assert PortOpen(port=1, hold=0.01)(observed(ports={1: port})) is not None


def test_poll_retries_until_success_with_growing_intervals_and_no_real_sleep() -> None:
    sleeps: list[float] = []
    calls = iter([VerificationFailed("a"), VerificationFailed("b"), "done"])

    def fn() -> str:
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    assert poll(fn, timeout=10, interval=1.0, sleep=sleeps.append, first_interval=0.1) == "done"
    assert len(sleeps) == 2 and sleeps[0] <= sleeps[1] <= 1.0


def test_eventually_reports_the_last_observation() -> None:
    counter = itertools.count()

    def check() -> None:
        raise VerificationFailed(f"saw {next(counter)}")

    with pytest.raises(VerificationFailed, match=r"still failing after 0\.05 s; last observed: saw \d+"):
        eventually(check, within=0.05, interval=0.01, sleep=lambda _s: None)
