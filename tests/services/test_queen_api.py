"""The queen's HTTP API in-process (no hives): auth, validation, limits, tenants, failure switches."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from services.common.auth import mint
from services.common.http import stamp_request_id
from services.common.service import Lifecycle
from services.queen.app import Queen, QueenConfig

SECRET = "api-test-secret-that-is-long-enough-for-hs256"
Scenario = Callable[[TestClient, Queen], Awaitable[None]]


def run(tmp_path: Path, scenario: Scenario, **env: str) -> None:
    async def main() -> None:
        config = QueenConfig.from_env(
            {
                "JWT_SECRET": SECRET,
                "DATA_DIR": str(tmp_path),
                "MAX_BODY_BYTES": "1000",
                "RATE_LIMIT_CAPACITY": "3",
                "RATE_LIMIT_REFILL": "0.5",
                "QUEUE_SIZE": "1",
                **env,
            }
        )
        async with aiohttp.ClientSession() as session:
            queen = Queen(config, Lifecycle(), session)
            app = queen.app()
            app.on_response_prepare.append(stamp_request_id)
            async with TestClient(TestServer(app)) as client:
                await scenario(client, queen)

    asyncio.run(main())


def auth(tenant: str = "acme", **kwargs: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint(SECRET, 'alice', tenant, **kwargs)}"}  # type: ignore[arg-type]


BODY = {"model": "tinyllama", "prompt": "hi", "max_tokens": 3, "async": True}


def test_auth_errors_name_the_problem_and_admin_needs_the_claim(tmp_path: Path) -> None:
    async def scenario(client: TestClient, queen: Queen) -> None:
        resp = await client.post("/v1/inference", json=BODY)
        assert resp.status == 401 and (await resp.json())["error"]["code"] == "missing_token"
        resp = await client.post("/v1/inference", json=BODY, headers=auth(ttl=-5))
        assert (await resp.json())["error"]["code"] == "token_expired"
        assert (await client.post("/v1/admin/shutdown", headers=auth())).status == 403
        assert (await client.get("/health")).status == 503  # no hive registered: unhealthy

    run(tmp_path, scenario)


def test_validation_and_body_limit_and_request_id_echo(tmp_path: Path) -> None:
    async def scenario(client: TestClient, queen: Queen) -> None:
        resp = await client.post("/v1/inference", data=b"{nope", headers={**auth(), "X-Request-ID": "rid-1"})
        assert resp.status == 400 and resp.headers["X-Request-ID"] == "rid-1"
        assert (await resp.json())["error"] == {
            "code": "malformed_json",
            "field": None,
            "message": (await resp.json())["error"]["message"],
        }
        resp = await client.post("/v1/inference", data=b"x" * 2000, headers=auth())
        assert resp.status == 413
        resp = await client.post("/v1/inference", json={**BODY, "max_tokens": 0}, headers=auth())
        assert (await resp.json())["error"]["field"] == "max_tokens"

    run(tmp_path, scenario)


def test_queue_full_rate_limit_and_tenant_isolation(tmp_path: Path) -> None:
    async def scenario(client: TestClient, queen: Queen) -> None:
        first = await client.post("/v1/inference", json=BODY, headers=auth())
        assert first.status == 202
        job_id = (await first.json())["job_id"]
        full = await client.post("/v1/inference", json=BODY, headers=auth())
        assert full.status == 503 and full.headers["Retry-After"]
        await client.post("/v1/inference", json=BODY, headers=auth())
        limited = await client.post("/v1/inference", json=BODY, headers=auth())
        assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1
        own = await client.get(f"/v1/jobs/{job_id}", headers=auth())
        assert own.status == 200 and (await own.json())["state"] == "queued"
        assert (await client.get(f"/v1/jobs/{job_id}", headers=auth("other"))).status == 404
        listed = await (await client.get("/v1/jobs", headers=auth("other"))).json()
        assert listed == {"jobs": []}
        metrics = await (await client.get("/metrics")).text()
        assert "queen_queue_depth 1" in metrics and 'queen_jobs_total{outcome="rejected"} 3' in metrics

    run(tmp_path, scenario)


def test_failure_switches_skip_validation_and_501_routes(tmp_path: Path) -> None:
    async def scenario(client: TestClient, queen: Queen) -> None:
        resp = await client.post("/v1/inference", json={**BODY, "prompt": "", "max_tokens": 0}, headers=auth())
        assert resp.status == 202
        assert (await client.get("/v1/hives", headers=auth())).status == 501
        assert (await client.get("/v1/workers", headers=auth())).status == 200

    run(tmp_path, scenario, QUEEN_SKIP_VALIDATION="1", QUEEN_501_ROUTES="/v1/hives")
