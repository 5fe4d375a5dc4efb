"""Exec, file and SQLite steps with a fake container that runs the command on this host (no Docker)."""

from __future__ import annotations

import runpy
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from behave.step_registry import registry

from harness.clients.execs import ExecFailed, QueryFailed
from harness.env.config import Settings
from harness.errors import HarnessError, VerificationFailed
from harness.expect import LEDGER
from harness.run.session import Environments, Session
from tests.steps.kit import REPO, STEP_MODULES, FakeContext, FakeEnv, run


class HostContainer:
    """A docker SDK container look-alike whose exec_run runs argv here."""

    def __init__(self, name: str) -> None:
        self.name = name

    def exec_run(self, argv: list[str], demux: bool = False) -> tuple[int, tuple[bytes, bytes]]:
        done = subprocess.run(argv, capture_output=True, timeout=10)
        return done.returncode, (done.stdout or None, done.stderr or None)  # type: ignore[return-value]


class ExecEnv(FakeEnv):
    def containers(self, service: str) -> list[Any]:
        return [HostContainer(f"{service}-{i}") for i in (1, 2)] if service in self.services else []


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "registry.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE workers (worker_id TEXT, status TEXT, slots INTEGER, gone TEXT)")
        conn.executemany("INSERT INTO workers VALUES (?, ?, ?, ?)",
                         [("w1", "ready", 1, None), ("w2", "busy", 4, None)])
    return path


@pytest.fixture
def context(tmp_path: Path, db: Path) -> Iterator[Any]:
    registry.clear()
    for name in (*STEP_MODULES, "exec_steps"):
        runpy.run_path(str(REPO / "harness" / "stepdefs" / f"{name}.py"), run_name=f"generic_steps.{name}")
    settings = Settings(root=tmp_path)
    session = Session(settings, Environments(settings, "run", {}))
    session._env = ExecEnv("http://127.0.0.1:9")  # type: ignore[assignment]
    session.remember("db", str(db))
    LEDGER.take()
    yield FakeContext(session)
    session.end_scenario()


def test_a_command_and_its_output_are_checked(context: Any) -> None:
    assert run(context, 'When I run "echo hello; echo oops >&2" in "web"') == (0, 1)
    run(context, '''
        Then the command exits with 0
        And the command's stdout contains "hell"
        And the command's stdout equals "hello"
        And the command's stdout matches "^h.llo$"
        And the command's stderr contains "oops"
        When I run "echo '{"a": {"b": [1, 2]}}'" in every replica of "web"
        Then the command's stdout JSON at "a.b[1]" equals 2
        And the command's stderr is empty
        ''')


def test_a_backslash_keeps_the_braces_of_a_shell_variable_and_remembered_values_fill_the_rest(
        context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_TEST_WORD", "from-the-shell")
    context.harness.remember("who", "remembered")
    run(context, r'''
        When I run "echo $\{HARNESS_TEST_WORD} {who}" in "web"
        Then the command's stdout equals "from-the-shell remembered"
        ''')


@pytest.mark.parametrize(("step", "message"), [
    ("Then the command exits with 0", "expected exit code 0: `echo out; exit 3` in web-1 (service 'web') exited 3"),
    ('Then the command\'s stdout contains "nope"', "stdout does not contain 'nope'"),
    ('Then the command\'s stdout JSON at "a" equals 1', "stdout is not JSON"),
    ("Then the command's stdout is empty", "stdout: out"),
])
def test_failures_show_the_command_and_its_output(context: Any, step: str, message: str) -> None:
    run(context, 'When I run "echo out; exit 3" in "web"')
    with pytest.raises(VerificationFailed) as caught:
        run(context, step)
    assert message in str(caught.value)


def test_files_exist_and_contain_text(context: Any, tmp_path: Path) -> None:
    (tmp_path / "note.txt").write_text("the queen is here\n")
    context.harness.remember("dir", str(tmp_path))
    run(context, '''
        Then the file "{dir}/note.txt" exists in "web"
        And the file "{dir}/note.txt" in "web" contains "queen is"
        And the file "{dir}/missing" does not exist in "web"
        ''')
    with pytest.raises(VerificationFailed, match="no file .*missing.* in web-1"):
        run(context, 'Then the file "{dir}/missing" exists in "web"')
    with pytest.raises(VerificationFailed, match="cannot read .*missing"):
        run(context, 'Then the file "{dir}/missing" in "web" contains "x"')


def test_sqlite_rows_tables_and_values(context: Any) -> None:
    run(context, '''
        Then the SQLite query "SELECT * FROM workers" on "{db}" in "web" returns 2 rows
        And the SQLite query "SELECT worker_id, slots, gone FROM workers ORDER BY worker_id" on "{db}" in "web" returns:
          | worker_id | slots | gone |
          | w1        | 1     | null |
          | w2        | 4     | null |
        And the SQLite query "SELECT status FROM workers WHERE slots = 4" on "{db}" in "web" returns the value "busy"
        And the SQLite query "SELECT max(slots) FROM workers" on "{db}" in "web" returns the value 4
        ''')


def test_sqlite_failures_name_the_query_and_what_came_back(context: Any) -> None:
    with pytest.raises(VerificationFailed) as caught:
        run(context, '''
            Then the SQLite query "SELECT worker_id FROM workers ORDER BY 1" on "{db}" in "web" returns:
              | worker_id |
              | w1        |
              | w3        |
            ''')
    assert "row 2: expected w3  got w2" in str(caught.value) and "answered 2 rows" in str(caught.value)
    with pytest.raises(QueryFailed, match="rejected 'SELECT nope FROM workers': OperationalError: no such column"):
        run(context, 'Then the SQLite query "SELECT nope FROM workers" on "{db}" in "web" returns 1 rows')
    with pytest.raises(VerificationFailed, match="the number of rows; .* answered 2 rows"):
        run(context, 'Then the SQLite query "SELECT * FROM workers" on "{db}" in "web" returns 3 rows')


def test_an_unknown_service_and_no_command_yet_are_clear_errors(context: Any) -> None:
    with pytest.raises(HarnessError, match="no command has been run in this scenario"):
        run(context, "Then the command exits with 0")
    with pytest.raises(ExecFailed, match="service 'nosuch' has no running container"):
        run(context, 'When I run "true" in "nosuch"')
