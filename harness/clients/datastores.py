"""PostgreSQL and Redis, asked directly from the host through a service's published port.

    Databases(env, connect_sql=None, connect_redis=None)     one per scenario (steps: ``databases(session)``)
    .sql(service, query) -> QueryResult                      psycopg 3 (binary wheel), autocommit
    .redis(service) -> redis.Redis                           redis-py, text answers
    .subscribe(name, service, channel) / .messages(name)     a Redis pub/sub subscription in the background

Where and as whom comes from the environment: the service's host port for 5432 / 6379 (or the
port set by ``configure``), the user and database, and the *name* of the parameter holding the
password (``postgres_password``, else ``db_password``; ``redis_password`` for Redis). The password
is read from the parameters when connecting and never appears in a message. The clients are
imported on first use: a project without PostgreSQL or Redis does not need them installed.
Errors are translated here, once, into ``QueryFailed`` (database, query, Hint).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from urllib.parse import urlsplit

from harness.clients.execs import QueryFailed
from harness.clients.queries import QueryResult
from harness.clients.transient import bounded
from harness.errors import HarnessError

SqlConnect = Callable[..., Any]
RedisConnect = Callable[..., Any]


class Running(Protocol):
    """What this module needs of the environment (harness.env.lifecycle.Environment has it)."""

    params: Mapping[str, Any]

    def url(self, service: str, port: int | None = None) -> str:
        """``http://<engine host>:<host port>`` of a service's port (127.0.0.1 on a local engine)."""

    def container(self, service: str) -> Any:
        """The first docker SDK container of a service."""


@dataclass(frozen=True)
class Target:
    """How to reach one database service: container port, user, database name, password parameter."""

    port: int
    user: str = ""
    database: str = ""
    password_param: str = ""


SQL_DEFAULT = Target(5432, "postgres", "", "")
REDIS_DEFAULT = Target(6379, "", "0", "redis_password")


@dataclass
class Subscription:
    """A Redis pub/sub subscription read on a thread: the messages so far."""

    name: str
    channel: str
    messages: list[str] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)
    stop: threading.Event = field(default_factory=threading.Event)
    error: str = ""
    client: Any = None  # kept alive: redis-py closes a client's connections when it is collected

    def wait_for(self, ready: Callable[[list[str]], bool], timeout: float) -> list[str]:
        """Wait until ``ready(messages)`` or ``timeout``; return the messages then."""
        with self.cond:
            self.cond.wait_for(lambda: ready(self.messages), timeout)
            return list(self.messages)


class Databases:
    """A scenario's database clients; connections are opened per query and closed at once."""

    def __init__(self, env: Running, *, connect_sql: SqlConnect | None = None,
                 connect_redis: RedisConnect | None = None, timeout: float = 5.0) -> None:
        self.env, self.timeout = env, timeout
        self._connect_sql, self._connect_redis = connect_sql, connect_redis
        self.targets: dict[str, Target] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self._threads: list[threading.Thread] = []

    def configure(self, service: str, target: Target) -> None:
        """Set how SERVICE is reached (port, user, database, password parameter)."""
        self.targets[service] = target

    # -- SQL -----------------------------------------------------------------------------------

    def sql(self, service: str, query: str) -> QueryResult:
        """Run QUERY on SERVICE's PostgreSQL (autocommit) and return its columns and rows."""
        target = self.targets.get(service, SQL_DEFAULT)
        host, port = self._address(service, target.port)
        user = target.user or "postgres"
        where = f"PostgreSQL {user}@{service} ({host}:{port}/{target.database or user})"
        connect = self._connect_sql or _psycopg_connect()
        try:
            with connect(host=host, port=port, user=user, dbname=target.database or user, autocommit=True,
                         password=self._password(target, ("postgres_password", "db_password")),
                         connect_timeout=max(1, round(bounded(self.timeout)))) as conn, conn.cursor() as cursor:
                cursor.execute(query)
                columns = [_column_name(d) for d in cursor.description or []]
                rows = [list(row) for row in cursor.fetchall()] if cursor.description else []
        except Exception as exc:
            if not _is_client_error(exc):
                raise
            raise QueryFailed(f"{where} rejected {query!r}: {type(exc).__name__}: {str(exc).strip()}",
                              database=where, query=query, service=service,
                              hint="check the SQL, and that the service publishes its port and the user, database "
                                   "and password parameter are right (Given the PostgreSQL database ...)") from exc
        return QueryResult(where, query, columns, rows)

    # -- Redis ---------------------------------------------------------------------------------

    def redis(self, service: str) -> Any:
        """A redis-py client for SERVICE (text answers)."""
        target = self.targets.get(service, REDIS_DEFAULT)
        host, port = self._address(service, target.port)
        connect = self._connect_redis or _redis_connect()
        return connect(host=host, port=port, db=int(target.database or 0), decode_responses=True,
                       password=self._password(target, ("redis_password",)) or None,
                       socket_timeout=bounded(self.timeout), socket_connect_timeout=bounded(self.timeout))

    def command(self, service: str, name: str, *args: Any) -> Any:
        """One Redis command, its errors translated (``command("cache", "get", "k")``)."""
        client = self.redis(service)
        try:
            return getattr(client, name)(*args)
        except Exception as exc:
            if not _is_client_error(exc):
                raise
            shown = " ".join([name.upper(), *map(str, args)])
            raise QueryFailed(f"Redis on {service!r} failed {shown!r}: {type(exc).__name__}: {exc}",
                              database=f"Redis {service}", query=shown, service=service,
                              hint="does the service publish its port? is the key of the right type?") from exc
        finally:
            _close(client)

    def subscribe(self, name: str, service: str, channel: str) -> Subscription:
        """Subscribe to CHANNEL on a thread; messages collect in the subscription NAME."""
        client = self.redis(service)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(channel)
        except Exception as exc:
            if not _is_client_error(exc):
                raise
            raise QueryFailed(f"Redis on {service!r} refused SUBSCRIBE {channel}: {exc}", database=f"Redis {service}",
                              query=f"SUBSCRIBE {channel}", service=service,
                              hint="does the service publish its port?") from exc
        sub = Subscription(name, channel, client=client)
        self.subscriptions[name] = sub
        thread = threading.Thread(target=_listen, args=(pubsub, sub), daemon=True, name=f"redis-sub-{name}")
        thread.start()
        self._threads.append(thread)
        return sub

    def subscription(self, name: str) -> Subscription:
        """The subscription NAME; a clear error naming the known ones otherwise."""
        if name not in self.subscriptions:
            known = ", ".join(sorted(self.subscriptions)) or "none"
            raise HarnessError(f'no Redis subscription named "{name}" in this scenario (known: {known})',
                               hint=f'subscribe first: When I subscribe "{name}" to the Redis channel "C" on "SERVICE"')
        return self.subscriptions[name]

    def close(self) -> None:
        """Stop every subscription thread."""
        for sub in self.subscriptions.values():
            sub.stop.set()
        for thread in self._threads:
            thread.join(timeout=2)

    # -- helpers -------------------------------------------------------------------------------

    def _address(self, service: str, port: int) -> tuple[str, int]:
        """The published port on the engine's host (loopback when local); else the container's address on its
        network (only a local engine's host routes to it)."""
        try:
            parts = urlsplit(self.env.url(service, port))
        except HarnessError:
            address = _container_address(self.env, service)
            if address is None:
                raise
            return address, port
        return parts.hostname or "127.0.0.1", int(parts.port or port)

    def _password(self, target: Target, defaults: tuple[str, ...]) -> str:
        names = (target.password_param,) if target.password_param else defaults
        for name in names:
            if name in self.env.params:
                return str(self.env.params[name])
        return ""


