"""Token buckets and least-loaded worker choice."""

from __future__ import annotations

from services.hive.registry import WorkerRecord
from services.hive.scheduler import least_loaded
from services.queen.ratelimit import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_says_when_to_retry() -> None:
    clock = Clock()
    buckets = TokenBuckets(capacity=2, refill_per_second=0.5, clock=clock)
    assert [buckets.take("acme") for _ in range(2)] == [0.0, 0.0]
    assert buckets.take("acme") == 2.0
    clock.now += 2.0
    assert buckets.take("acme") == 0.0


def test_tenants_have_separate_buckets() -> None:
    buckets = TokenBuckets(capacity=1, refill_per_second=1.0, clock=Clock())
    assert buckets.take("a") == 0.0 and buckets.take("a") > 0
    assert buckets.take("b") == 0.0


def worker(worker_id: str, model: str = "m", status: str = "ready", slots: int = 1) -> WorkerRecord:
    return WorkerRecord(worker_id, f"http://{worker_id}", model, status, 0, slots, 0.0)


def test_least_loaded_ready_worker_for_the_model() -> None:
    workers = [worker("a", slots=2), worker("b", slots=2), worker("c", model="other"), worker("d", "m", "loading")]
    assert least_loaded(workers, "m", {"a": 1}).worker_id == "b"  # type: ignore[union-attr]
    assert least_loaded(workers, "m", {"a": 1, "b": 2}).worker_id == "a"  # type: ignore[union-attr]


def test_full_excluded_or_unready_workers_are_never_chosen() -> None:
    workers = [worker("a"), worker("b", status="draining"), worker("c")]
    assert least_loaded(workers, "m", {"a": 1}, exclude={"c"}) is None
    assert least_loaded(workers, "missing-model", {}) is None
