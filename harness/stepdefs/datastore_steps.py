"""Datastore steps: ask PostgreSQL (psycopg 3) and Redis (redis-py) what they stored, from the host.

Where and as whom, step by step:

- host and port: the service's container port 5432 (PostgreSQL) or 6379 (Redis), published by the
  environment on the engine's host (127.0.0.1 for a local engine) — the same address `harness
  status` prints. A service that publishes nothing is reached at its container's address on the
  project network (a local engine only). The environment file's `port:` does not change these.
- user and database: PostgreSQL logs in as "postgres" to the database named like the user, unless
  'Given the PostgreSQL database of "S" is "DB" as user "U" with the password from "PARAM"' names
  others. Redis uses database 0 and no user.
- password: read from an environment *parameter*, never from the compose file: PostgreSQL takes
  the parameter the 'Given' names, else `postgres_password`, else `db_password`; Redis takes
  `redis_password` when the environment has it. A plain compose project (`compose: ...` in the
  environment file) therefore declares the password as a parameter too, with its value as the
  default or from `-D NAME=...`: `parameters: {db_password: {default: shop-dev-password, secret:
  true}}`. Passwords are never printed.

Queries and keys take {name} from remembered values; a query error fails with the database's own
message and the query. Wrapped in 'within N seconds:', a database still starting (PostgreSQL "the
database system is starting up", Redis LOADING, a refused connection) is retried until the block's
deadline, and the clients' own timeouts end by it (Redis's own retries are off).

Drivers: 'I run the SQL …', 'I publish …', 'I subscribe … to the Redis channel …' and the 'Given'
(which checks that the password parameter exists). Every other step verifies through harness.expect.
"""

from __future__ import annotations

from typing import Any

from behave import register_type, step, use_step_matcher

from harness import expect
from harness.clients import jsonpath, queries
from harness.clients.datastores import SQL_DEFAULT, Target, databases
from harness.clients.http import STEP_TYPES
from harness.errors import HarnessError

use_step_matcher("parse")

EXAMPLE = """
Scenario: a row in PostgreSQL and a key in Redis
  Given the PostgreSQL database of "db" is "shop" as user "shop" with the password from "db_password"
  When I run the SQL "UPDATE items SET stock = 3 WHERE id = 1" on "db"
  Then the SQL query "SELECT stock FROM items WHERE id = 1" on "db" returns the value 3
  And the Redis key "greeting" on "cache" does not exist
"""  # a worked example, shown in docs/steps.md (checked: every step exists)


def _sized(text: str) -> str:
    """A Redis type whose length a step checks.

    Grammar: list | stream
    Example: list
    """
    return text


_sized.pattern = r"list|stream"  # type: ignore[attr-defined]
register_type(**STEP_TYPES, RedisSized=_sized)


@step('the PostgreSQL database of "{service:Quoted}" is "{database:Quoted}" as user "{user:Quoted}" with the '
      'password from "{param:Quoted}"')
def sql_target(context: Any, service: str, database: str, user: str, param: str) -> None:
    """Say how to log in to SERVICE's PostgreSQL: database, user, and the parameter holding the password.

    Example: Given the PostgreSQL database of "db" is "shop" as user "shop" with the password from "db_password"
    """
    expect.contains(sorted(context.harness.env.params), param, "the environment's parameters")
    databases(context.harness).configure(service, Target(SQL_DEFAULT.port, user, database, param))


@step('I run the SQL "{sql:Rest}" on "{service:Quoted}"')
def run_sql(context: Any, sql: str, service: str) -> None:
    """Run a statement (INSERT, UPDATE, DELETE ...) on SERVICE's PostgreSQL, autocommitted.

    Example: When I run the SQL "DELETE FROM orders WHERE sku = 'test'" on "db"
    """
    expect.drove(f"SQL on {service}")
    databases(context.harness).sql(service, context.harness.interpolate(sql))


@step('the SQL query "{sql:Rest}" on "{service:Quoted}" returns {count:d} rows')
def sql_rows(context: Any, sql: str, service: str, count: int) -> None:
    """Check how many rows a PostgreSQL query returns.

    Example: Then the SQL query "SELECT * FROM orders WHERE id = {order_id}" on "db" returns 1 rows
    """
    result = databases(context.harness).sql(service, context.harness.interpolate(sql))
    expect.equal(len(result.rows), count, f"the number of rows; {result.describe()}")


@step('the SQL query "{sql:Rest}" on "{service:Quoted}" returns:')
def sql_table(context: Any, sql: str, service: str) -> None:
    """Check the rows a PostgreSQL query returns, in order, against a table whose heading names the columns.

    Example: Then the SQL query "SELECT sku, quantity FROM orders ORDER BY id" on "db" returns:
    """
    if context.table is None:
        raise HarnessError("this step needs a table", hint="add a heading row of column names and the rows")
    result = databases(context.harness).sql(service, context.harness.interpolate(sql))
    rows = [[context.harness.interpolate(cell) for cell in row] for row in context.table]
    difference = queries.table_difference(result, list(context.table.headings), rows)
    expect.that(not difference, f"{difference}\n{result.describe()}")


