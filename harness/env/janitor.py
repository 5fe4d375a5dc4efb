"""Removes what killed runs left behind: labelled projects whose owner process is gone."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.engine.api import EngineReads
from harness.engine.compose import ComposeRunner
from harness.env.watchdog import owner_alive
from harness.errors import HarnessError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Project:
    """A compose project the harness started, as seen from its containers' labels."""

    name: str
    run_id: str
    env: str
    owner: int
    host: str
    created: str
    containers: int
    running: int

    @property
    def detached(self) -> bool:
        """Made by `harness up`: kept until `harness down`."""
        return self.owner == 0


def projects(reads: EngineReads) -> list[Project]:
    """Every compose project with harness labels, from containers, networks and volumes."""
    found: dict[str, dict[str, Any]] = {}
    for summary in reads.containers(all=True, filters={"label": "harness.run"}):
        labels = summary.get("Labels") or {}
        entry = found.setdefault(labels.get("com.docker.compose.project", "?"), {"labels": labels, "n": 0, "up": 0})
        entry["n"] += 1
        entry["up"] += summary.get("State") == "running"
    networks = reads.networks(filters={"label": "harness.run"})
    volumes = reads.volumes(filters={"label": "harness.run"}).get("Volumes") or []
    for item in (*networks, *volumes):
        labels = item.get("Labels") or {}
        found.setdefault(labels.get("com.docker.compose.project", "?"), {"labels": labels, "n": 0, "up": 0})
    return sorted((_project(name, e) for name, e in found.items()), key=lambda p: p.created)


def _project(name: str, entry: dict[str, Any]) -> Project:
    labels = entry["labels"]
    return Project(name=name, run_id=labels.get("harness.run", ""), env=labels.get("harness.env", ""),
                   owner=int(labels.get("harness.owner", "0") or 0), host=labels.get("harness.host", ""),
                   created=labels.get("harness.created", ""), containers=entry["n"], running=entry["up"])


def orphaned(project: Project, *, host: str | None = None,
             alive: Callable[[int], bool] = owner_alive) -> bool:
    """A project whose owner ran on this host and is gone."""
    return not project.detached and project.host == (host or socket.gethostname()) and not alive(project.owner)


def remove(project: str, timeout: float = 10) -> None:
    """Take a project down by name (Compose v2 finds it by its labels)."""
    ComposeRunner(project).down(timeout)


def sweep(reads: EngineReads, *, everything: bool = False) -> list[str]:
    """Remove orphaned projects (or every harness project with ``everything``); return their names."""
    removed = []
    for project in projects(reads):
        if everything or orphaned(project):
            try:
                remove(project.name)
                removed.append(project.name)
            except HarnessError as exc:
                logger.error("janitor could not remove %s: %s", project.name, exc)
    return removed
