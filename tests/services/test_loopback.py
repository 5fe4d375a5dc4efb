"""Loopback integration: queen, hive and workers as real processes talking HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.common.tokens import generate
from tests.services.stack import Stack, wait_for


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path)
    try:
        yield running
    finally:
        running.close()


def infer(stack: Stack, **body: object) -> httpx.Response:
    payload = {"model": "tinyllama", "prompt": "hello bees", "max_tokens": 5, **body}
    return httpx.post(
        f"{stack.queen}/v1/inference",
        json=payload,
        timeout=10,
        headers=stack.headers(**{"X-Request-ID": "req-loopback-1"}),
    )


def sse_events(text: str) -> list[tuple[str, dict[str, object]]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_plain_inference_returns_the_deterministic_text(stack: Stack) -> None:
    stack.up()
    resp = infer(stack, seed=7)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["text"] == "".join(generate("tinyllama", "hello bees", 7, 5))
    assert body["tokens"] == 5 and body["hive_id"] == "hive-1" and body["worker_id"] in {"w1", "w2"}
    assert resp.headers["X-Request-ID"] == "req-loopback-1"
    assert '"request_id": "req-loopback-1"' in stack.logs(body["worker_id"])
    job = httpx.get(f"{stack.queen}/v1/jobs/{body['job_id']}", headers=stack.headers(), timeout=2).json()
    assert (job["state"], job["text"]) == ("completed", body["text"])


def test_streamed_inference_relays_worker_events_with_job_and_request_ids(stack: Stack) -> None:
    stack.up()
    resp = infer(stack, stream=True, max_tokens=3)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
    events = sse_events(resp.text)
    assert [name for name, _ in events] == ["job_started", "token", "token", "token", "job_completed"]
    assert {(d["job_id"], d["request_id"]) for _, d in events} == {(events[0][1]["job_id"], "req-loopback-1")}
    assert [d["index"] for name, d in events if name == "token"] == [0, 1, 2]


def test_killed_worker_disappears_and_crash_before_first_token_is_retried(stack: Stack) -> None:
    stack.up()
    resp = infer(stack, prompt="retry me __crash_early__")
    assert resp.status_code == 200, resp.text
    survivor = resp.json()["worker_id"]
    crashed = ({"w1", "w2"} - {survivor}).pop()
    assert stack.procs[crashed].wait(timeout=5) == 70
    wait_for(lambda: stack.ready_workers() == [survivor], what=f"{crashed} to leave /v1/workers")
    stack.procs[survivor].send_signal(signal.SIGKILL)
    wait_for(lambda: stack.workers() == [], what="every worker to leave /v1/workers")


def test_crash_after_first_token_is_a_job_failed_naming_the_worker(stack: Stack) -> None:
    stack.up(workers=1)
    resp = infer(stack, prompt="die __crash__")
    assert resp.status_code == 502
    assert "worker w1" in resp.json()["error"]["message"]


def test_queued_job_runs_when_a_worker_arrives_and_results_survive_a_queen_restart(stack: Stack) -> None:
    stack.start_queen()
    stack.start_hive()
    wait_for(
        lambda: httpx.get(f"{stack.queen}/v1/hives", headers=stack.headers(), timeout=2).json()["hives"],
        what="the hive to register",
    )
    accepted = infer(stack, **{"async": True})
    assert accepted.status_code == 202 and accepted.json()["state"] == "queued"
    job_url = f"{stack.queen}/v1/jobs/{accepted.json()['job_id']}"
    stack.start_worker("w1")
    wait_for(
        lambda: httpx.get(job_url, headers=stack.headers(), timeout=2).json()["state"] == "completed",
        what="the queued job to complete",
    )
    stack.procs["queen"].send_signal(signal.SIGTERM)
    assert stack.procs["queen"].wait(timeout=10) == 0
    stack.start_queen()
    job = wait_for(lambda: httpx.get(job_url, headers=stack.headers(), timeout=2).json(), what="queen restart")
    assert job["state"] == "completed" and job["tokens"] == 5


def test_admin_shutdown_cascades_and_every_process_exits_zero(stack: Stack) -> None:
    stack.up()
    assert httpx.post(f"{stack.queen}/v1/admin/shutdown", headers=stack.headers(), timeout=2).status_code == 403
    resp = httpx.post(f"{stack.queen}/v1/admin/shutdown", headers=stack.headers(admin=True), timeout=2)
    assert resp.status_code == 202
    assert {name: proc.wait(timeout=15) for name, proc in stack.procs.items()} == dict.fromkeys(stack.procs, 0)


def test_stalled_worker_becomes_job_failed_not_a_hang(stack: Stack) -> None:
    stack.up(workers=1)
    resp = infer(stack, prompt="hold on __stall__")
    assert resp.status_code == 502
    assert "worker w1" in resp.json()["error"]["message"]
    wait_for(lambda: stack.ready_workers() == ["w1"], what="the stalled worker to be free again")
