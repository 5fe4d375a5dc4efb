"""Render a compose template into a run folder and add the harness's labels and ports.

Templates are data: Jinja2 in a sandbox with StrictUndefined. The harness, not the template,
adds labels to every service, network and volume, publishes each declared service port on
127.0.0.1 with an ephemeral host port, and turns every port the file publishes itself
(``8080:80``) into ``127.0.0.1::80`` so two runs never collide on a fixed host port; a fixed
``container_name`` is dropped for the same reason and kept as a network alias. On a remote
engine the host IP is 0.0.0.0 instead (``host_ip``, from ``harness.engine``): the client is on
another machine, so the engine host's loopback would be out of its reach.
Secret parameters render as ``${HARNESS_SECRET_<NAME>}``: their values reach compose only
through its process environment, never the run folder.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
import yaml

from harness.engine.endpoint import LOOPBACK
from harness.env.spec import EnvironmentSpec
from harness.errors import TemplateError


@dataclass(frozen=True)
class RunLabels:
    """The labels that mark a resource as the harness's, so leftovers can be reaped."""

    run_id: str
    env: str
    owner: int
    host: str
    created: str
    config: str = ""  # hash of the rendered configuration (harness.env.reuse.config_hash)

    def as_dict(self) -> dict[str, str]:
        """The labels as docker wants them."""
        return {"harness.run": self.run_id, "harness.env": self.env, "harness.owner": str(self.owner),
                "harness.host": self.host, "harness.created": self.created,
                **({"harness.config": self.config} if self.config else {})}


SECRET_PREFIX = "HARNESS_SECRET_"


def template_path(compose_dir: Path, template: str) -> Path:
    """The template file: ``template`` itself when absolute, else ``compose_dir/template``."""
    return Path(template) if Path(template).is_absolute() else compose_dir / template


def render_template(compose_dir: Path, template: str, variables: Mapping[str, Any]) -> str:
    """Render ``compose_dir/template`` (or an absolute ``template``); errors name template, line and name."""
    path = template_path(compose_dir, template)
    root, template = (path.parent, path.name) if Path(template).is_absolute() else (compose_dir, template)
    env = jinja2.sandbox.SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(root)), undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    try:
        return env.get_template(template).render(**variables)
    except jinja2.TemplateNotFound as exc:
        raise TemplateError("template not found", template=str(path), line=None,
                            hint=f"templates live in {root}; check the environment's `template:`") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"syntax error: {exc.message}", template=str(path), line=exc.lineno,
                            hint="fix the Jinja2 syntax at that line") from exc
    except jinja2.UndefinedError as exc:
        name = _undefined_name(str(exc))
        raise TemplateError(f"undefined name {name!r}: {exc.message}", template=str(path),
                            line=_template_line(exc, template), name=name,
                            hint=f"declare {name!r} under `parameters:` in the environment file "
                                 "or give it a default in the template") from exc


def _undefined_name(message: str) -> str:
    found = re.search(r"'([^']+)' is undefined|has no attribute '([^']+)'", message)
    return next((g for g in found.groups() if g), "") if found else ""


def _template_line(exc: BaseException, template: str) -> int | None:
    """The template line from the traceback Jinja2 rewrites to point into the template."""
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(template)]
    return lines[-1] if lines else None


