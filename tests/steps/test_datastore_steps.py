"""PostgreSQL and Redis steps against fakes (SQLite stands in for PostgreSQL; a dict for Redis). No Docker."""

from __future__ import annotations

import queue
import runpy
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from behave.step_registry import registry

from harness.clients.datastores import Databases
from harness.clients.execs import QueryFailed
from harness.env.config import Settings
from harness.errors import HarnessError, VerificationFailed
from harness.expect import LEDGER
from harness.run.session import Environments, Session
from tests.steps.kit import REPO, STEP_MODULES, FakeContext, FakeEnv, run

PASSWORD = "s3cret-db-password"


class FakePgError(Exception):
    """Looks like a psycopg error to the harness."""


FakePgError.__module__ = "psycopg.errors"


class FakeCursor:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.cursor = conn.cursor()
        self.description: Any = None

    def __enter__(self) -> FakeCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cursor.close()

    def execute(self, query: str) -> None:
        try:
            self.cursor.execute(query)
        except sqlite3.Error as exc:
            raise FakePgError(str(exc)) from exc
        self.description = self.cursor.description

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.cursor.fetchall()


class FakePg:
    """A psycopg.connect look-alike on one shared SQLite database; remembers the login."""

    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self.db.execute("CREATE TABLE orders (id INTEGER, sku TEXT, quantity INTEGER)")
        self.logins: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> FakePg:
        self.logins.append(kwargs)
        return self

    def __enter__(self) -> FakePg:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def cursor(self) -> FakeCursor:
        return FakeCursor(self.db)


class FakeRedis:
    """Just the redis-py calls the steps make, over dicts; pub/sub through queues."""

    def __init__(self) -> None:
        self.strings: dict[str, str] = {}
        self.lists: dict[str, list[str]] = {}
        self.ttls: dict[str, int] = {}
        self.channels: dict[str, list[queue.Queue[dict[str, Any]]]] = {}
        self.logins: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> FakeRedis:
        self.logins.append(kwargs)
        return self

    def get(self, key: str) -> str | None:
        return self.strings.get(key)

    def exists(self, key: str) -> int:
        return int(key in self.strings or key in self.lists)

    def pttl(self, key: str) -> int:
        return self.ttls.get(key, -1) if self.exists(key) else -2

    def llen(self, key: str) -> int:
        if key in self.strings:
            raise type("ResponseError", (Exception,), {"__module__": "redis.exceptions"})("WRONGTYPE")
        return len(self.lists.get(key, []))

    def xlen(self, key: str) -> int:
        return len(self.lists.get(key, []))

    def publish(self, channel: str, message: str) -> int:
        for inbox in self.channels.get(channel, []):
            inbox.put({"type": "message", "data": message})
        return len(self.channels.get(channel, []))

    def pubsub(self, ignore_subscribe_messages: bool = True) -> Any:
        fake = self

        class PubSub:
            def __init__(self) -> None:
                self.inbox: queue.Queue[dict[str, Any]] = queue.Queue()

            def subscribe(self, channel: str) -> None:
                fake.channels.setdefault(channel, []).append(self.inbox)

            def get_message(self, timeout: float) -> dict[str, Any] | None:
                try:
                    return self.inbox.get(timeout=timeout)
                except queue.Empty:
                    return None

            def close(self) -> None:
                pass

        return PubSub()

    def close(self) -> None:
        pass


@pytest.fixture
def fakes() -> tuple[FakePg, FakeRedis]:
    return FakePg(), FakeRedis()


@pytest.fixture
def context(tmp_path: Path, fakes: tuple[FakePg, FakeRedis]) -> Iterator[Any]:
    registry.clear()
    for name in (*STEP_MODULES, "datastore_steps"):
        runpy.run_path(str(REPO / "harness" / "stepdefs" / f"{name}.py"), run_name=f"generic_steps.{name}")
    settings = Settings(root=tmp_path)
    session = Session(settings, Environments(settings, "run", {}))
    env = FakeEnv("http://127.0.0.1:15432", params={"db_password": PASSWORD, "redis_password": "r-pass"},
                  services={"db": None, "cache": None})
    session._env = env  # type: ignore[assignment]
    session.extension("databases", lambda: Databases(env, connect_sql=fakes[0], connect_redis=fakes[1]))
    LEDGER.take()
    yield FakeContext(session)
    session.end_scenario()


def test_sql_statements_rows_tables_and_values(context: Any, fakes: tuple[FakePg, FakeRedis]) -> None:
    context.harness.remember("sku", "honey")
    run(context, '''
        Given the PostgreSQL database of "db" is "shop" as user "shop" with the password from "db_password"
        When I run the SQL "INSERT INTO orders VALUES (1, '{sku}', 2), (2, 'wax', 5)" on "db"
        Then the SQL query "SELECT * FROM orders" on "db" returns 2 rows
        And the SQL query "SELECT sku, quantity FROM orders ORDER BY id" on "db" returns:
          | sku   | quantity |
          | honey | 2        |
          | wax   | 5        |
        And the SQL query "SELECT sum(quantity) FROM orders" on "db" returns the value 7
        And the SQL query "SELECT sku FROM orders WHERE id = 1" on "db" returns the value "{sku}"
        ''')
    login = fakes[0].logins[-1]
    assert (login["user"], login["dbname"], login["password"], login["port"]) == ("shop", "shop", PASSWORD, 15432)


