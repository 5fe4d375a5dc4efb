"""Data faults: a file inside a container overwritten with garbage, a SQLite database held locked.

``CorruptFile`` stops the container, writes the garbage through the engine's archive API (no
shell or tools needed in the image; volumes included), and starts it again, so the service meets
the corrupt file at start-up, the way a crash in the middle of a write would leave it. It cannot
be undone: its revert only makes sure the container runs (tag such scenarios ``@fresh``).

``SqliteLock`` runs a small ``python3`` holder inside the container that takes an EXCLUSIVE lock
on the database and keeps it until revert removes its flag file, so readers and writers in the
service get "database is locked".
"""

from __future__ import annotations

import io
import posixpath
import shlex
import tarfile
import time
from typing import TYPE_CHECKING

from harness.errors import FaultError, WaitTimeout
from harness.faults._docker import exec_sh, translate
from harness.faults.process import _ContainerFault, stop_grace
from harness.faults.waits import FAULT_WAIT, LOCK_WAIT
from harness.waiting import Wait

if TYPE_CHECKING:
    from docker.models.containers import Container

GARBAGE = b"harness: this file was corrupted on purpose \x00\xff\xfe" * 256

_HOLDER = """
import os, sqlite3, sys, time
path, flag = sys.argv[1], sys.argv[2]
conn = sqlite3.connect(path, isolation_level=None, timeout=30)
conn.execute("BEGIN EXCLUSIVE")
open(flag, "w").close()
deadline = time.time() + float(sys.argv[3])
while os.path.exists(flag) and time.time() < deadline:
    time.sleep(0.05)
conn.execute("ROLLBACK")
"""


def _archive(name: str, data: bytes) -> bytes:
    """A tar holding one file ``name`` with ``data``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class CorruptFile(_ContainerFault):
    """Stop the container, overwrite ``path`` with garbage, start it again (not undoable).

    Its revert (from ``_ContainerFault``) only makes sure the container runs: the data stays corrupt.
    """

    def __init__(self, container: Container, path: str, *, data: bytes = GARBAGE, grace: int | None = None,
                 wait: Wait = FAULT_WAIT) -> None:
        if not posixpath.isabs(path):
            raise FaultError(f"{path!r} is not an absolute path", hint="name the file as seen in the container")
        super().__init__(container, wait=wait)
        self.path = path
        self.data = data
        self.grace = stop_grace(container, grace)

    def describe(self) -> str:
        """One line for logs."""
        return f"corrupt {self.path} in {self.container.name} ({len(self.data)} bytes of garbage)"

    def inject(self) -> None:
        """Stop, write the garbage, start."""
        folder, name = posixpath.split(self.path)
        with translate(self.describe(), hint=f"does {folder} exist in {self.container.name}?"):
            self.container.stop(timeout=self.grace)
            if not self.container.put_archive(folder, _archive(name, self.data)):
                raise FaultError(f"the engine refused to write {self.path} in {self.container.name}",
                                 hint="is the folder read-only?")
            self.container.start()


class SqliteLock:
    """Hold an EXCLUSIVE lock on a SQLite database inside the container until reverted."""

    def __init__(self, container: Container, path: str, *, max_seconds: float = 300.0,
                 wait: Wait = LOCK_WAIT) -> None:
        self.container = container
        self.path = path
        self.max_seconds = max_seconds
        self.wait = wait
        self.flag = f"/tmp/.harness-sqlite-lock-{abs(hash((path, id(self)))):x}"

    @property
    def target(self) -> str:
        """The container's name."""
        return str(self.container.name)

    def describe(self) -> str:
        """One line for logs."""
        return f"lock SQLite database {self.path} in {self.container.name}"

    def inject(self) -> None:
        """Start the holder and wait until it holds the lock."""
        argv = ["python3", "-c", _HOLDER, self.path, self.flag, str(self.max_seconds)]
        with translate(self.describe(), hint="the image needs python3 with sqlite3"):
            self.container.exec_run(argv, detach=True)

        def held() -> bool:
            code, _ = exec_sh(self.container, f"test -e {shlex.quote(self.flag)}")
            return code == 0
        try:
            self.wait.until(held, what=f"the lock on {self.path} in {self.container.name}")
        except WaitTimeout as exc:
            raise FaultError(f"could not lock {self.path} in {self.container.name} within {self.wait.timeout:g} s",
                             hint="is another process holding a lock, or is the path wrong?") from exc

    def revert(self) -> None:
        """Remove the flag: the holder rolls back, releases the lock and exits."""
        code, output = exec_sh(self.container, f"rm -f {shlex.quote(self.flag)}")
        if code != 0:
            raise FaultError(f"could not release the lock on {self.path} in {self.container.name}: {output}",
                             hint=f"the holder gives up by itself after {self.max_seconds:g} s")
