r"""Exec, file and SQLite steps: run a command in a service's container and check what it did.

Commands run as `sh -c COMMAND` in the first container of the service, or in every replica with
'in every replica of'. On Debian images `sh` is dash: no arrays, no `[[ ]]`, no `source`, no
`set -o pipefail`. For bash, say so: `When I run "bash -c 'set -o pipefail; ...'" in "S"` (the image
must have bash; Debian's have it).

`{name}` in a command is filled in from remembered values before the shell sees it, so a shell's
own `${HOME}` must be written `$\{HOME}` (a backslash before the brace keeps `{HOME}` as written);
`$HOME` without braces needs nothing. The checks apply to every result of the last command and
name the command, container, exit code, stdout and stderr when they fail.
SQLite files are queried inside the container with its python3's sqlite3 (read-only), so the
database is the one the service really uses; a query error fails with the database's own message.

Drivers: 'I run …'. Every other step here verifies through harness.expect.
"""

from __future__ import annotations

import json
import re
from typing import Any

from behave import register_type, step, use_step_matcher

from harness import expect
from harness.clients import execs, jsonpath, queries
from harness.clients.http import STEP_TYPES
from harness.errors import HarnessError

use_step_matcher("parse")

EXAMPLE = """
Scenario: a command, a file and a SQLite table inside the containers
  When I run "bash -c 'echo $\\{HOSTNAME}'" in "hive-1"
  Then the command exits with 0
  And the command's stderr is empty
  And the file "/data/hive-registry.db" exists in "hive-1"
  And the SQLite query "SELECT * FROM workers" on "/data/hive-registry.db" in "hive-1" returns 2 rows
"""  # a worked example, shown in docs/steps.md (checked: every step exists)


def _stdio(text: str) -> str:
    """Which output of the last command.

    Grammar: stdout | stderr
    Example: stdout
    """
    return text


_stdio.pattern = r"stdout|stderr"  # type: ignore[attr-defined]
register_type(**STEP_TYPES, Stdio=_stdio)


@step('I run "{command:Rest}" in "{service:Quoted}"')
def run_command(context: Any, command: str, service: str) -> None:
    """Run a shell command in the service's first container and keep its exit code and output.

    Example: When I run "ls /data" in "hive-1"
    """
    _run(context, context.harness.interpolate(command), service, every=False)


@step('I run "{command:Rest}" in every replica of "{service:Quoted}"')
def run_everywhere(context: Any, command: str, service: str) -> None:
    """Run a shell command in every container of the service; the checks then apply to each.

    Example: When I run "test -d /data" in every replica of "worker"
    """
    _run(context, context.harness.interpolate(command), service, every=True)


@step('I run in "{service:Quoted}":')
def run_script(context: Any, service: str) -> None:
    """Run the doc string as a shell script in the service's first container.

    Example: When I run in "queen":
    """
    if context.text is None:
        raise HarnessError("this step needs a doc string", hint='put the script below the step between """ lines')
    _run(context, context.harness.interpolate(str(context.text)), service, every=False)


@step("the command exits with {code:d}")
def exits_with(context: Any, code: int) -> None:
    """Check the exit code of the last command (in every container it ran in).

    Example: Then the command exits with 0
    """
    for result in _results(context):
        expect.that(result.exit_code == code, f"expected exit code {code}: {result.describe()}")


@step('the command\'s {stream:Stdio} contains "{text:Rest}"')
def output_contains(context: Any, stream: str, text: str) -> None:
    """Check that the last command's stdout (or stderr) contains TEXT.

    Example: Then the command's stdout contains "hive-registry.db"
    """
    wanted = context.harness.interpolate(text)
    for result in _results(context):
        expect.that(wanted in getattr(result, stream), f"{stream} does not contain {wanted!r}: {result.describe()}")


@step('the command\'s {stream:Stdio} matches "{pattern:Rest}"')
def output_matches(context: Any, stream: str, pattern: str) -> None:
    """Check the last command's stdout (or stderr) against a regular expression (searched, multi-line).

    Example: Then the command's stdout matches "^worker-1-\\d$"
    """
    for result in _results(context):
        found = re.search(pattern, getattr(result, stream), re.MULTILINE)
        expect.that(found is not None, f"{stream} does not match /{pattern}/: {result.describe()}")


@step('the command\'s {stream:Stdio} equals "{text:Rest}"')
def output_equals(context: Any, stream: str, text: str) -> None:
    """Check the last command's whole stdout (or stderr), trailing newlines ignored.

    Example: Then the command's stdout equals "ok"
    """
    wanted = context.harness.interpolate(text)
    for result in _results(context):
        actual = getattr(result, stream).rstrip("\n")
        expect.that(actual == wanted, f"{stream}: expected {wanted!r}, got {actual!r}: {result.describe()}")


@step("the command's {stream:Stdio} is empty")
def output_empty(context: Any, stream: str) -> None:
    """Check that the last command wrote nothing (whitespace aside) to stdout (or stderr).

    Example: Then the command's stderr is empty
    """
    for result in _results(context):
        expect.that(not getattr(result, stream).strip(), f"{stream} is not empty: {result.describe()}")


