"""Analyzer: read run results into one model, sort failures into blockers, write reports.

Beside the results it reads the run folder's evidence (``evidence``: fault timelines, load runs,
failure logs), sets each failure against it (``annotate``), judges load runs against their bounds
(``performance``) and decides go/no-go (``gonogo``).

Import only what a command needs: this package must stay cheap to import (no docker, behave,
aiohttp or httpx at start-up).
"""

from __future__ import annotations
