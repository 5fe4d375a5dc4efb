"""The queen's wait queue, hive directory and job store, without any network."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from services.queen.dispatch import DispatchConfig, Dispatcher, QueueFull
from services.queen.hives import HiveDirectory
from services.queen.jobs import Job, JobStore
from services.queen.metrics import Metrics


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


CONFIG = DispatchConfig(
    queue_size=2, queue_timeout=10.0, max_attempts=3, retry_interval=0.05, connect_timeout=1.0, event_timeout=1.0
)


def job(model: str = "m") -> Job:
    return Job(tenant="acme", sub="alice", model=model, prompt="hi", max_tokens=2, seed=0, request_id="r1")


def hive_beat(hive_id: str, *statuses: str) -> dict[str, object]:
    workers = [{"worker_id": f"{hive_id}-w{i}", "model": "m", "status": s, "slots": 1} for i, s in enumerate(statuses)]
    return {"hive_id": hive_id, "url": f"http://{hive_id}", "workers": workers, "models": ["m"]}


def test_jobs_wait_when_no_hive_then_queue_full_then_expire_with_a_reason() -> None:
    async def scenario() -> None:
        clock = Clock()
        async with aiohttp.ClientSession() as session:
            dispatcher = Dispatcher(
                CONFIG, HiveDirectory(3.0, clock), JobStore(":memory:"), Metrics(), session, lambda: {"m"}, clock
            )
            first, second = dispatcher.submit(job()), dispatcher.submit(job())
            assert [r.job.state for r in dispatcher.pending] == ["queued", "queued"]
            assert first.events.get_nowait()[0] == "job_queued"
            with pytest.raises(QueueFull):
                dispatcher.submit(job())
            clock.now += 11.0
            dispatcher._expire()
            assert not dispatcher.pending and first.done.is_set() and second.done.is_set()
            assert first.job.state == "failed" and "within 10s" in (first.job.reason or "")
            assert dispatcher.store.get(first.job.job_id).state == "failed"  # type: ignore[union-attr]

    asyncio.run(scenario())


def test_unknown_model_fails_at_once() -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            dispatcher = Dispatcher(CONFIG, HiveDirectory(3.0), JobStore(":memory:"), Metrics(), session, lambda: {"m"})
            run = dispatcher.submit(job("nope"))
            assert run.done.is_set() and "no hive serves model" in (run.job.reason or "")

    asyncio.run(scenario())


def test_directory_picks_least_loaded_hive_with_capacity_and_marks_silent_hives_lost() -> None:
    clock = Clock()
    hives = HiveDirectory(3.0, clock)
    assert hives.heartbeat(hive_beat("a", "ready", "ready")) == "registered"
    hives.heartbeat(hive_beat("b", "ready"))
    assert hives.pick("m", {("a", "m"): 1}).hive_id == "b"  # type: ignore[union-attr]
    assert hives.pick("m", {("a", "m"): 2, ("b", "m"): 1}) is None
    clock.now += 2.0
    hives.heartbeat(hive_beat("a", "ready", "loading"))
    clock.now += 2.0
    assert [h.hive_id for h in hives.sweep()] == ["b"]
    assert hives.health() == ("degraded", ["hive b is lost"])
    assert {w["state"] for w in hives.workers() if w["hive_id"] == "b"} == {"lost"}
    assert hives.heartbeat(hive_beat("b", "ready")) == "rejoined"


def test_health_is_unhealthy_without_answering_hives() -> None:
    clock = Clock()
    hives = HiveDirectory(1.0, clock)
    assert hives.health()[0] == "unhealthy"
    hives.heartbeat(hive_beat("a"))
    assert hives.health() == ("degraded", ["hive a has no ready worker"])
    clock.now += 2.0
    hives.sweep()
    assert hives.health()[0] == "unhealthy"


def test_job_store_keeps_results_across_reopen(tmp_path: Path) -> None:
    done, waiting = job(), job()
    done.state, done.text, done.usage = "completed", "hello world", {"total_tokens": 3}
    store = JobStore(tmp_path / "jobs.db")
    store.save(done)
    store.save(waiting)
    reopened = JobStore(tmp_path / "jobs.db")
    assert reopened.get(done.job_id) == done
    assert [j.job_id for j in reopened.unfinished()] == [waiting.job_id]
    assert {j.job_id for j in reopened.for_tenant("acme")} == {done.job_id, waiting.job_id}
    assert reopened.for_tenant("other") == []


def test_a_call_on_a_hive_that_goes_lost_before_the_first_token_is_requeued_at_once() -> None:
    """A frozen hive accepts the connection and never answers: once it is lost, the job moves on.

    Without the abandon, the job would wait the whole event timeout (here 30 s) on the frozen hive.
    """
    from aiohttp import web

    from services.common import sse

    thaw = asyncio.Event()

    async def frozen(request: web.Request) -> web.StreamResponse:
        await thaw.wait()
        return web.Response(status=503)

    async def answering(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        response = await sse.open_stream(request)
        await sse.send(response, "token", {"text": "hi"})
        await sse.send(response, "job_completed", {"usage": {}, "job_id": body["job_id"]})
        return response

    async def serve(handler: object) -> tuple[web.AppRunner, str]:
        app = web.Application()
        app.router.add_post("/v1/execute", handler)  # type: ignore[arg-type]
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"

    async def scenario() -> None:
        clock = Clock()
        slow = DispatchConfig(queue_size=2, queue_timeout=60.0, max_attempts=3, retry_interval=0.0,
                              connect_timeout=1.0, event_timeout=30.0)
        a_runner, a_url = await serve(frozen)
        b_runner, b_url = await serve(answering)
        hives = HiveDirectory(3.0, clock)
        hives.heartbeat({**hive_beat("a", "ready"), "url": a_url})
        async with aiohttp.ClientSession() as session:
            dispatcher = Dispatcher(slow, hives, JobStore(":memory:"), Metrics(), session, lambda: {"m"}, clock)
            run = dispatcher.submit(job())
            await asyncio.sleep(0.2)
            assert run.job.hive_id == "a" and not run.done.is_set()
            hives.heartbeat({**hive_beat("b", "ready"), "url": b_url})
            clock.now += 2.0
            hives.heartbeat({**hive_beat("b", "ready"), "url": b_url})
            clock.now += 2.0  # a silent for 4 s > 3 s: lost on this tick
            dispatcher.tick()
            await asyncio.sleep(0.05)
            dispatcher.tick()  # the requeued job goes to b
            await asyncio.wait_for(run.done.wait(), 5.0)
            assert run.job.state == "completed" and run.job.text == "hi", run.job.reason
            assert run.job.attempts == 1 and run.job.hive_id == "b"
        thaw.set()
        await a_runner.cleanup()
        await b_runner.cleanup()

    asyncio.run(scenario())
