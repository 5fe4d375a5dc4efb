"""behave's main, with a full disk reported in one line instead of a formatter's traceback.

`harness run` (and every `--workers` worker) starts ``python -m harness.run.main ARGS`` rather than
``python -m behave ARGS``: when a formatter (the record, behave JSON, JUnit, rerun) cannot write
because the disk under the run folder is full, behave would end in a traceback from deep inside
the formatter. Here it ends in
one line naming the file and exit code DISK_FULL, which `harness run` turns into a clear error
naming the folder. Everything written before the disk filled stays where it is, readable.
"""

from __future__ import annotations

import contextlib
import errno
import sys

DISK_FULL = 3  # behave exits 0 (passed), 1 (failed); this one: a result file could not be written


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it was raised from) says the disk is full."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def main(argv: list[str]) -> int:
    """Run behave with ``argv``; a full disk ends it with DISK_FULL and one line on stderr."""
    # lazy: `harness run` imports this module for DISK_FULL and must not load behave itself
    from behave.__main__ import main as behave_main

    try:
        return int(behave_main(argv))
    except OSError as exc:
        if not disk_full(exc):
            raise
        where = f" writing {exc.filename}" if exc.filename else ""
        with contextlib.suppress(OSError):  # a --workers worker's stderr is a log file on that same full disk
            print(f"harness: no space left on the disk{where}: behave stopped; the results written so far are kept",
                  file=sys.stderr, flush=True)
        return DISK_FULL


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