@step('the SQL query "{sql:Rest}" on "{service:Quoted}" returns the value {value:Rest}')
def sql_value(context: Any, sql: str, service: str, value: str) -> None:
    """Check the first column of the first row of a PostgreSQL query against a JSON literal.

    Example: Then the SQL query "SELECT count(*) FROM orders" on "db" returns the value 3
    """
    result = databases(context.harness).sql(service, context.harness.interpolate(sql))
    expect.that(result.rows, f"no row: {result.describe()}")
    expected = jsonpath.literal(context.harness.interpolate(value))
    expect.that(queries.value_matches(result.first_value(), expected),
                f"expected {jsonpath.excerpt(expected)}, got {result.first_value()!r}: {result.describe()}")


@step('the Redis key "{key:Quoted}" on "{service:Quoted}" is "{value:Quoted}"')
def redis_value(context: Any, key: str, service: str, value: str) -> None:
    """Check a Redis string key's value.

    Example: Then the Redis key "product:{sku}" on "cache" is "{price}"
    """
    key, wanted = context.harness.interpolate(key), context.harness.interpolate(value)
    actual = databases(context.harness).command(service, "get", key)
    expect.that(actual == wanted, f"Redis key {key!r} on {service!r}: expected {wanted!r}, got "
                                  f"{'nothing (no such key)' if actual is None else repr(actual)}")


@step('the Redis key "{key:Quoted}" on "{service:Quoted}" exists')
def redis_exists(context: Any, key: str, service: str) -> None:
    """Check that a Redis key exists (of any type).

    Example: Then the Redis key "session:{user}" on "cache" exists
    """
    key = context.harness.interpolate(key)
    found = databases(context.harness).command(service, "exists", key)
    expect.that(found, f"no Redis key {key!r} on {service!r}")


@step('the Redis key "{key:Quoted}" on "{service:Quoted}" does not exist')
def redis_absent(context: Any, key: str, service: str) -> None:
    """Check that a Redis key does not exist (for example after it expired).

    Example: Then within 5 seconds the Redis key "product:1" on "cache" does not exist
    """
    key = context.harness.interpolate(key)
    found = databases(context.harness).command(service, "exists", key)
    expect.that(not found, f"the Redis key {key!r} on {service!r} still exists")


@step('the Redis key "{key:Quoted}" on "{service:Quoted}" expires within {seconds:Number} seconds')
def redis_ttl(context: Any, key: str, service: str, seconds: float) -> None:
    """Check that a Redis key has a time to live of at most SECONDS (and one at all).

    Example: Then the Redis key "product:1" on "cache" expires within 30 seconds
    """
    key = context.harness.interpolate(key)
    ttl = databases(context.harness).command(service, "pttl", key)
    meaning = {-2: "the key does not exist", -1: "the key never expires"}
    expect.that(ttl is not None and 0 <= ttl <= seconds * 1000,
                f"Redis key {key!r} on {service!r}: {meaning.get(ttl, f'it expires in {ttl} ms')}, "
                f"not within {seconds:g} s")


@step('the Redis {kind:RedisSized} "{key:Quoted}" on "{service:Quoted}" has {count:d} {unit:Rest}')
def redis_length(context: Any, kind: str, key: str, service: str, count: int, unit: str) -> None:
    """Check the length of a Redis list (LLEN) or stream (XLEN).

    Example: Then the Redis stream "orders" on "cache" has 3 entries
    """
    key = context.harness.interpolate(key)
    length = databases(context.harness).command(service, "llen" if kind == "list" else "xlen", key)
    expect.equal(length, count, f"the length of Redis {kind} {key!r} on {service!r}")


@step('I subscribe "{name:Quoted}" to the Redis channel "{channel:Quoted}" on "{service:Quoted}"')
def redis_subscribe(context: Any, name: str, channel: str, service: str) -> None:
    """Subscribe to a Redis channel in the background; check what arrived later.

    Example: When I subscribe "events" to the Redis channel "orders" on "cache"
    """
    expect.drove(f"subscribe {channel}")
    databases(context.harness).subscribe(name, service, context.harness.interpolate(channel))


@step('I publish "{message:Quoted}" on the Redis channel "{channel:Quoted}" on "{service:Quoted}"')
def redis_publish(context: Any, message: str, channel: str, service: str) -> None:
    """Publish a message on a Redis channel.

    Example: When I publish "hello" on the Redis channel "orders" on "cache"
    """
    expect.drove(f"publish on {channel}")
    fill = context.harness.interpolate
    databases(context.harness).command(service, "publish", fill(channel), fill(message))


@step('a message containing "{text:Quoted}" arrives on the Redis subscription "{name:Quoted}" within '
      "{seconds:Number} s")
def redis_message(context: Any, text: str, name: str, seconds: float) -> None:
    """Wait up to SECONDS for a message containing TEXT on a Redis subscription.

    Example: Then a message containing "order-7" arrives on the Redis subscription "events" within 2 s
    """
    wanted = context.harness.interpolate(text)
    sub = databases(context.harness).subscription(name)
    got = sub.wait_for(lambda messages: any(wanted in m for m in messages), seconds)
    failed = f"; the subscription failed: {sub.error}" if sub.error else ""
    expect.that(any(wanted in m for m in got), f"no message containing {wanted!r} arrived on channel "
                                              f"{sub.channel!r} within {seconds:g} s; {len(got)} arrived: "
                                              f"{got[-5:]!r}{failed}")
