"""Configuration: named environments (`environments/*.yaml`) and run settings.

Built once into frozen dataclasses. Parameter values are resolved in this order, later wins:
the YAML default, a `HARNESS_<KEY>` variable, behave userdata / `-D key=value`.

An environment names either a Jinja2 ``template:`` (in `compose/`) or a ``compose:`` file (relative
to the environment file's folder): a plain compose file used as written, whose services' probes
and ports default from the file (harness.env.discover), or a ``.j2`` that stays a template.

Every userdata / ``-D`` key of a behave run must be a harness setting (``SETTING_KEYS``), a key the
project declared (``declare_userdata``) or a parameter of some environment (``check_userdata``).
"""

from __future__ import annotations

import difflib
import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from harness.env.discover import compose_services, default_service_spec
from harness.env.spec import TIMEOUT_DEFAULTS, EnvironmentSpec, Parameter, ProbeSpec, ServiceSpec, Timeouts
from harness.errors import ConfigError
from harness.runfolder import RUNS_DIR

ENV_KEYS = frozenset({"description", "template", "compose", "parameters", "services", "timeouts", "extends"})
PARAM_KEYS = frozenset({"default", "description", "secret"})
SERVICE_KEYS = frozenset({"port", "probe"})
PROBE_KEYS = frozenset({"http", "status", "body", "tcp", "healthcheck"})
# Every behave userdata / -D key the harness itself reads, with what it sets: the ONE list that
# check_userdata accepts besides environment parameters. Code that reads a new key (through
# seconds_settings or userdata.get) adds it here; tests/test_config.py scans harness/ for strays.
SETTING_KEYS: Mapping[str, str] = MappingProxyType({
    "root": "the project folder (the one holding environments/)",
    "keep": "keep a failed environment up for debugging",
    "env": "run every feature against this environment",
    "run_id": "the run's id (set by `harness run`)",
    "http_timeout": "seconds an HTTP request may take",
    "stream_timeout": "seconds a whole event stream may take",
    "stream_idle_timeout": "seconds of silence allowed in an event stream",
    "load_timeout": "seconds a load request may take",
    "load_lookup_within": "seconds a load run's job lookup may take",
    "load_lookup_interval": "seconds between a load run's job lookups",
    "metrics_path": "the path of a service's Prometheus metrics (default /metrics)",
    "ws_timeout": "seconds to wait for a WebSocket message",
    "ws_connect_timeout": "seconds a WebSocket connect may take",
    "ws_heartbeat": "seconds between a WebSocket client's pings (a silent server is seen as a drop)",
    "fault_timeout": "seconds a fault waits for its container to run again (default 30)",
    "reuse": "attach to the environment kept by `harness up ENV` (a name, or 1 for every kept one)",
    "reuse_run": "with reuse: attach only to the kept project of this run id (`harness sweep` sets it)",
    "sweep_fault": "the fault of a sweep cell, as JSON, injected before each scenario's first step (`harness sweep`)",
    "sweep_observe": "a sweep baseline: append each scenario's connections to this file (`harness sweep`)",
    "sweep_limits": "a sweep cell's time limit per scenario under its fault, JSON {file:line: s} (`harness sweep`)",
    "sweep_onset": "seconds a sweep cell's fault is held before each scenario's first step (`harness sweep --onset`)",
    "runs_dir": "the folder of run folders (default .harness/runs under the project root; HARNESS_RUNS_DIR)",
})
_DECLARED_USERDATA: dict[str, str] = {}  # a project's own keys: declare_userdata()


def list_environments(env_dir: Path) -> list[str]:
    """Names of the environments defined in ``env_dir``."""
    return sorted(p.stem for p in env_dir.glob("*.yaml"))


def load_environment(name: str, env_dir: Path) -> EnvironmentSpec:
    """Load and validate ``environments/<name>.yaml`` (following ``extends:``)."""
    raw, path = _load_raw(name, env_dir, seen=())
    discovered: dict[str, ServiceSpec] = {}
    if raw.get("compose") is None:
        for key in ("description", "template"):
            if not isinstance(raw.get(key), str):
                raise ConfigError("missing or not a string", file=str(path), key=key,
                                  hint="give `template:` (a Jinja2 file in compose/) and `description:`, "
                                       "or just `compose:` (a compose file)")
        template, compose_file = raw["template"], None
    else:
        template, compose_file, discovered = _compose_source(Path(raw["compose"]), path)
    description = raw.get("description", f"compose project {raw.get('compose')}")
    if not isinstance(description, str):
        raise ConfigError("not a string", file=str(path), key="description")
    return EnvironmentSpec(
        name=name, file=path, description=description.strip(), template=template,
        parameters=_parameters(raw.get("parameters") or {}, str(path)),
        services=_services(raw.get("services") or {}, str(path), discovered),
        timeouts=_timeouts(raw.get("timeouts") or {}, str(path)),
        compose_file=compose_file,
    )