def test_sql_failures_name_the_query_never_the_password(context: Any) -> None:
    with pytest.raises(QueryFailed) as caught:
        run(context, 'Then the SQL query "SELECT nope FROM orders" on "db" returns 1 rows')
    message = str(caught.value)
    assert "rejected 'SELECT nope FROM orders': FakePgError: no such column: nope" in message
    assert "PostgreSQL postgres@db (127.0.0.1:15432/postgres)" in message and PASSWORD not in message
    with pytest.raises(VerificationFailed, match="expected 1 rows, got 0"):
        run(context, '''
            Then the SQL query "SELECT sku FROM orders" on "db" returns:
              | sku |
              | x   |
            ''')
    with pytest.raises(VerificationFailed, match="the environment's parameters: 'nope' not found"):
        run(context, 'Given the PostgreSQL database of "db" is "a" as user "b" with the password from "nope"')


def test_redis_keys_ttls_and_lengths(context: Any, fakes: tuple[FakePg, FakeRedis]) -> None:
    redis = fakes[1]
    redis.strings.update({"product:1": "4.50"})
    redis.ttls["product:1"] = 1500
    redis.lists["orders"] = ["a", "b", "c"]
    run(context, '''
        Then the Redis key "product:1" on "cache" is "4.50"
        And the Redis key "product:1" on "cache" exists
        And the Redis key "product:2" on "cache" does not exist
        And the Redis key "product:1" on "cache" expires within 2 seconds
        And the Redis list "orders" on "cache" has 3 items
        And the Redis stream "orders" on "cache" has 3 entries
        ''')
    assert redis.logins[-1]["password"] == "r-pass"
    with pytest.raises(VerificationFailed, match="it expires in 1500 ms, not within 1 s"):
        run(context, 'Then the Redis key "product:1" on "cache" expires within 1 seconds')
    with pytest.raises(VerificationFailed, match="expected '5', got '4.50'"):
        run(context, 'Then the Redis key "product:1" on "cache" is "5"')
    with pytest.raises(QueryFailed, match="Redis on 'cache' failed 'LLEN product:1': ResponseError: WRONGTYPE"):
        run(context, 'Then the Redis list "product:1" on "cache" has 1 items')


def test_a_published_message_reaches_a_background_subscriber(context: Any) -> None:
    run(context, '''
        When I subscribe "feed" to the Redis channel "orders" on "cache"
        And I publish "order-7 placed" on the Redis channel "orders" on "cache"
        Then a message containing "order-7" arrives on the Redis subscription "feed" within 2 s
        ''')
    with pytest.raises(VerificationFailed, match=r"no message containing 'order-8' .* 1 arrived: \['order-7 placed'\]"):
        run(context, 'Then a message containing "order-8" arrives on the Redis subscription "feed" within 0.2 s')
    with pytest.raises(HarnessError, match='no Redis subscription named "other"'):
        run(context, 'Then a message containing "x" arrives on the Redis subscription "other" within 0.1 s')


def test_within_retries_a_database_still_starting_and_a_redis_still_loading(
        context: Any, fakes: tuple[FakePg, FakeRedis], monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg
    import redis as redis_py

    pg, cache = fakes
    cache.strings["greeting"] = "hello"
    starting = [psycopg.OperationalError('connection failed: connection to server at "127.0.0.1", port 15432 '
                                         "failed: FATAL:  the database system is starting up")] * 2
    loading = [redis_py.exceptions.BusyLoadingError("Redis is loading the dataset in memory")] * 2
    connect_pg, get = pg.__call__, cache.get

    def pg_starting(**kwargs: Any) -> FakePg:
        if starting:
            raise starting.pop()
        return connect_pg(**kwargs)

    def redis_loading(key: str) -> str | None:
        if loading:
            raise loading.pop()
        return get(key)

    context.harness.extension("databases", lambda: None).__init__(
        context.harness.env, connect_sql=pg_starting, connect_redis=cache)
    monkeypatch.setattr(cache, "get", redis_loading)
    run(context, '''
        Then within 10 seconds:
          """
          Then the SQL query "SELECT count(*) FROM orders" on "db" returns the value 0
          And the Redis key "greeting" on "cache" is "hello"
          """
        ''')
    assert starting == [] and loading == []


def test_a_sql_error_is_not_retried(context: Any) -> None:
    started = time.monotonic()
    with pytest.raises(QueryFailed, match="no such column"):
        run(context, 'Then within 5 seconds:\n"""\n'
                     'Then the SQL query "SELECT nope FROM orders" on "db" returns 1 rows\n"""')
    assert time.monotonic() - started < 1
