"""``rerun.txt``: the ``file:line`` of every scenario that failed, as behave's rerun formatter writes it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def write_rerun(path: Path, failures: Sequence[str]) -> None:
    """Write the failing locations under behave's header (an empty file when none failed)."""
    if failures:
        path.write_text(f"# -- RERUN: {len(failures)} failing scenarios during last test run.\n"
                        + "".join(f"{loc}\n" for loc in failures))
    else:
        path.write_text("")


def read_rerun(path: Path) -> list[str]:
    """The failing locations (empty when the file is missing or none failed)."""
    if not path.is_file():
        return []
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