def _compose_source(file: Path, env_file: Path) -> tuple[str, Path | None, dict[str, ServiceSpec]]:
    """(template, compose_file, discovered services) of a ``compose:`` path; a .j2 stays a template."""

    if not file.is_file():
        raise ConfigError(f"compose file not found: {file}", file=str(env_file), key="compose",
                          hint=f"a relative `compose:` path is read from {env_file.parent}")
    if file.name.endswith(".j2"):
        return str(file), None, {}
    services = compose_services(file, referrer=str(env_file))
    found = {str(n): default_service_spec(str(n), s if isinstance(s, dict) else {}) for n, s in services.items()}
    return "", file, {n: spec for n, spec in found.items() if spec is not None}


def _load_raw(name: str, env_dir: Path, seen: tuple[str, ...]) -> tuple[dict[str, Any], Path]:
    """The YAML mapping of an environment, merged over the one it ``extends``.

    A child's parameter given as a bare value only changes the inherited default; services and
    timeouts are merged key by key; description and template (or compose) are replaced when given.
    """
    path = env_dir / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(list_environments(env_dir)) or "none"
        raise ConfigError(f"unknown environment {name!r}", file=str(path),
                          hint=f"known environments: {known}; `harness envs` lists them")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", file=str(path)) from exc
    _require_mapping(raw, str(path), "")
    _reject_unknown(raw, ENV_KEYS, str(path), "")
    _absolute_compose(raw, path)
    parent = raw.pop("extends", None)
    if parent is None:
        return raw, path
    if parent in seen or parent == name:
        raise ConfigError(f"`extends` forms a cycle: {' -> '.join((*seen, name, parent))}",
                          file=str(path), key="extends")
    base, _ = _load_raw(str(parent), env_dir, (*seen, name))
    if "template" in raw or "compose" in raw:  # a child's source replaces the inherited one
        base = {k: v for k, v in base.items() if k not in ("template", "compose")}
    merged = {**base, **{k: v for k, v in raw.items() if k in ("description", "template", "compose")}}
    params = dict(base.get("parameters") or {})
    for key, value in (raw.get("parameters") or {}).items():
        inherited = params.get(key)
        if isinstance(inherited, dict) and not isinstance(value, dict):
            value = {**inherited, "default": value}
        params[key] = value
    merged["parameters"] = params
    for section in ("services", "timeouts"):
        merged[section] = {**(base.get(section) or {}), **(raw.get(section) or {})}
    return merged, path


def _absolute_compose(raw: dict[str, Any], path: Path) -> None:
    """Check ``compose:`` (a string, not beside ``template:``) and make it absolute from the file's folder."""
    if "compose" not in raw:
        return
    if "template" in raw:
        raise ConfigError("`compose` and `template` exclude each other", file=str(path), key="compose, template",
                          hint="`compose:` names a compose file (or a .j2), `template:` a Jinja2 file in "
                               "compose/: keep one")
    value = raw["compose"]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("must be the path of a compose file", file=str(path), key="compose")
    raw["compose"] = os.path.normpath(path.parent.absolute() / value.strip())


def _require_mapping(value: Any, file: str, key: str) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"expected a mapping, got {type(value).__name__}", file=file, key=key)


def _reject_unknown(raw: Mapping[str, Any], allowed: frozenset[str], file: str, prefix: str) -> None:
    for key in raw:
        if key not in allowed:
            raise ConfigError("unknown key", file=file, key=f"{prefix}{key}",
                              hint=f"allowed keys here: {', '.join(sorted(allowed))}")


def _parameters(raw: Any, file: str) -> dict[str, Parameter]:
    _require_mapping(raw, file, "parameters")
    params: dict[str, Parameter] = {}
    for name, value in raw.items():
        entry = value if isinstance(value, dict) else {"default": value}
        _reject_unknown(entry, PARAM_KEYS, file, f"parameters.{name}.")
        params[name] = Parameter(name=name, default=entry.get("default"),
                                 description=str(entry.get("description", "")),
                                 secret=bool(entry.get("secret", False)))
    return params


