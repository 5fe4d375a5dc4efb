"""The run record: a behave formatter writing NDJSON that explains every result.

Wiring (``harness run`` adds these behave arguments; ``-o`` binds to the ``-f`` before it)::

    behave -f harness.run.record:RecordFormatter -o .harness/runs/<id>/record.ndjson \\
           -f json -o .harness/runs/<id>/behave.json \\
           -f rerun -o .harness/runs/<id>/rerun.txt \\
           --junit --junit-directory .harness/runs/<id>/junit -f pretty ...

or once in ``behave.ini``: ``[behave.formatters] record = harness.run.record:RecordFormatter``,
then ``-f record -o ...``.

API for the hooks (``harness/run/behave_hooks.py``):

- ``after_step``: set ``step.harness_verifications`` / ``step.harness_actions`` (ints); the
  formatter reads them (behave calls ``after_step`` before the formatter's ``result``).
- ``note_environment_state(statement, env)`` on a failed step/scenario/feature: snapshots the
  containers of ``env`` (``.project``, ``.services``, ``.containers(service)``) onto the
  statement; the record writes it with that statement. ``note_environment_state(stmt, state=dict)``
  stores a ready-made snapshot.
- ``record_hook_error(hook, exc)``: for errors behave cannot attach to a statement
  (``before_all``/``after_all``) or that the hooks swallowed; written as ``hook_error`` lines.
- ``register_secret(*values)``: values to mask. Also masked: userdata values whose key looks
  secret (token, password, secret, api_key, credential), ``HARNESS_SECRETS`` (comma-separated),
  Authorization header values, bearer tokens and JWT-shaped strings.

Line kinds, in order: ``run`` (start), per feature at its end ``feature``, ``rule``,
``scenario`` (followed by its ``step`` lines), then ``hook_error`` lines and ``run`` (end).
Status names are behave's; errors are ``{type, message, traceback, hook}``. Scenarios and steps
that ran carry ``started`` (wall-clock epoch seconds): the analyzer sets failures against the
fault timeline, the load results and the service logs with it.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
import time
import traceback
from collections.abc import Iterator
from typing import Any

from behave.formatter.base import Formatter, StreamOpener
from behave.model import Rule, Scenario, ScenarioOutline

from harness.analysis.redact import SECRET_KEY, Redactor
from harness.parallel.claims import is_foreign

RECORD_FORMAT = "harness-record/1"
_PENDING_HOOK_ERRORS: list[dict[str, Any]] = []
_SECRETS: set[str] = set()
_ENV_ATTR = "harness_environment_state"
_STARTED_ATTR = "harness_started"


def register_secret(*values: str) -> None:
    """Mask these values wherever they appear in the record."""
    _SECRETS.update(v for v in values if v)


def record_hook_error(hook: str, exc: BaseException, statement: str = "") -> None:
    """Remember a hook error that behave has no statement for (before_all, after_all)."""
    _PENDING_HOOK_ERRORS.append({"hook": hook, "statement": statement, **_error_of(exc, "")})


def note_environment_state(statement: Any, env: Any = None, *, state: Any = None) -> None:
    """Attach the environment's container state to a behave statement (call it on failure)."""
    snapshot = state if state is not None else environment_state(env)
    try:
        setattr(statement, _ENV_ATTR, snapshot)
    except AttributeError:  # pragma: no cover - slotted statements do not exist in behave
        pass


def environment_state(env: Any) -> dict[str, Any]:
    """Containers of every service of ``env``: status, health, exit code, restarts, OOM."""
    services: dict[str, Any] = {}
    for service in sorted(getattr(env, "services", {}) or {}):
        try:
            services[service] = [_container_state(c) for c in env.containers(service)]
        except Exception as exc:  # noqa: BLE001 - a snapshot must never fail the run
            services[service] = {"error": f"{type(exc).__name__}: {exc}"}
    return {"project": getattr(env, "project", ""), "services": services}


