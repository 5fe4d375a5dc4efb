"""Server-Sent Events: write events on a StreamResponse, parse them from a client stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import StreamReader, web


async def open_stream(request: web.Request, status: int = 200) -> web.StreamResponse:
    """Prepare an SSE response (headers go out now)."""
    response = web.StreamResponse(
        status=status, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    return response


async def send(response: web.StreamResponse, event: str, data: dict[str, Any]) -> None:
    """Write one event: ``event: NAME`` and one ``data:`` line of JSON."""
    payload = f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
    await response.write(payload.encode())


class StreamStalled(Exception):
    """No complete event arrived within the idle timeout."""


async def iter_events(reader: StreamReader, idle_timeout: float) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """Yield ``(event, data)`` pairs until the stream ends; raise StreamStalled when idle too long."""
    event, data_lines = "message", []
    while True:
        try:
            raw = await asyncio.wait_for(reader.readline(), idle_timeout)
        except TimeoutError as exc:
            raise StreamStalled(f"no event for {idle_timeout:g}s") from exc
        if not raw:
            return
        line = raw.decode().rstrip("\r\n")
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data_lines.append(line[5:].strip())
        elif not line and data_lines:
            yield event, json.loads("\n".join(data_lines))
            event, data_lines = "message", []
