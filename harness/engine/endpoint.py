"""Which Docker engine the harness talks to, and where that engine's published ports are reached.

    current_engine() -> Engine        DOCKER_HOST, else the current Docker context, else the local socket
    Engine.local                      unix socket / npipe / fd, or tcp (ssh) to a loopback address
    Engine.host                       the address published ports answer on: 127.0.0.1 when local,
                                      else the engine's tcp/ssh host
    Engine.publish_ip                 the host IP to publish on: 127.0.0.1 when local (nothing else on
                                      the network sees the stack); 0.0.0.0 when remote (the client is
                                      elsewhere, so loopback on the engine's host would be unreachable)
    Engine.client()                   a docker SDK client for it (docker-py honours DOCKER_HOST but not
                                      contexts, so a context's endpoint and TLS files are passed explicitly)
    Engine.environ()                  the variables that pin this engine for a child process (watchdog,
                                      compose), so it reaches the same engine even if the context changes

The Docker CLI decides the same way (``DOCKER_HOST`` > ``DOCKER_CONTEXT`` > ``currentContext`` of
its config file > the default socket), so compose, the SDK and the faults all act on one engine.
`docker context inspect` runs only when a context other than ``default`` is selected.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.errors import DockerUnavailable

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_ENDPOINT", "LOOPBACK", "Engine", "context_engine", "current_engine", "selected_context"]

DEFAULT_ENDPOINT = "unix:///var/run/docker.sock"
LOOPBACK = "127.0.0.1"
ANY_ADDRESS = "0.0.0.0"
CLIENT_TIMEOUT = 30  # seconds: the SDK's default per-request timeout for harness clients
_LOCAL_SCHEMES = frozenset({"unix", "npipe", "fd"})

Inspect = Callable[[str], "list[dict[str, Any]]"]


@dataclass(frozen=True)
class Engine:
    """One Docker engine: its endpoint URL and where that endpoint came from."""

    endpoint: str
    source: str = "default"  # "DOCKER_HOST" | "context" | "default"
    context: str = ""  # the context's name when source == "context"
    tls_dir: str = ""  # a context's TLS files (ca.pem, cert.pem, key.pem), if it has any
    tls_verify: bool = True

    @property
    def scheme(self) -> str:
        """``unix``, ``tcp``, ``ssh``, ``npipe``, ... (a bare ``host:port`` counts as tcp)."""
        return urlsplit(self.endpoint).scheme.lower() if "://" in self.endpoint else "tcp"

    @property
    def hostname(self) -> str:
        """The tcp/ssh host of the endpoint (empty for sockets)."""
        if self.scheme in _LOCAL_SCHEMES:
            return ""
        url = self.endpoint if "://" in self.endpoint else f"tcp://{self.endpoint}"
        return urlsplit(url).hostname or ""

    @property
    def local(self) -> bool:
        """Whether the engine runs on this machine: a socket, or tcp/ssh to a loopback address."""
        return self.scheme in _LOCAL_SCHEMES or is_loopback(self.hostname)

    @property
    def host(self) -> str:
        """The address the engine's published ports answer on (127.0.0.1 when local)."""
        return LOOPBACK if self.local else self.hostname

    @property
    def publish_ip(self) -> str:
        """The host IP to publish ports on: loopback when local, every address when remote."""
        return LOOPBACK if self.local else ANY_ADDRESS

    def url(self, port: int, scheme: str = "http") -> str:
        """``scheme://<host>:<port>`` for a port published on this engine (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{port}"

    def describe(self) -> str:
        """One line for logs and messages: endpoint and where it came from."""
        origin = f"context {self.context!r}" if self.source == "context" else self.source
        return f"{self.endpoint} ({origin}, {'local' if self.local else 'remote'})"

    def environ(self) -> dict[str, str]:
        """Variables that make a child process (compose, the watchdog) reach this same engine."""
        if self.source == "context":
            return {"DOCKER_CONTEXT": self.context}
        if self.source == "DOCKER_HOST":
            return {"DOCKER_HOST": self.endpoint}
        return {}

    @property
    def speaks_plain_http(self) -> bool:
        """A unix socket, or tcp without TLS (no context TLS files, no DOCKER_TLS_VERIFY / DOCKER_CERT_PATH)."""
        if self.scheme == "unix":
            return True
        if self.scheme != "tcp" or (self.tls_dir and Path(self.tls_dir).is_dir()):
            return False
        return self.source != "DOCKER_HOST" or not (os.environ.get("DOCKER_TLS_VERIFY")
                                                     or os.environ.get("DOCKER_CERT_PATH"))

    def client(self, timeout: int = CLIENT_TIMEOUT) -> Any:
        """A connected docker SDK client for this engine, or DockerUnavailable with a hint."""
        # lazy: the docker SDK (~85 ms with requests) loads only where a fault, log or image needs it
        import docker
        import docker.errors

        try:
            # ssh:// through the system's ssh client, as the docker CLI does (~/.ssh/config applies)
            ssh = self.scheme == "ssh"
            if self.source == "DOCKER_HOST":  # from_env also reads DOCKER_TLS_VERIFY and DOCKER_CERT_PATH
                client = docker.from_env(timeout=timeout, use_ssh_client=ssh,
                                         environment={**os.environ, "DOCKER_HOST": self.endpoint})
            else:
                client = docker.DockerClient(base_url=self.endpoint, tls=self._tls(), timeout=timeout,
                                             use_ssh_client=ssh)
            client.ping()
            return client
        except docker.errors.DockerException as exc:
            raise DockerUnavailable(f"no Docker engine answers at {self.describe()}: {exc}",
                                    hint=self.hint()) from exc

    def _tls(self) -> Any:
        """The context's TLS configuration for the SDK (False when it has no TLS files)."""
        # lazy: the docker SDK (~85 ms with requests) loads only where a fault, log or image needs it
        from docker.tls import TLSConfig

        folder = Path(self.tls_dir) if self.tls_dir else None
        if folder is None or not folder.is_dir():
            return False
        ca, cert, key = (folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
        return TLSConfig(client_cert=(str(cert), str(key)) if cert.is_file() and key.is_file() else None,
                         ca_cert=str(ca) if ca.is_file() else None, verify=self.tls_verify and ca.is_file())

    def hint(self) -> str:
        """What to check when this engine does not answer."""
        if self.source == "context":
            return f"is the engine of context {self.context!r} up? `docker --context {self.context} info` shows it"
        if self.source != "DOCKER_HOST":
            return "start Docker (`make setup` starts one as root on Debian)"
        return (f"is the engine at {self.endpoint} up? `docker -H {self.endpoint} info` shows it; "
                "unset DOCKER_HOST to use the local engine")


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine's loopback (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def current_engine(environ: Mapping[str, str] | None = None, *, inspect: Inspect | None = None) -> Engine:
    """The engine the Docker CLI would use: DOCKER_HOST, else the selected context, else the default socket."""
    env = os.environ if environ is None else environ
    if env.get("DOCKER_HOST"):
        return Engine(env["DOCKER_HOST"], source="DOCKER_HOST")
    name = selected_context(env)
    if name in ("", "default"):
        return Engine(DEFAULT_ENDPOINT)
    if inspect is not None:
        return context_engine(name, inspect)
    return _cached_context_engine(name)


@lru_cache(maxsize=8)
def _cached_context_engine(name: str) -> Engine:
    """A context's engine, read once per process (contexts do not change under a run)."""
    return context_engine(name, _docker_context_inspect)


def selected_context(environ: Mapping[str, str] | None = None) -> str:
    """The context the Docker CLI would use: DOCKER_CONTEXT, else its config's ``currentContext``."""
    env = os.environ if environ is None else environ
    if env.get("DOCKER_CONTEXT"):
        return env["DOCKER_CONTEXT"]
    config = Path(env.get("DOCKER_CONFIG") or Path(env.get("HOME") or Path.home()) / ".docker") / "config.json"
    try:
        return str(json.loads(config.read_text()).get("currentContext") or "")
    except (OSError, ValueError, AttributeError):
        return ""


def context_engine(name: str, inspect: Inspect) -> Engine:
    """The engine of Docker context ``name``, from ``docker context inspect`` output."""
    found = inspect(name)
    if not found:
        raise DockerUnavailable(f"Docker context {name!r} does not exist",
                                hint="`docker context ls` lists the contexts; unset DOCKER_CONTEXT or "
                                     "`docker context use default`")
    entry = found[0]
    endpoint = ((entry.get("Endpoints") or {}).get("docker") or {})
    host = str(endpoint.get("Host") or DEFAULT_ENDPOINT)
    tls_path = str((entry.get("Storage") or {}).get("TLSPath") or "")
    tls_dir = str(Path(tls_path) / "docker") if tls_path else ""
    return Engine(host, source="context", context=name, tls_dir=tls_dir,
                  tls_verify=not bool(endpoint.get("SkipTLSVerify")))


def _docker_context_inspect(name: str) -> list[dict[str, Any]]:
    """`docker context inspect NAME` as parsed JSON (the CLI owns the context store's layout)."""
    argv = ["docker", "context", "inspect", name]
    logger.debug("engine: %s", " ".join(argv))
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=CLIENT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DockerUnavailable(f"could not read Docker context {name!r}: {exc}",
                                hint="install the docker CLI (`make setup`)") from exc
    if done.returncode != 0:
        logger.error("docker context inspect %s failed: %s", name, done.stderr.strip())
        return []
    try:
        parsed = json.loads(done.stdout)
    except ValueError as exc:
        raise DockerUnavailable(f"`docker context inspect {name}` printed no JSON: {done.stdout[:200]!r}",
                                hint="check the docker CLI's version (`docker version`)") from exc
    return [item for item in parsed if isinstance(item, dict)] if isinstance(parsed, list) else []
