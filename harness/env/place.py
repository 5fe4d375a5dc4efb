"""Where one environment lives: its compose project name, its run folder, the folder its paths resolve from.

    new_run_id()                          a unique, sortable run id (date-time plus random hex)
    project_name(env, run_id, instance)   a valid compose project name, unique per run and instance
    source_folder(spec, settings)         the plain compose file's folder, else the template's
    Place.of(spec, settings, run_id, instance)
                                          all of them for one environment, with its EnvFolder
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from harness.env.config import Settings
from harness.env.render import template_path
from harness.env.spec import EnvironmentSpec
from harness.runfolder import EnvFolder, RunFolder

__all__ = ["Place", "new_run_id", "project_name", "source_folder"]


def new_run_id() -> str:
    """A unique, sortable run id: date-time plus random hex."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def project_name(env: str, run_id: str, instance: int = 0) -> str:
    """A valid compose project name, unique per run and per instance."""
    safe = "".join(ch if ch.isalnum() else "-" for ch in env.lower()).strip("-")[:30]
    suffix = f"-{instance}" if instance else ""
    return f"h{run_id.replace('-', '')[-12:]}-{safe}{suffix}"


def source_folder(spec: EnvironmentSpec, settings: Settings) -> Path:
    """The folder relative paths resolve from: the plain compose file's, else the template's."""
    if spec.compose_file is not None:
        return spec.compose_file.parent.resolve()
    return template_path(settings.compose_dir, spec.template).parent.resolve()


@dataclass(frozen=True)
class Place:
    """One environment's names and folders: compose project, run folder, where relative paths resolve from."""

    project: str
    folder: EnvFolder  # <runs>/<run-id>/<env>[-<instance>]/
    source_dir: Path

    @classmethod
    def of(cls, spec: EnvironmentSpec, settings: Settings, run_id: str, instance: int = 0) -> Place:
        """The place of instance ``instance`` of ``spec`` in run ``run_id``."""
        folder = RunFolder(settings.runs_dir / run_id).env(spec.name + (f"-{instance}" if instance else ""))
        return cls(project_name(spec.name, run_id, instance), folder, source_folder(spec, settings))

    @property
    def run_dir(self) -> Path:
        """The environment's folder in the run folder."""
        return self.folder.path

    @property
    def compose_file(self) -> Path:
        """The decorated compose file every compose call reads."""
        return self.folder.compose_file
