"""A load run in the background: an open loop on its own thread and event loop.

Chaos scenarios start steady load, break things while it runs, then wait for it and check it.
``stop()`` cancels a run that is still going (the scenario's cleanup calls it), so a failed
scenario never leaves traffic running into the next one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable

from harness.errors import LoadError
from harness.load.driver import _uvloop_factory
from harness.load.results import LoadResult

logger = logging.getLogger(__name__)

Job = Callable[[], Awaitable[LoadResult]]


class BackgroundLoad:
    """Run a load coroutine on a daemon thread; ``wait`` for its result or ``stop`` it early."""

    def __init__(self, job: Job, *, name: str = "background-load", use_uvloop: bool | None = None) -> None:
        self._job = job
        self._name = name
        self._use_uvloop = use_uvloop
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[LoadResult] | None = None
        self._started = threading.Event()
        self.result: LoadResult | None = None
        self.error: BaseException | None = None
        self.stopped_early = False

    def start(self) -> BackgroundLoad:
        """Start the thread and return once its run has begun."""
        self._thread = threading.Thread(target=self._main, name=self._name, daemon=True)
        self._thread.start()
        self._started.wait()
        return self

    @property
    def running(self) -> bool:
        """True while the run has not ended."""
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float) -> LoadResult:
        """Block until the run ends (at most ``timeout`` seconds) and return its result."""
        if self._thread is None:
            raise LoadError("the background load was never started", hint="call start() first")
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise LoadError(f"the background load is still running after {timeout:g} s",
                            hint="its duration plus the request timeout bounds it; check the target")
        if self.result is None:
            raise LoadError(f"the background load did not finish: {self.error!r}",
                            hint="stopped early, or the spec's callables raised") from self.error
        return self.result

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel the run if it is still going, and join the thread."""
        loop, task = self._loop, self._task
        if self.running and loop is not None and task is not None and not task.done():
            self.stopped_early = True
            loop.call_soon_threadsafe(task.cancel)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.error("background load thread %s did not stop within %gs", self._name, timeout)

    def _main(self) -> None:
        factory = _uvloop_factory(self._use_uvloop)
        loop = factory() if factory is not None else asyncio.new_event_loop()
        self._loop = loop
        try:
            self._task = loop.create_task(self._run())
            self._started.set()
            self.result = loop.run_until_complete(self._task)
        except BaseException as exc:  # noqa: BLE001 - reported through wait()
            self.error = exc
        finally:
            self._started.set()
            _close(loop)

    async def _run(self) -> LoadResult:
        return await self._job()


def _close(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel whatever the run left (workers of a cancelled run), then close the loop."""
    leftovers = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in leftovers:
        task.cancel()
    if leftovers:
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
