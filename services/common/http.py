"""HTTP plumbing: request IDs, access logs, JSON errors, bounded body reading."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Collection
from typing import Any

import aiohttp
from aiohttp import web

from services.common.logs import EventLog, request_id_var

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REQUEST_ID = "X-Request-ID"
QUIET_ROUTES = frozenset({"/v1/workers/heartbeat", "/internal/hives/heartbeat"})
_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_log = EventLog("services.http")


class BodyError(Exception):
    """A request body that cannot be used; carries the HTTP status and error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def json_error(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> web.Response:
    """The one error shape: ``{"error": {"code", "field", "message"}}``."""
    body = {"error": {"code": code, "field": field, "message": message}, **extra}
    return web.json_response(body, status=status, headers=headers)


def client_session(timeout: aiohttp.ClientTimeout) -> aiohttp.ClientSession:
    """A client session that resolves host names and connects anew for every request.

    A restarted container may come back with another container's old address. aiohttp caches
    DNS answers for 10 s by default, and a cached answer sent heartbeats and jobs to the wrong
    service (a worker registered with another hive). A kept-alive connection does the same for as
    long as it lives: a worker whose heartbeat once reached the wrong hive (its connect to a
    stopped hive's address was answered by the hive that took the address) kept beating there.
    """
    return aiohttp.ClientSession(timeout=timeout,
                                 connector=aiohttp.TCPConnector(use_dns_cache=False, force_close=True))


def route_name(request: web.Request) -> str:
    """The matched route template (``/v1/jobs/{id}``), or ``unmatched``."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def request_id_middleware(
    on_done: Callable[[web.Request, int, float], None] | None = None, disabled_routes: Collection[str] = ()
) -> Any:
    """Middleware: adopt or mint X-Request-ID, log the request, turn HTTP errors into JSON."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        incoming = request.headers.get(REQUEST_ID, "")
        rid = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        request_id_var.set(rid)
        started = time.monotonic()
        route = route_name(request)
        if route in disabled_routes or request.path in disabled_routes:
            response: web.StreamResponse = json_error(501, "not_implemented", f"{route} is disabled")
        else:
            response = await _call(handler, request)
        elapsed = time.monotonic() - started
        if route not in QUIET_ROUTES or response.status >= 300:
            _log.info(
                "request",
                method=request.method,
                path=request.path,
                route=route,
                status=response.status,
                duration_ms=round(elapsed * 1000, 1),
            )
        if on_done is not None:
            on_done(request, response.status, elapsed)
        return response

    return middleware


async def _call(handler: Handler, request: web.Request) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        return json_error(
            exc.status,
            code,
            exc.reason,
            headers={k: v for k, v in exc.headers.items() if k.lower() in {"allow", "retry-after"}},
        )
    except Exception:  # noqa: BLE001 - the boundary: a handler bug becomes a logged 500
        _log.exception("handler_crashed", path=request.path)
        return json_error(500, "internal_error", "internal server error")


async def stamp_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: every response, streamed or not, carries X-Request-ID."""
    rid = request_id_var.get()
    if rid and REQUEST_ID not in response.headers:
        response.headers[REQUEST_ID] = rid


async def read_json(request: web.Request, limit: int) -> Any:
    """Read at most ``limit`` bytes of body and parse JSON; raise BodyError (413/400)."""
    if request.content_length is not None and request.content_length > limit:
        await _drain(request, limit * 16)
        raise BodyError(413, "body_too_large", f"body of {request.content_length} bytes exceeds {limit}")
    data = bytearray()
    async for chunk in request.content.iter_chunked(65536):
        data.extend(chunk)
        if len(data) > limit:
            await _drain(request, limit * 16)
            raise BodyError(413, "body_too_large", f"body exceeds {limit} bytes")
    try:
        return json.loads(bytes(data) or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError(400, "malformed_json", f"body is not valid JSON: {exc}") from exc


async def _drain(request: web.Request, cap: int) -> None:
    """Read and discard the rest of the body so the client sees our answer, not a reset."""
    seen = 0
    async for chunk in request.content.iter_chunked(65536):
        seen += len(chunk)
        if seen > cap:
            return
