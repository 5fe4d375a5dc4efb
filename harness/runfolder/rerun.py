"""``rerun.txt``: the ``file:line`` of every scenario that failed, readable by ``behave @rerun.txt`` from anywhere.

behave 1.3 reads a list file's relative paths from the list file's own folder, so the harness writes
each path relative to the run folder (``../../../features/x.feature:7``); the paths resolve lexically,
so they work through the ``latest`` link too. behave's rerun formatter writes them relative to its
working folder (the project root); a file without the harness's marker line is read that way.

    # -- RERUN: 2 failing scenarios during last test run.
    # -- paths are relative to this file's folder: behave @<this file> from anywhere
    ../../../features/x.feature:7
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

MARKER = "# -- paths are relative to this file's folder: behave @<this file> from anywhere"


def write_rerun(path: Path, failures: Sequence[str], root: Path | None = None) -> None:
    """Write the failing locations (relative to ``root``, default the working folder) relative to ``path``'s folder."""
    if not failures:
        path.write_text("")
        return
    base = Path.cwd() if root is None else root
    lines = [_move(loc, base, path.parent) for loc in failures]
    path.write_text(f"# -- RERUN: {len(failures)} failing scenarios during last test run.\n{MARKER}\n"
                    + "".join(f"{line}\n" for line in lines))


def read_rerun(path: Path, root: Path | None = None) -> list[str]:
    """The failing locations relative to ``root`` (default the working folder); empty when none or no file."""
    if not path.is_file():
        return []
    lines = path.read_text().splitlines()
    found = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    if MARKER not in lines:  # behave's rerun formatter: already relative to the folder behave ran in
        return found
    base = Path.cwd() if root is None else root
    return [_move(loc, path.parent, base) for loc in found]


def _move(location: str, old: Path, new: Path) -> str:
    """``location`` (a path relative to ``old``, maybe ``:LINE``) relative to ``new``; lexical, as behave is."""
    file, colon, line = location.rpartition(":")
    if not colon or not line.isdigit():
        file, colon, line = location, "", ""
    if os.path.isabs(file):
        return location
    moved = os.path.relpath(os.path.normpath(os.path.join(os.path.abspath(old), file)), os.path.abspath(new))
    return f"{moved}{colon}{line}"