def _container_state(container: Any) -> dict[str, Any]:
    state = (getattr(container, "attrs", None) or {}).get("State", {})
    return {"name": getattr(container, "name", ""), "status": getattr(container, "status", ""),
            "health": (state.get("Health") or {}).get("Status", ""), "exit_code": state.get("ExitCode"),
            "oom_killed": state.get("OOMKilled"), "restarts": state.get("RestartCount")}


def _error_of(exc: BaseException | None, message: str, tb: Any = None) -> dict[str, str]:
    if exc is None:
        return {"type": "", "message": message or "", "traceback": ""}
    text = "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))
    return {"type": type(exc).__name__, "message": str(exc) or message or "", "traceback": text}


def _stamp(statement: Any, at: float) -> None:
    try:
        setattr(statement, _STARTED_ATTR, at)
    except AttributeError:  # pragma: no cover - slotted statements do not exist in behave
        pass


def scenario_started(context: Any) -> float:
    """Wall-clock start of the running scenario: the run record's stamp, else now less its steps' durations, less 1 s.

    Log and engine-event checks look only at what happened since then (kept per scenario).
    """
    def start() -> float:
        scenario = getattr(context, "scenario", None)
        stamped = getattr(scenario, _STARTED_ATTR, None)
        if isinstance(stamped, float):
            return stamped
        steps = getattr(scenario, "all_steps", None) or []
        return time.time() - sum(getattr(s, "duration", 0.0) or 0.0 for s in steps) - 1.0
    found: float = context.harness.extension("logs_since", start)
    return found


def _started(statement: Any) -> dict[str, float]:
    """``{"started": epoch seconds}`` when the statement ran, else nothing."""
    at = getattr(statement, _STARTED_ATTR, None)
    return {"started": round(at, 3)} if isinstance(at, float) else {}


