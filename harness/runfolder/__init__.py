"""The run folder (``.harness/runs/<run-id>/``): every name, layout and file format of it, in one place.

``names``: the file and folder names; ``layout``: ``RunFolder`` and ``EnvFolder``; one module per
structured file with its frozen dataclass, writer and reader: ``timeline`` (fault events),
``load`` (load runs), ``startup`` (bring-ups), ``workers`` (a split run's summary), ``rerun``,
``sweep`` (a resilience sweep's ``sweep.json`` read back).
Nothing else in harness spells a name of the run folder (tests/test_runfolder_names.py checks).
It imports only the standard library: every layer may use it.
"""

from __future__ import annotations

from harness.runfolder.layout import EnvFolder, RunFolder, default_runs_dir, latest_link, slug
from harness.runfolder.load import LOAD_COLUMNS, LoadRecord, LoadSecond
from harness.runfolder.names import BEHAVE_JSON, RECORD, RUNS_DIR, STARTUP
from harness.runfolder.observed import Observed
from harness.runfolder.startup import Startup, UpTurn
from harness.runfolder.timeline import TimelineEntry
from harness.runfolder.workers import WorkersSummary, WorkerSummary

__all__ = [
    "BEHAVE_JSON",
    "LOAD_COLUMNS",
    "RECORD",
    "RUNS_DIR",
    "STARTUP",
    "EnvFolder",
    "LoadRecord",
    "LoadSecond",
    "Observed",
    "RunFolder",
    "Startup",
    "TimelineEntry",
    "UpTurn",
    "WorkerSummary",
    "WorkersSummary",
    "default_runs_dir",
    "latest_link",
    "slug",
]
