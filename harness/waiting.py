"""Waiting for a condition: every poll in the harness goes through tenacity from here."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import tenacity

from harness.errors import VerificationFailed

T = TypeVar("T")


def poll(fn: Callable[[], T], *, timeout: float, interval: float,
         retry_on: tuple[type[BaseException], ...] = (VerificationFailed,),
         sleep: Callable[[float], None] = time.sleep, first_interval: float | None = None) -> T:
    """Call ``fn`` until it returns without raising one of ``retry_on``, or ``timeout`` passes.

    The interval starts at ``first_interval`` (default ``interval``/4) and doubles up to
    ``interval``, so a fast system is seen fast. On timeout the last error is re-raised.
    """
    start = first_interval if first_interval is not None else interval / 4
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(retry_on),
        stop=tenacity.stop_after_delay(timeout),
        wait=tenacity.wait_exponential(multiplier=start, min=start, max=interval),
        sleep=sleep,
        reraise=True,
    )
    return retrying(fn)


def eventually(check: Callable[[], T], *, within: float, interval: float = 0.2,
               sleep: Callable[[float], None] = time.sleep) -> T:
    """Retry a failing check until it passes; on timeout fail with the last observation."""
    try:
        return poll(check, timeout=within, interval=interval, sleep=sleep)
    except VerificationFailed as exc:
        raise VerificationFailed(f"still failing after {within:g} s; last observed: {exc}") from exc