def _services(raw: Any, file: str, discovered: Mapping[str, ServiceSpec] | None = None) -> tuple[ServiceSpec, ...]:
    """The listed services, then the discovered defaults of services no listed pattern matches.

    A listed service named exactly like a discovered one takes its port and probe when it gives none.
    """
    _require_mapping(raw, file, "services")
    found = dict(discovered or {})
    specs = []
    for pattern, value in raw.items():
        entry = value or {}
        _require_mapping(entry, file, f"services.{pattern}")
        _reject_unknown(entry, SERVICE_KEYS, file, f"services.{pattern}.")
        if pattern in found:
            entry = _with_defaults(entry, found[pattern])
        port = entry.get("port")
        if port is not None and not isinstance(port, int):
            raise ConfigError("port must be an integer", file=file, key=f"services.{pattern}.port")
        specs.append(ServiceSpec(pattern=pattern, port=port,
                                 probe=_probe(entry.get("probe"), port, file, f"services.{pattern}.probe")))
    listed = [s.pattern for s in specs]
    specs += [s for name, s in found.items() if not any(fnmatch.fnmatchcase(name, p) for p in listed)]
    return tuple(specs)


def _with_defaults(entry: Mapping[str, Any], default: ServiceSpec) -> dict[str, Any]:
    """A listed service's entry completed with the port and probe discovered in the compose file."""
    merged = dict(entry)
    if "port" not in merged and default.port is not None:
        merged["port"] = default.port
    if "probe" not in merged and default.probe.kind == "healthcheck":
        merged["probe"] = {"healthcheck": True}
    return merged


def _probe(raw: Any, port: int | None, file: str, key: str) -> ProbeSpec:
    if raw is None:
        return ProbeSpec(kind="tcp" if port else "running")
    _require_mapping(raw, file, key)
    _reject_unknown(raw, PROBE_KEYS, file, f"{key}.")
    if "http" in raw:
        if port is None:
            raise ConfigError("an http probe needs the service's port", file=file, key=key)
        return ProbeSpec(kind="http", path=str(raw["http"]), status=int(raw.get("status", 200)),
                         body=str(raw.get("body", "")))
    if raw.get("tcp"):
        if port is None:
            raise ConfigError("a tcp probe needs the service's port", file=file, key=key)
        return ProbeSpec(kind="tcp")
    if raw.get("healthcheck"):
        return ProbeSpec(kind="healthcheck")
    raise ConfigError("a probe needs one of http, tcp, healthcheck", file=file, key=key)


def _timeouts(raw: Any, file: str) -> Timeouts:
    _require_mapping(raw, file, "timeouts")
    _reject_unknown(raw, frozenset(TIMEOUT_DEFAULTS), file, "timeouts.")
    try:
        values: dict[str, Any] = {k: float(v) if k != "log_tail" else int(v) for k, v in raw.items()}
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"timeouts must be numbers: {exc}", file=file, key="timeouts") from exc
    return Timeouts(**values)


def resolve_parameters(spec: EnvironmentSpec, overrides: Mapping[str, str], *,
                       environ: Mapping[str, str] | None = None, strict: bool = True) -> dict[str, Any]:
    """Parameter values: defaults, then ``HARNESS_<KEY>``, then ``overrides`` (-D / userdata).

    With ``strict`` an override naming no declared parameter is a ConfigError.
    """
    env = os.environ if environ is None else environ
    values = {name: p.default for name, p in spec.parameters.items()}
    for name, param in spec.parameters.items():
        var = "HARNESS_" + name.upper().replace("-", "_")
        if var in env:
            values[name] = _coerce(env[var], param, spec, var)
    for key, text in overrides.items():
        if key not in spec.parameters:
            if strict:
                raise ConfigError(f"undeclared parameter {key!r}", file=str(spec.file), key=key,
                                  hint=f"declared parameters: {', '.join(sorted(spec.parameters))}")
            continue
        values[key] = _coerce(text, spec.parameters[key], spec, key)
    return values


def _coerce(text: str, param: Parameter, spec: EnvironmentSpec, source: str) -> Any:
    """Convert a string override to the type of the parameter's default."""
    default = param.default
    try:
        if isinstance(default, bool):
            if text.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(f"not a boolean: {text!r}")
            return text.lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
        if isinstance(default, list):
            return [item.strip() for item in text.split(",") if item.strip()]
    except ValueError as exc:
        raise ConfigError(f"bad value for parameter {param.name!r} from {source}: {exc}",
                          file=str(spec.file), key=param.name) from exc
    return text


def seconds_settings(keys: Mapping[str, str], userdata: Mapping[str, str],
                     environ: Mapping[str, str] | None = None) -> dict[str, float]:
    """Numbers of seconds by attribute, from ``-D <key>=…`` or ``HARNESS_<KEY>`` (``keys``: attr -> key)."""
    env = os.environ if environ is None else environ
    values: dict[str, float] = {}
    for attr, key in keys.items():
        text = userdata.get(key) or env.get("HARNESS_" + key.upper())
        if text:
            try:
                values[attr] = float(text)
            except ValueError as exc:
                raise ConfigError(f"{key}={text!r} is not a number of seconds", key=key,
                                  hint=f"write -D {key}=30 or HARNESS_{key.upper()}=30") from exc
    return values


