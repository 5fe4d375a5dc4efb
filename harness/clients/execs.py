"""Commands, files and SQLite databases inside a service's containers (``docker exec``).

    run(env, service, argv, every=False) -> list[ExecResult]   one per replica (or the first only)
    sqlite_query(env, service, path, sql) -> QueryResult        python3's sqlite3, in the container
    read_file(env, service, path) -> ExecResult                 ``cat`` of the file

The SQLite file lives in the container, so the query runs there through the image's python3 (every
image of the reference stack has it); the answer comes back as JSON. Docker errors are translated
here, once, into ``ExecFailed`` (service, container, command, Hint).
"""

from __future__ import annotations

import json
import logging
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from harness.clients.queries import QueryResult
from harness.errors import HarnessError

logger = logging.getLogger(__name__)


class ExecFailed(HarnessError):
    """A command could not be run in a container (not its non-zero exit: that is a result)."""

    def __init__(self, message: str, *, service: str, command: str, hint: str) -> None:
        self.service = service
        self.command = command
        super().__init__(message, hint=hint)


class QueryFailed(HarnessError):
    """A database rejected a query (syntax, missing table, locked file, unreachable server)."""

    def __init__(self, message: str, *, database: str, query: str, hint: str, service: str = "") -> None:
        self.database = database
        self.query = query
        self.service = service
        super().__init__(message, hint=hint)


class Containers(Protocol):
    """What this module needs of the running environment (harness.env.lifecycle.Environment has it)."""

    def containers(self, service: str) -> list[Any]:
        """The docker SDK containers of a service."""


@dataclass(frozen=True)
class ExecResult:
    """What one command did in one container."""

    service: str
    container: str
    command: str
    exit_code: int
    stdout: str
    stderr: str
    elapsed_ms: float

    def describe(self, limit: int = 1500) -> str:
        """The command, where it ran, its exit code and both outputs (shortened), for messages."""
        return (f"`{self.command}` in {self.container} (service {self.service!r}) exited {self.exit_code} "
                f"after {self.elapsed_ms:.0f} ms\nstdout: {_short(self.stdout, limit)}\n"
                f"stderr: {_short(self.stderr, limit)}")


def shell(command: str) -> list[str]:
    """``sh -c COMMAND``: steps give commands as one line or a script."""
    return ["sh", "-c", command]


def run(env: Containers, service: str, argv: Sequence[str], *, every: bool = False,
        shown: str | None = None) -> list[ExecResult]:
    """Run ``argv`` in the first container of ``service`` (or in every replica); one result each."""
    command = shown or " ".join(shlex.quote(a) for a in argv)
    containers = env.containers(service)
    if not containers:
        raise ExecFailed(f"service {service!r} has no running container to run `{command}` in",
                         service=service, command=command,
                         hint=f"is it up? `harness status` lists the services; start it: When {service} is started")
    return [_run_one(container, service, list(argv), command) for container in (containers if every else
                                                                                containers[:1])]


def _run_one(container: Any, service: str, argv: list[str], command: str) -> ExecResult:
    # lazy: the docker SDK (~85 ms with requests) loads only where a fault, log or image needs it
    import docker.errors

    started = time.perf_counter()
    try:
        code, (out, err) = container.exec_run(argv, demux=True)
    except docker.errors.DockerException as exc:
        raise ExecFailed(f"could not run `{command}` in {container.name} (service {service!r}): {exc}",
                         service=service, command=command,
                         hint="the container must be running (a killed or paused one cannot exec)") from exc
    result = ExecResult(service, container.name, command, int(code if code is not None else -1),
                        (out or b"").decode("utf-8", errors="replace"), (err or b"").decode("utf-8", errors="replace"),
                        (time.perf_counter() - started) * 1000)
    logger.debug("%s", result.describe(200))
    return result


def read_file(env: Containers, service: str, path: str) -> ExecResult:
    """``cat PATH`` in the first container of the service."""
    return run(env, service, ["cat", path], shown=f"cat {path}")[0]


_SQLITE = r"""
import json, sqlite3, sys
path, query = sys.argv[1], sys.argv[2]
try:
    conn = sqlite3.connect("file:" + path + "?mode=ro", uri=True, timeout=2)
    cursor = conn.execute(query)
    columns = [d[0] for d in cursor.description or []]
    rows = [list(r) for r in cursor.fetchall()]
    print(json.dumps({"columns": columns, "rows": rows}, default=repr))
except sqlite3.Error as exc:
    print(json.dumps({"error": type(exc).__name__ + ": " + str(exc)}))
    sys.exit(3)
"""


def sqlite_query(env: Containers, service: str, path: str, query: str) -> QueryResult:
    """Run a read-only SQL query on the SQLite file PATH inside the service's first container."""
    result = run(env, service, ["python3", "-c", _SQLITE, path, query],
                 shown=f"python3 sqlite3 {path}: {query}")[0]
    database = f"SQLite {path} in {result.container}"
    try:
        answer = json.loads(result.stdout)
    except ValueError as exc:
        raise QueryFailed(f"{database}: no answer to {query!r}; {result.describe(500)}", database=database,
                          query=query, hint="the image needs python3 (with its sqlite3 module)") from exc
    if "error" in answer:
        raise QueryFailed(f"{database} rejected {query!r}: {answer['error']}", database=database, query=query,
                          hint="check the table and column names: SELECT name FROM sqlite_master lists the tables")
    return QueryResult(database, query, list(answer["columns"]), [list(row) for row in answer["rows"]])


def _short(text: str, limit: int) -> str:
    text = text.rstrip("\n")
    if not text:
        return "(empty)"
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"