def with_port(target: Target, port: int | None) -> Target:
    """The target with another container port (None keeps it)."""
    return target if port is None else replace(target, port=port)


def _container_address(env: Running, service: str) -> str | None:
    """The first IP address of the service's first container on any of its networks."""
    try:
        networks = env.container(service).attrs["NetworkSettings"]["Networks"]
    except (HarnessError, KeyError, TypeError, AttributeError):
        return None
    addresses = [n.get("IPAddress") for n in networks.values() if n.get("IPAddress")]
    return str(addresses[0]) if addresses else None


READ_SECONDS = 0.2  # one read blocks this long at most: how soon the thread sees ``stop``


def _listen(pubsub: Any, sub: Subscription) -> None:
    """Collect the subscription's messages until ``stop``. Nothing here sleeps: ``get_message`` blocks until a
    message or READ_SECONDS (it returns at once only after a message it skips, such as the subscribe reply)."""
    try:
        while not sub.stop.is_set():
            message = pubsub.get_message(timeout=READ_SECONDS)
            if message and message.get("type") == "message":
                with sub.cond:
                    sub.messages.append(str(message.get("data")))
                    sub.cond.notify_all()
    except Exception as exc:  # noqa: BLE001 - the thread ends; the check reports the error
        sub.error = f"{type(exc).__name__}: {exc}"
    finally:
        _close(pubsub)
        _close(sub.client)


def _column_name(description: Any) -> str:
    return str(getattr(description, "name", None) or description[0])


def _is_client_error(exc: Exception) -> bool:
    """Errors of the database clients (and of the network), as opposed to bugs in the harness."""
    module = type(exc).__module__.split(".")[0]
    return module in {"psycopg", "redis"} or isinstance(exc, OSError | TimeoutError) or getattr(
        exc, "database_error", False)


def _close(client: Any) -> None:
    close = getattr(client, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass


def _psycopg_connect() -> SqlConnect:
    try:
        # lazy: a datastore client loads only when a step uses that datastore
        import psycopg
    except ImportError as exc:
        raise HarnessError("the PostgreSQL steps need psycopg 3",
                           hint="install it: .venv/bin/pip install 'psycopg[binary]'") from exc
    connect: SqlConnect = psycopg.connect
    return connect


def _redis_connect() -> RedisConnect:
    """redis.Redis without its own retries: a waiting block retries, within its deadline, not the client."""
    try:
        # lazy: a datastore client loads only when a step uses that datastore
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ImportError as exc:
        raise HarnessError("the Redis steps need redis-py", hint="install it: .venv/bin/pip install redis") from exc
    connect: RedisConnect = functools.partial(redis.Redis, retry=Retry(NoBackoff(), 0))
    return connect


def databases(session: Any) -> Databases:
    """The scenario's database clients (made on first use; subscriptions stopped at its end)."""
    def make() -> Databases:
        made = Databases(session.env)
        session.cleanup(made.close, "stop the scenario's Redis subscriptions")
        return made

    found: Databases = session.extension("databases", make)
    return found