def parse_assignments(items: list[str], source: str = "-D") -> dict[str, str]:
    """Parse ``key=value`` strings (from -D options)."""
    result = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{source} {item!r} is not key=value", hint="write -D key=value")
        result[key.strip()] = value
    return result


def declare_userdata(key: str, description: str = "") -> None:
    """Accept a project's own userdata / ``-D`` key (call it from environment.py or a steps module)."""
    _DECLARED_USERDATA[key] = description


def check_userdata(userdata: Mapping[str, Any], env_dir: Path) -> None:
    """Refuse a userdata / ``-D`` key that is no setting, declared key or parameter of any environment."""
    unknown = [key for key in userdata if key not in SETTING_KEYS and key not in _DECLARED_USERDATA]
    if not unknown:
        return
    params, broken = declared_parameters(env_dir)
    unknown = [key for key in unknown if key not in params]
    if not unknown:
        return
    known = sorted({*SETTING_KEYS, *_DECLARED_USERDATA, *params})
    close = {key: difflib.get_close_matches(key, known, n=3) for key in unknown}
    guesses = "; ".join(f"{k!r}: did you mean {', '.join(c)}?" for k, c in close.items() if c)
    where = (f"harness settings: {', '.join(sorted(SETTING_KEYS))} (harness.env.config.SETTING_KEYS); "
             f"parameters of the environments in {env_dir}" + (f" ({', '.join(sorted(params))})" if params else "")
             + (f" — unreadable, not searched: {', '.join(broken)}" if broken else "")
             + "; a project's own key: call harness.env.config.declare_userdata('KEY') in environment.py")
    raise ConfigError(f"unknown userdata key{'s' if len(unknown) > 1 else ''} "
                      f"{', '.join(repr(k) for k in unknown)} (from -D or [behave.userdata]): neither a harness "
                      "setting nor a parameter of any environment",
                      key=unknown[0], hint=f"{guesses + '. ' if guesses else ''}Known keys are {where}")


def declared_parameters(env_dir: Path) -> tuple[dict[str, list[str]], list[str]]:
    """Parameter names declared by the environments in ``env_dir`` (name -> environments), and unreadable files."""
    params: dict[str, list[str]] = {}
    broken = []
    for name in list_environments(env_dir):
        try:
            raw, _ = _load_raw(name, env_dir, seen=())
        except ConfigError:
            broken.append(f"{name}.yaml")
            continue
        declared = raw.get("parameters")
        for param in declared if isinstance(declared, dict) else {}:
            params.setdefault(str(param), []).append(name)
    return params, broken


@dataclass(frozen=True)
class Settings:
    """Where things live and how a run behaves; built from userdata and HARNESS_* variables."""

    root: Path
    keep: bool = False
    env_override: str = ""
    runs_root: Path | None = None  # `runs_dir` / HARNESS_RUNS_DIR: run folders elsewhere (another disk)

    @property
    def env_dir(self) -> Path:
        """The folder of the environment YAML files."""
        return self.root / "environments"

    @property
    def compose_dir(self) -> Path:
        """The folder of the compose templates."""
        return self.root / "compose"

    @property
    def runs_dir(self) -> Path:
        """The folder holding one folder per run (``runs_dir`` / HARNESS_RUNS_DIR, else .harness/runs)."""
        return self.runs_root if self.runs_root is not None else self.root / RUNS_DIR

    @property
    def images_file(self) -> Path:
        """The map of image names to content-hash tags written by `harness images`."""
        return self.root / ".harness" / "images.json"

    @classmethod
    def build(cls, userdata: Mapping[str, str] | None = None, *,
              environ: Mapping[str, str] | None = None, root: Path | None = None) -> Settings:
        """Settings from behave userdata (or -D), then HARNESS_* variables, then defaults."""
        env = os.environ if environ is None else environ
        data = dict(userdata or {})

        def pick(key: str, default: str) -> str:
            return data.get(key) or env.get("HARNESS_" + key.upper()) or default

        base = Path(pick("root", str(root or find_root()))).resolve()
        runs = pick("runs_dir", "")
        return cls(root=base, keep=pick("keep", "0").lower() in ("1", "true", "yes"),
                   env_override=pick("env", ""), runs_root=(base / runs).resolve() if runs else None)


def find_root(start: Path | None = None) -> Path:
    """The nearest folder upwards that holds `environments/` (else the current folder)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "environments").is_dir():
            return folder
    return here
