"""Analyzer: read run results into one model, sort failures into blockers, write reports.

Import only what a command needs: this package must stay cheap to import (no docker, behave,
aiohttp or httpx at start-up).
"""

from __future__ import annotations