@step('the command\'s stdout JSON at "{path:Quoted}" equals {value:Rest}')
def output_json(context: Any, path: str, value: str) -> None:
    """Parse the last command's stdout as JSON and check the value at PATH against a JSON literal.

    Example: Then the command's stdout JSON at "status" equals "ok"
    """
    expected = jsonpath.literal(context.harness.interpolate(value))
    for result in _results(context):
        document = _json(result)
        actual = jsonpath.at(document, path, what=f"the stdout JSON of `{result.command}` in {result.container}")
        expect.that(jsonpath.same(actual, expected), f"stdout JSON at {path!r}: expected "
                    f"{jsonpath.excerpt(expected)}, got {jsonpath.excerpt(actual)}: {result.describe()}")


@step('the file "{path:Quoted}" exists in "{service:Quoted}"')
def file_exists(context: Any, path: str, service: str) -> None:
    """Check that PATH exists in the service's first container.

    Example: Then the file "/data/hive-registry.db" exists in "hive-1"
    """
    path = context.harness.interpolate(path)
    result = execs.run(context.harness.env, service, ["ls", "-ld", path], shown=f"ls -ld {path}")[0]
    expect.that(result.exit_code == 0, f"no file {path!r} in {result.container}: {result.describe()}")


@step('the file "{path:Quoted}" does not exist in "{service:Quoted}"')
def file_absent(context: Any, path: str, service: str) -> None:
    """Check that nothing is at PATH in the service's first container.

    Example: Then the file "/tmp/lock" does not exist in "hive-1"
    """
    path = context.harness.interpolate(path)
    result = execs.run(context.harness.env, service, ["ls", "-ld", path], shown=f"ls -ld {path}")[0]
    expect.that(result.exit_code != 0, f"{path!r} exists in {result.container}: {result.stdout.strip()}")


@step('the file "{path:Quoted}" in "{service:Quoted}" contains "{text:Rest}"')
def file_contains(context: Any, path: str, service: str, text: str) -> None:
    """Check that the file at PATH in the service's first container contains TEXT.

    Example: Then the file "/etc/hostname" in "queen" contains "queen"
    """
    path, wanted = context.harness.interpolate(path), context.harness.interpolate(text)
    result = execs.read_file(context.harness.env, service, path)
    expect.that(result.exit_code == 0, f"cannot read {path!r}: {result.describe()}")
    expect.that(wanted in result.stdout, f"the file {path!r} in {result.container} does not contain {wanted!r}: "
                                         f"{result.describe(500)}")


@step('the SQLite query "{sql:Rest}" on "{path:Quoted}" in "{service:Quoted}" returns {count:d} rows')
def sqlite_rows(context: Any, sql: str, path: str, service: str, count: int) -> None:
    """Run a read-only query on a SQLite file inside the service and check how many rows it returns.

    Example: Then the SQLite query "SELECT * FROM workers" on "/data/hive-registry.db" in "hive-1" returns 2 rows
    """
    result = _sqlite(context, sql, path, service)
    expect.equal(len(result.rows), count, f"the number of rows; {result.describe()}")


@step('the SQLite query "{sql:Rest}" on "{path:Quoted}" in "{service:Quoted}" returns:')
def sqlite_table(context: Any, sql: str, path: str, service: str) -> None:
    """Check the rows a SQLite query returns, in order, against a table whose heading names the columns.

    Example: Then the SQLite query "SELECT worker_id FROM workers" on "/data/registry.db" in "hive-1" returns:
    """
    if context.table is None:
        raise HarnessError("this step needs a table", hint="add a heading row of column names and the rows")
    result = _sqlite(context, sql, path, service)
    heading = list(context.table.headings)
    rows = [[context.harness.interpolate(cell) for cell in row] for row in context.table]
    difference = queries.table_difference(result, heading, rows)
    expect.that(not difference, f"{difference}\n{result.describe()}")


@step('the SQLite query "{sql:Rest}" on "{path:Quoted}" in "{service:Quoted}" returns the value {value:Rest}')
def sqlite_value(context: Any, sql: str, path: str, service: str, value: str) -> None:
    """Check the first column of the first row a SQLite query returns against a JSON literal.

    Example: Then the SQLite query "SELECT count(*) FROM workers" on "/data/registry.db" in "hive-1" returns the value 2
    """
    result = _sqlite(context, sql, path, service)
    expect.that(result.rows, f"no row: {result.describe()}")
    expected = jsonpath.literal(context.harness.interpolate(value))
    expect.that(queries.value_matches(result.first_value(), expected),
                f"expected {jsonpath.excerpt(expected)}, got {result.first_value()!r}: {result.describe()}")


def _run(context: Any, command: str, service: str, every: bool) -> None:
    expect.drove(f"exec in {service}")
    found = execs.run(context.harness.env, service, execs.shell(command), every=every, shown=command)
    context.harness.extension("exec", dict)["last"] = found


def _results(context: Any) -> list[execs.ExecResult]:
    found: list[execs.ExecResult] | None = context.harness.extension("exec", dict).get("last")
    if not found:
        raise HarnessError("no command has been run in this scenario",
                           hint='run one first: When I run "ls /data" in "SERVICE"')
    return found


def _json(result: execs.ExecResult) -> Any:
    try:
        document, parsed = json.loads(result.stdout), True
    except ValueError:
        document, parsed = None, False
    expect.that(parsed, f"stdout is not JSON: {result.describe()}")
    return document


def _sqlite(context: Any, sql: str, path: str, service: str) -> queries.QueryResult:
    fill = context.harness.interpolate
    return execs.sqlite_query(context.harness.env, service, fill(path), fill(sql))
