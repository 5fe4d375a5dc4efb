"""Which errors a waiting block retries: real exception types of aiohttp, httpx, asyncio, OSError, psycopg, redis."""

from __future__ import annotations

import asyncio
import errno
import time

import aiohttp
import httpx
import psycopg
import pytest
import redis
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from harness.clients import transient
from harness.clients.execs import QueryFailed
from harness.clients.http import RequestFailed
from harness.errors import HarnessError, NoAddress

INFO = aiohttp.RequestInfo(URL("http://127.0.0.1:1/ws"), "GET", CIMultiDictProxy(CIMultiDict()))


def handshake(status: int) -> aiohttp.WSServerHandshakeError:
    return aiohttp.WSServerHandshakeError(INFO, (), status=status, message="Invalid response status")


def connector(code: int) -> aiohttp.ClientConnectorError:
    return aiohttp.ClientConnectorError(aiohttp.client_reqrep.ConnectionKey(  # type: ignore[attr-defined]
        "127.0.0.1", 1, False, True, None, None, None), OSError(code, "refused"))


def query_failed(cause: BaseException) -> QueryFailed:
    """A QueryFailed raised from ``cause``, as harness.clients.datastores raises it."""
    try:
        raise QueryFailed("PostgreSQL shop@db rejected 'SELECT 1'", database="db", query="SELECT 1",
                          hint="", service="db") from cause
    except QueryFailed as exc:
        return exc


TRANSIENT = {
    "refused": ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
    "reset": ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
    "errno ehostunreach": OSError(errno.EHOSTUNREACH, "No route to host"),
    "timeout": TimeoutError(),
    "asyncio wait_for timeout": asyncio.TimeoutError(),  # noqa: UP041 - the name asyncio code raises
    "aiohttp connector": connector(errno.ECONNREFUSED),
    "aiohttp disconnected": aiohttp.ServerDisconnectedError(),
    "aiohttp handshake 502": handshake(502),
    "aiohttp handshake 503": handshake(503),
    "httpx connect": httpx.ConnectError("refused"),
    "httpx read timeout": httpx.ReadTimeout("slow"),
    "httpx remote protocol": httpx.RemoteProtocolError("Server disconnected without sending a response."),
    "pg starting up": psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  the database system '
        "is starting up"),
    "pg refused": psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: Connection refused'),
    "pg dropped": psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly"),
    "redis loading": redis.exceptions.BusyLoadingError("Redis is loading the dataset in memory"),
    "redis connection": redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
    "redis timeout": redis.exceptions.TimeoutError("Timeout reading from socket"),
    "redis LOADING reply": redis.exceptions.ResponseError("LOADING Redis is loading the dataset in memory"),
    "not running now": NoAddress("no port", service="db", port=5432, transient=True),
    "QueryFailed from pg starting": query_failed(psycopg.OperationalError("FATAL: the database system is starting up")),
}

NOT_TRANSIENT = {
    "no such file": OSError(errno.ENOENT, "No such file"),
    "value": ValueError("bad"),
    "harness": HarnessError("undefined step"),
    "aiohttp handshake 401": handshake(401),
    "aiohttp handshake 404": handshake(404),
    "httpx redirects": httpx.TooManyRedirects("loop"),
    "pg password": psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  password '
        'authentication failed for user "shop"'),
    "pg syntax": psycopg.errors.SyntaxError('syntax error at or near "SELEC"'),
    "redis auth": redis.exceptions.AuthenticationError("invalid username-password pair"),
    "redis wrong type": redis.exceptions.ResponseError("WRONGTYPE Operation against a key"),
    "no such port": NoAddress("no port 81", service="db", port=81, transient=False),
    "QueryFailed from syntax": query_failed(psycopg.errors.SyntaxError("syntax error")),
    "RequestFailed alone": RequestFailed("GET / failed", method="GET", url="/", service="web", hint=""),
}


@pytest.mark.parametrize("name", sorted(TRANSIENT))
def test_transient_errors_are_retried(name: str) -> None:
    assert transient.is_transient(TRANSIENT[name])


@pytest.mark.parametrize("name", sorted(NOT_TRANSIENT))
def test_errors_that_another_attempt_cannot_fix_are_not(name: str) -> None:
    assert not transient.is_transient(NOT_TRANSIENT[name])


def test_a_cycle_in_the_cause_chain_ends() -> None:
    first, second = ValueError("a"), ValueError("b")
    first.__cause__, second.__cause__ = second, first
    assert not transient.is_transient(first)


def test_the_deadline_bounds_client_timeouts_only_inside_its_block() -> None:
    assert transient.bounded(30.0) == 30.0
    with transient.deadline(time.monotonic() + 2):
        assert 1.5 < transient.bounded(30.0) <= 2.0
        assert transient.bounded(1.0) == 1.0
    with transient.deadline(time.monotonic() - 5):
        assert transient.bounded(30.0) == 0.05  # past the deadline: one quick last try
    assert transient.bounded(30.0) == 30.0
