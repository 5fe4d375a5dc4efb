"""Reuse of a kept environment: `harness up ENV` leaves it running; `-D reuse=ENV` (or `reuse=1`) attaches.

    find_kept(reads, name, run_id="", runs_dir=None)
                                        -> the newest detached project of that environment (of that run, when
                                           given: `-D reuse_run=ID`; made from this checkout: its run folder
                                           is under ``runs_dir``), with its labels
    attach(spec, params, settings, reads)
        the rendered configuration's hash must equal the kept project's `harness.config` label
        (else ConfigError naming the lines that differ); every probe must pass (else StartupError);
        the handle is never taken down (Environment.attach: `up` stays False)
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.env.config import Settings
from harness.env.lifecycle import DETACHED, Environment
from harness.env.render import config_hash
from harness.env.spec import EnvironmentSpec
from harness.errors import ConfigError, StartupError
from harness.runfolder import RunFolder

if TYPE_CHECKING:
    from harness.engine.api import EngineReads

logger = logging.getLogger(__name__)

ALL = "1"  # -D reuse=1: every environment that has a kept project


@dataclass(frozen=True)
class Kept:
    """A detached project (made by `harness up`), as its containers' labels describe it."""

    project: str
    run_id: str
    env: str
    config: str
    created: str


def wanted(setting: str, name: str) -> bool:
    """Whether ``-D reuse=<setting>`` asks to reuse the environment ``name``."""
    return setting.lower() in (ALL, "true", "yes") or setting == name


def find_kept(reads: EngineReads, name: str, run_id: str = "", runs_dir: Path | None = None) -> Kept | None:
    """The newest detached project of environment ``name`` on the engine, or None; with ``run_id``, the newest
    project of that environment and run, whoever owns it.

    With ``runs_dir``, only a project whose run folder is there (made from this checkout): the engine may
    hold another checkout's kept project of the same name, from other templates."""
    found: dict[str, Kept] = {}
    # A pinned run (`harness sweep`) may be owned by a live process (its watchdog takes it down with its owner).
    wanted = [f"harness.env={name}", f"harness.run={run_id}"] if run_id else [f"harness.env={name}", "harness.owner=0"]
    for summary in reads.containers(filters={"label": wanted}):
        labels = summary.get("Labels") or {}
        project = labels.get("com.docker.compose.project", "")
        kept = Kept(project, labels.get("harness.run", ""), name, labels.get("harness.config", ""),
                    labels.get("harness.created", ""))
        if runs_dir is None or (kept.run_id and (runs_dir / kept.run_id).is_dir()):
            found[project] = kept
    return max(found.values(), key=lambda k: k.created) if found else None


def attach(spec: EnvironmentSpec, params: Mapping[str, Any], settings: Settings, reads: EngineReads,
           run_id: str = "") -> Environment:
    """The kept environment ``spec.name`` (of run ``run_id``, when given), checked identical and healthy; never
    started or taken down."""
    kept = find_kept(reads, spec.name, run_id, settings.runs_dir)
    if kept is None:
        other = find_kept(reads, spec.name, run_id)
        elsewhere = f" (project {other.project} is, but its run folder is not under {settings.runs_dir}: another " \
                    "checkout's)" if other is not None else ""
        raise ConfigError(f"no kept environment {spec.name!r} of this checkout is running{elsewhere}", key="reuse",
                          hint=f"start one with `harness up {spec.name} --keep`, or drop -D reuse / --reuse")
    env = Environment(spec, params, settings, run_id=kept.run_id, owner=DETACHED, reads=reads)
    text = env.preparer.text()
    if config_hash(text, env.params) != kept.config:
        raise ConfigError(f"the kept project {kept.project} was made from a different configuration: "
                          + difference(settings, kept, text, env.params), key="reuse",
                          hint=f"`harness down {kept.run_id}` then `harness up {spec.name} --keep` with the "
                               "same parameters, or run without --reuse")
    env.attach()
    problems = env.settle(within=spec.timeouts.settle)
    if problems:
        raise StartupError(f"the kept project {kept.project} is not healthy: {'; '.join(problems)}",
                           service="", project=kept.project,
                           hint=f"`harness logs SERVICE --run {kept.run_id}`, or `harness down {kept.run_id}` "
                                f"and `harness up {spec.name} --keep` again")
    logger.info("reusing the kept project %s (configuration %s)", kept.project, kept.config)
    return env


def difference(settings: Settings, kept: Kept, text: str, params: Mapping[str, Any]) -> str:
    """What differs from the kept project: parameters, else the first changed compose lines."""
    before = RunFolder(settings.runs_dir / kept.run_id).env(kept.env).rendered
    if not kept.config:
        return "it carries no configuration hash (made by an older harness)"
    if not before.is_file():
        return f"its rendered file {before} is gone, so only the hashes differ ({kept.config})"
    changed = [line for line in difflib.unified_diff(before.read_text().splitlines(), text.splitlines(),
                                                      "kept", "now", n=0, lineterm="")
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    if not changed:
        return "the parameters differ (" + ", ".join(sorted(str(k) for k in params)) + ")"
    return "compose lines kept → now: " + " | ".join(changed[:6])