def decorate(text: str, *, rendered_name: str, labels: RunLabels,
             ports: Mapping[str, int], host_ip: str = LOOPBACK) -> dict[str, Any]:
    """Parse rendered YAML; add labels everywhere and publish ``ports`` (service pattern -> port) on ``host_ip``."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise TemplateError(f"rendered YAML does not parse: {exc}", template=rendered_name,
                            line=(mark.line + 1) if mark else None,
                            hint="open the rendered file at that line; the template produced it") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), dict):
        raise TemplateError("rendered compose file has no `services:` mapping", template=rendered_name,
                            line=None)
    tags = labels.as_dict()
    for name, service in doc["services"].items():
        service = doc["services"][name] = service or {}
        service["labels"] = {**_as_dict(service.get("labels")), **tags}
        _unpin_container_name(service)
        if service.get("ports"):
            service["ports"] = [_on_host_ip(entry, host_ip) for entry in service["ports"]]
        port = _port_for(name, ports)
        if port is not None:
            _publish(service, port, host_ip)
    networks = doc.setdefault("networks", {}) or {}
    doc["networks"] = networks
    networks.setdefault("default", {})
    for volume_kind in ("networks", "volumes"):
        for key, value in (doc.get(volume_kind) or {}).items():
            entry = doc[volume_kind][key] = value or {}
            if not entry.get("external"):
                entry["labels"] = {**_as_dict(entry.get("labels")), **tags}
    return doc


def _unpin_container_name(service: dict[str, Any]) -> None:
    """Drop a fixed ``container_name`` (two runs would collide on it); keep it resolvable as a network alias.

    Compose names the container ``<project>-<service>-1`` instead; the old name stays a DNS alias on every
    network the service joins, so a peer configured with ``http://<container_name>:port`` still reaches it.
    """
    name = service.pop("container_name", None)
    if not name or "network_mode" in service:
        return
    joined = service.get("networks") or ["default"]
    networks: dict[str, Any] = ({str(n): {} for n in joined} if isinstance(joined, list)
                                else {str(k): dict(v or {}) for k, v in joined.items()})
    for entry in networks.values():
        entry["aliases"] = [*(entry.get("aliases") or []), str(name)]
    service["networks"] = networks


def _port_for(service: str, ports: Mapping[str, int]) -> int | None:
    """The port of the first pattern (a name or glob) that matches ``service``."""
    return next((port for pattern, port in ports.items() if fnmatch.fnmatchcase(service, pattern)), None)


def _as_dict(labels: Any) -> dict[str, str]:
    if isinstance(labels, list):
        return dict(str(item).partition("=")[::2] for item in labels)
    return {str(k): str(v) for k, v in (labels or {}).items()}


def _on_host_ip(entry: Any, host_ip: str) -> Any:
    """A published port as ``<host_ip>::<container port>``: ephemeral host port (loopback only when local)."""
    if isinstance(entry, dict):
        return {**{k: v for k, v in entry.items() if k != "published"}, "host_ip": host_ip}
    body, slash, protocol = str(entry).strip().partition("/")
    return f"{host_ip}::{body.rsplit(':', 1)[-1]}{slash}{protocol}"


def _publish(service: dict[str, Any], port: int, host_ip: str) -> None:
    """Publish ``port`` on ``host_ip`` with an ephemeral host port unless already published."""
    existing = service.setdefault("ports", [])
    for entry in existing:
        target = entry.get("target") if isinstance(entry, dict) else str(entry).rsplit(":", 1)[-1]
        if str(target).split("/")[0] == str(port):
            return
    existing.append(f"{host_ip}::{port}")


def write_compose(doc: Mapping[str, Any], path: Path, header: str = "") -> Path:
    """Write the decorated compose document, after ``header`` as comment lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    path.write_text(comment + yaml.safe_dump(dict(doc), sort_keys=False, default_flow_style=False))
    return path


def template_variables(spec: EnvironmentSpec, params: Mapping[str, Any], images_file: Path,
                       run_id: str) -> dict[str, Any]:
    """What a template sees: its parameters (secrets as references), `images`, `run_id`, `env_name`."""
    images: dict[str, str] = {}
    if images_file.is_file():
        images = json.loads(images_file.read_text())
    references = {name: "${" + secret_variable(name) + "}" for name in spec.secret_names()}
    return {**params, **references, "images": images, "run_id": run_id, "env_name": spec.name}


def secret_variable(name: str) -> str:
    """The variable compose reads a secret parameter from: ``HARNESS_SECRET_<NAME>``."""
    return SECRET_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def secret_environment(spec: EnvironmentSpec, params: Mapping[str, Any]) -> dict[str, str]:
    """The values of the secret parameters, by variable, for compose's process environment."""
    return {secret_variable(name): "" if params.get(name) is None else str(params[name])
            for name in spec.secret_names()}


def config_hash(text: str, params: Mapping[str, Any]) -> str:
    """A short hash of a rendered compose text and the parameter values it was made with."""
    data = json.dumps({"compose": text, "params": {k: str(v) for k, v in sorted(params.items())}})
    return hashlib.sha256(data.encode()).hexdigest()[:16]
