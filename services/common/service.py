"""Run an aiohttp app until SIGTERM/SIGINT or an internal stop, then drain and exit 0."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import web

from services.common.config import ConfigError
from services.common.http import stamp_request_id
from services.common.logs import EventLog, configure

_log = EventLog("services.service")


class Lifecycle:
    """The stop signal shared by signal handlers and shutdown routes."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self.reason = ""

    def request_stop(self, reason: str) -> None:
        """Ask the service to drain and exit; the first reason wins."""
        if not self.stopping.is_set():
            self.reason = reason
            self.stopping.set()


async def serve(
    app: web.Application, host: str, port: int, lifecycle: Lifecycle, drain: Callable[[], Awaitable[None]]
) -> None:
    """Serve ``app`` until asked to stop, run ``drain`` while still serving, then close."""
    app.on_response_prepare.append(stamp_request_id)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lifecycle.request_stop, sig.name)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    _log.info("listening", host=host, port=port)
    await lifecycle.stopping.wait()
    _log.info("stopping", reason=lifecycle.reason)
    try:
        await drain()
    finally:
        await runner.cleanup()
        _log.info("stopped", reason=lifecycle.reason)


def main(service: str, build: Callable[[Lifecycle], Coroutine[Any, Any, None]]) -> None:
    """Entry point: JSON logs, run ``build`` (which calls ``serve``), exit 0 or 2 on bad config."""
    configure(service)
    try:
        asyncio.run(build(Lifecycle()))
    except ConfigError as exc:
        _log.error("bad_config", message=str(exc))
        sys.exit(2)
    sys.exit(0)
