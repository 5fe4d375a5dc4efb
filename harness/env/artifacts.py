"""What an environment leaves in its run folder when something fails: logs and `docker inspect`, redacted."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.engine.compose import ComposeRunner
from harness.env.readiness import Inspects
from harness.runfolder import EnvFolder

logger = logging.getLogger(__name__)


@dataclass
class Artifacts:
    """Saves a project's logs and container state under ``run_dir``, every text through ``redact``."""

    run_dir: Path
    compose: ComposeRunner
    project: Inspects  # the project's containers and their inspect (harness.env.client.ProjectView)
    redact: Callable[[str], str]

    def save_failure_logs(self, label: str, tail: int = 500) -> Path:
        """Save every service's last log lines when a step fails; return the file."""
        env = EnvFolder(self.run_dir)
        env.failures_dir.mkdir(parents=True, exist_ok=True)
        path = env.failure_log(label)
        path.write_text(self.redact(self.compose.logs(tail=tail)))
        return path

    def save_startup_failure(self) -> None:
        """Save compose logs and `docker inspect` of every container before any teardown; never raises."""
        try:
            folder = EnvFolder(self.run_dir)
            folder.logs_dir.mkdir(parents=True, exist_ok=True)
            folder.startup_log.write_text(self.redact(self.compose.logs()))
            folder.inspect_dir.mkdir(exist_ok=True)
            for obs in self.project.observe():
                data = self.project.inspect(obs.id)
                folder.inspect_file(obs.name).write_text(self.redact(json.dumps(data, indent=2)))
        except Exception as exc:  # noqa: BLE001 - never hide the original failure
            logger.error("could not save failure artifacts of %s: %s", self.compose.project, exc)