def _commit() -> str:
    for name in ("HARNESS_COMMIT", "GIT_COMMIT", "CI_COMMIT_SHA", "GITHUB_SHA"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


class RecordFormatter(Formatter):  # type: ignore[misc]
    """Writes the run record (NDJSON) from behave's model objects."""

    name = "record"
    description = "harness run record (NDJSON)"

    def __init__(self, stream_opener: StreamOpener, config: Any) -> None:
        super().__init__(stream_opener, config)
        self.stream = self.open()
        self.redactor = Redactor(_SECRETS | self._config_secrets(config))
        self._feature: Any = None
        self._write({"kind": "run", "event": "start", "format": RECORD_FORMAT,
                     "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                     "commit": _commit(), "run_id": os.environ.get("HARNESS_RUN_ID", ""),
                     "tags": str(getattr(config, "tags", "") or ""),
                     "behave": self._behave_version()})

    @staticmethod
    def _behave_version() -> str:
        # lazy: behave loads only where .feature files are parsed (analysis of result files never needs it)
        from behave.version import VERSION

        return str(VERSION)

    @staticmethod
    def _config_secrets(config: Any) -> set[str]:
        userdata = getattr(config, "userdata", None) or {}
        found = {str(v) for k, v in userdata.items() if SECRET_KEY.search(str(k)) and v}
        found.update(s for s in os.environ.get("HARNESS_SECRETS", "").split(",") if s)
        return found

    # -- behave formatter API
    def scenario(self, scenario: Any) -> None:
        """Stamp the scenario's wall-clock start (the analyzer lines failures up with faults and load)."""
        _stamp(scenario, time.time())

    def result(self, step: Any) -> None:
        """Stamp the step's wall-clock start: now minus its duration."""
        _stamp(step, time.time() - float(step.duration or 0.0))

    def feature(self, feature: Any) -> None:
        """Remember the feature; everything is written at its end (statuses are final then)."""
        self._feature = feature

    def eof(self) -> None:
        """Write the finished feature with its rules, scenarios and steps."""
        if self._feature is not None and not is_foreign(self._feature):  # another worker's: not in this record
            self.redactor.add(*_SECRETS)  # the hooks may have registered secrets since the last feature
            for line in self._feature_lines(self._feature):
                self._write(line)
            self._feature = None
        self.stream.flush()

    def close(self) -> None:
        """Write pending hook errors and the end line, then close the stream."""
        self.redactor.add(*_SECRETS)
        for error in _PENDING_HOOK_ERRORS:
            self._write({"kind": "hook_error", **error})
        _PENDING_HOOK_ERRORS.clear()
        self._write({"kind": "run", "event": "end",
                     "finished": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")})
        self.close_stream()

    # -- model walk (the same walk as behave's summary reporter)
    def _feature_lines(self, feature: Any) -> Iterator[dict[str, Any]]:
        yield {"kind": "feature", **self._statement(feature), "duration": feature.duration}
        yield from self._items(feature, rule="")

    def _items(self, parent: Any, rule: str) -> Iterator[dict[str, Any]]:
        for item in parent.run_items:
            if isinstance(item, Rule):
                yield {"kind": "rule", **self._statement(item)}
                yield from self._items(item, rule=item.name)
            elif isinstance(item, ScenarioOutline):
                for scenario in item.scenarios:
                    yield from self._scenario_lines(scenario, rule)
            elif isinstance(item, Scenario):
                yield from self._scenario_lines(item, rule)

    def _scenario_lines(self, scenario: Any, rule: str) -> Iterator[dict[str, Any]]:
        if is_foreign(scenario):
            return
        yield {"kind": "scenario", **self._statement(scenario), "rule": rule,
               "tags": sorted(str(t) for t in scenario.effective_tags),
               "duration": scenario.duration, "captured": self._captured(scenario),
               **_started(scenario)}
        for step in scenario.all_steps:
            yield self._step(step)

    def _step(self, step: Any) -> dict[str, Any]:
        line = {"kind": "step", "keyword": step.keyword, "name": step.name,
                "location": str(step.location), "status": step.status.name,
                "duration": round(float(step.duration or 0.0), 6),
                "verifications": getattr(step, "harness_verifications", None),
                "actions": getattr(step, "harness_actions", None), **_started(step)}
        if step.status.has_failed():
            line["error"] = self._error(step)
            line["hook_error"] = bool(step.hook_failed)
            line["captured"] = self._captured(step)
        if getattr(step, _ENV_ATTR, None) is not None:
            line["environment"] = self.redactor.any(getattr(step, _ENV_ATTR))
        return line

    def _statement(self, stmt: Any) -> dict[str, Any]:
        data: dict[str, Any] = {"name": stmt.name, "location": str(stmt.location),
                                "status": stmt.status.name, "tags": [str(t) for t in stmt.tags]}
        if getattr(stmt, "hook_failed", False) or getattr(stmt, "error_message", None):
            data["error"] = self._error(stmt)
            data["hook_error"] = bool(getattr(stmt, "hook_failed", False))
        if getattr(stmt, "skip_reason", None):
            data["skip_reason"] = self.redactor.text(str(stmt.skip_reason))
        if getattr(stmt, _ENV_ATTR, None) is not None:
            data["environment"] = self.redactor.any(getattr(stmt, _ENV_ATTR))
        return data

    def _error(self, stmt: Any) -> dict[str, str]:
        message = str(getattr(stmt, "error_message", "") or "")
        error = _error_of(getattr(stmt, "exception", None), message, getattr(stmt, "exc_traceback", None))
        if message.startswith("HOOK-ERROR in "):
            error["hook"] = message[len("HOOK-ERROR in "):].split(":", 1)[0]
        return {key: self.redactor.text(value) for key, value in error.items()}

    def _captured(self, stmt: Any) -> str:
        captured = getattr(stmt, "captured", None)
        output = str(getattr(captured, "output", "") or "") if captured is not None else ""
        return self.redactor.text(output[-20000:])

    def _write(self, data: dict[str, Any]) -> None:
        self.stream.write(json.dumps(data, default=str) + "\n")
