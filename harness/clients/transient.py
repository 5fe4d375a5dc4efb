"""Which errors are transient (worth another attempt), and the deadline of the block retrying them.

    is_transient(exc) -> bool          refused, reset, timed out, a handshake answered 502/503/504,
                                       a database still starting, a service not running yet
    deadline(at)                       a ``with`` block: client timeouts inside end by ``at``
    bounded(timeout) -> float          a client's own timeout, cut to what is left of the block

The waiting blocks (``within N seconds:``, ``for N seconds:``, the steady-state block) retry an
attempt that failed with a transient error until *their* deadline, so each client's timeout is
bounded by it: a Redis or PostgreSQL client must not spend longer in its own retries than the
block has left. The harness's own errors are classified by what caused them (``raise ... from``),
so a ``QueryFailed`` caused by "the database system is starting up" is transient and one caused
by a syntax error is not. psycopg and redis are looked up in ``sys.modules``: an error of theirs
exists only once they are loaded, and a project without them never loads them here.
"""

from __future__ import annotations

import errno
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import aiohttp
import httpx

from harness.errors import NoAddress

TRANSIENT_STATUSES = frozenset({502, 503, 504})  # a proxy in front of a restarting service answers these
TRANSIENT_ERRNOS = frozenset({errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE,
                              errno.ETIMEDOUT, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN,
                              errno.ENOTCONN, errno.EAGAIN})
# What PostgreSQL and libpq say while a server starts, stops or restarts (SQLSTATE 57P01..57P03, 08xxx).
POSTGRES_STARTING = ("the database system is starting up", "the database system is shutting down",
                     "the database system is in recovery mode", "the database system is not yet accepting",
                     "terminating connection due to administrator command", "connection refused",
                     "server closed the connection unexpectedly", "could not receive data from server",
                     "could not send data to server", "connection timeout expired", "timeout expired",
                     "no connection to the server", "connection to server at", "consuming input failed")
POSTGRES_NOT_TRANSIENT = ("password authentication failed", "does not exist", "no pg_hba.conf entry",
                          "permission denied")
POSTGRES_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006"})
REDIS_NOT_TRANSIENT = ("AuthenticationError", "AuthorizationError", "AuthenticationWrongNumberOfArgsError",
                       "ExternalAuthProviderError")
CHAIN_LIMIT = 10

_DEADLINE: ContextVar[float | None] = ContextVar("harness_block_deadline", default=None)


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says the service is not there *yet*: retrying may pass."""
    return any(_transient(one) for one in _chain(exc))


def transient_cause(exc: BaseException) -> BaseException | None:
    """The first error in ``exc``'s chain that is transient, or None."""
    return next((one for one in _chain(exc) if _transient(one)), None)


@contextmanager
def deadline(at: float) -> Iterator[None]:
    """Inside, :func:`bounded` cuts client timeouts to end by ``at`` (``time.monotonic()`` seconds)."""
    token = _DEADLINE.set(at)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def bounded(timeout: float, *, floor: float = 0.05) -> float:
    """``timeout``, or what is left of the enclosing block's deadline when that is sooner (at least ``floor``)."""
    at = _DEADLINE.get()
    if at is None:
        return timeout
    return max(floor, min(timeout, at - time.monotonic()))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, its cause, that one's cause ... (or the context when there is no cause); cycle-safe."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < CHAIN_LIMIT:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, NoAddress):
        return exc.transient
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return exc.status in TRANSIENT_STATUSES
    if isinstance(exc, aiohttp.ClientSSLError):
        return False
    if isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ServerTimeoutError):
        return True
    if isinstance(exc, httpx.TransportError):
        return isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError)
    if isinstance(exc, TimeoutError | ConnectionError):
        return True
    if isinstance(exc, OSError):
        return exc.errno in TRANSIENT_ERRNOS
    return _postgres_starting(exc) or _redis_unavailable(exc)


def _postgres_starting(exc: BaseException) -> bool:
    psycopg = sys.modules.get("psycopg")
    if psycopg is None or not isinstance(exc, psycopg.OperationalError):
        return False
    if getattr(exc, "sqlstate", None) in POSTGRES_SQLSTATES:
        return True
    text = str(exc).lower()
    if any(marker in text for marker in POSTGRES_NOT_TRANSIENT):
        return False
    return any(marker in text for marker in POSTGRES_STARTING)


def _redis_unavailable(exc: BaseException) -> bool:
    redis = sys.modules.get("redis")
    if redis is None:
        return False
    errors = redis.exceptions
    if type(exc).__name__ in REDIS_NOT_TRANSIENT:
        return False
    if isinstance(exc, errors.ResponseError):  # LOADING before the busy-loading class existed
        return str(exc).startswith(("LOADING", "MASTERDOWN", "TRYAGAIN"))
    return isinstance(exc, errors.ConnectionError | errors.TimeoutError)
