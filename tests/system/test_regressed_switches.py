"""The `regressed` environment: every failure switch it turns on is observable over the network."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.clients.tokens import TokenSpec, mint
from harness.env.config import Settings, load_environment, resolve_parameters
from harness.env.lifecycle import Environment, new_run_id
from harness.waiting import poll

pytestmark = pytest.mark.docker
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def regressed() -> Iterator[tuple[Environment, httpx.Client]]:
    settings = Settings(root=REPO)
    spec = load_environment("regressed", settings.env_dir)
    params = resolve_parameters(spec, {}, environ={})
    with Environment(spec, params, settings, run_id=new_run_id()) as env:
        token = mint(env.name, env.params, TokenSpec(tenant="switches"))
        with httpx.Client(base_url=env.url("queen"), headers={"Authorization": f"Bearer {token}"},
                          timeout=30) as client:
            yield env, client


def test_routes_answer_501(regressed: tuple[Environment, httpx.Client]) -> None:
    _, client = regressed
    response = client.get("/v1/hives")
    assert response.status_code == 501 and response.json()["error"]["code"] == "not_implemented"


def test_validation_is_skipped(regressed: tuple[Environment, httpx.Client]) -> None:
    _, client = regressed
    response = client.post("/v1/inference", json={"model": "tinyllama", "prompt": "", "max_tokens": 3})
    assert response.status_code in (200, 202), response.text


def test_workers_drop_the_last_token(regressed: tuple[Environment, httpx.Client]) -> None:
    _, client = regressed
    response = client.post("/v1/inference", json={"model": "tinyllama", "prompt": "count", "max_tokens": 5})
    assert response.status_code == 200 and response.json()["tokens"] == 4


def _listed(client: httpx.Client, worker_id: str) -> list[dict[str, object]]:
    workers: list[dict[str, object]] = client.get("/v1/workers").json()["workers"]
    assert any(w["worker_id"] == worker_id for w in workers), workers
    return workers


def test_lost_workers_are_never_removed(regressed: tuple[Environment, httpx.Client]) -> None:
    env, client = regressed
    # A worker answers /health before its first heartbeat reaches the queen: on a loaded machine the
    # environment is ready before worker-2-2 is listed. Killing it unlisted would test nothing.
    poll(lambda: _listed(client, "worker-2-2"), timeout=30, interval=0.5, retry_on=(AssertionError,))
    env.container("worker-2-2").kill()
    time.sleep(3.0)  # 6 heartbeats of 0.5 s: twice what a healthy hive waits before removing
    _listed(client, "worker-2-2")
