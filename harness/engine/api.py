"""The few Engine API reads the harness makes before a run's first step, without the docker SDK.

    EngineReads (Protocol)   containers(all, filters), inspect_container(id), networks(filters),
                             volumes(filters): the shapes of the SDK's low-level ``APIClient``, so
                             either one serves (fakes in tests too)
    EngineAPI(endpoint)      those four reads over a unix socket or plain tcp with the standard
                             library's http.client: one short request each, a new connection each
                             (thread-safe; a connect on a local socket costs microseconds)
    reads_for(engine)        EngineAPI when the endpoint is unix:// or plain tcp://, else the SDK's
                             ``client().api`` (ssh://, TLS, npipe need what the SDK already does)

Why: importing the docker SDK (and requests, urllib3 under it) takes ~85 ms of the ~300 ms from
launching behave on a kept environment to its first step; attaching needs only a container list.
Faults, logs and images still use the SDK, loaded on first use.
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from harness.engine.endpoint import Engine
from harness.errors import DockerError, DockerUnavailable

Filters = dict[str, "str | bool | list[str]"]  # dict, as the SDK takes them


class EngineReads(Protocol):
    """What the harness reads from an engine before it acts (the SDK's APIClient has the same methods)."""

    def containers(self, *, all: bool = False, filters: Filters | None = None) -> list[dict[str, Any]]: ...  # noqa: A002

    def inspect_container(self, container: str) -> dict[str, Any]: ...

    def networks(self, *, filters: Filters | None = None) -> list[dict[str, Any]]: ...

    def volumes(self, *, filters: Filters | None = None) -> dict[str, Any]: ...


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (the engine's default endpoint)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.path)
        self.sock = sock


def encode_filters(filters: Filters | None) -> str:
    """Filters as the Engine API takes them: a JSON map of lists of strings (as the SDK encodes them)."""
    out: dict[str, list[str]] = {}
    for key, value in (filters or {}).items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        out[key] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return json.dumps(out)


class EngineAPI:
    """The four reads of EngineReads over the Engine API, with http.client (unix:// or tcp:// without TLS)."""

    def __init__(self, endpoint: str, timeout: float = 30.0, *, describe: str = "", hint: str = "") -> None:
        url = urlsplit(endpoint if "://" in endpoint else f"tcp://{endpoint}")
        if url.scheme not in ("unix", "tcp", "http"):
            raise ValueError(f"EngineAPI speaks unix:// and tcp:// only, not {endpoint!r}")
        self.endpoint = endpoint
        self.timeout = timeout
        self._unix = url.path if url.scheme == "unix" else ""
        self._host, self._port = url.hostname or "localhost", url.port or 2375
        self._describe = describe or endpoint
        self._hint = hint

    def containers(self, all: bool = False, filters: Filters | None = None) -> list[dict[str, Any]]:  # noqa: A002
        """``GET /containers/json``: container summaries (running only unless ``all``)."""
        query = f"all={'1' if all else '0'}" + (f"&filters={quote(encode_filters(filters))}" if filters else "")
        found: list[dict[str, Any]] = self._get(f"/containers/json?{query}")
        return found

    def inspect_container(self, container: str) -> dict[str, Any]:
        """``GET /containers/{id}/json``."""
        found: dict[str, Any] = self._get(f"/containers/{quote(container, safe='')}/json")
        return found

    def networks(self, filters: Filters | None = None) -> list[dict[str, Any]]:
        """``GET /networks``."""
        found: list[dict[str, Any]] = self._get("/networks" + self._filters(filters))
        return found

    def volumes(self, filters: Filters | None = None) -> dict[str, Any]:
        """``GET /volumes``: ``{"Volumes": [...], "Warnings": [...]}``."""
        found: dict[str, Any] = self._get("/volumes" + self._filters(filters))
        return found

    @staticmethod
    def _filters(filters: Filters | None) -> str:
        return f"?filters={quote(encode_filters(filters))}" if filters else ""

    def _connection(self) -> http.client.HTTPConnection:
        if self._unix:
            return _UnixConnection(self._unix, self.timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)

    def _get(self, path: str) -> Any:
        connection = self._connection()
        try:
            connection.request("GET", path, headers={"Host": "docker"})
            response = connection.getresponse()
            body = response.read()
        except OSError as exc:  # refused, missing socket, timeout, reset
            raise DockerUnavailable(f"no Docker engine answers at {self._describe}: {exc}", hint=self._hint) from exc
        finally:
            connection.close()
        if response.status >= 400:
            message = _message(body)
            raise DockerError(f"the Docker engine at {self._describe} refused GET {path.split('?')[0]}: "
                              f"{response.status} {message}", hint="`docker info` shows the engine's state")
        return json.loads(body)


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body).get("message", ""))
    except (ValueError, AttributeError):
        return body.decode(errors="replace")[:200]


def reads_for(engine: Engine) -> EngineReads:
    """The light client for unix:// and plain tcp:// endpoints, else the SDK's low-level API."""
    if engine.speaks_plain_http:
        return EngineAPI(engine.endpoint, describe=engine.describe(), hint=engine.hint())
    reads: EngineReads = engine.client().api
    return reads
