"""A small client for the fault proxy's control API (urllib, so it needs nothing installed)."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any

from harness.errors import FaultError

logger = logging.getLogger(__name__)


class ProxyClient:
    """Talks to one fault proxy's control API, e.g. ``ProxyClient("http://127.0.0.1:8474")``."""

    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def version(self) -> str:
        """The proxy's version string (also a liveness check)."""
        return str(self._call("GET", "/version")["version"])

    def proxies(self) -> dict[str, dict[str, Any]]:
        """Every proxy by name, with its toxics."""
        result: dict[str, dict[str, Any]] = self._call("GET", "/proxies")
        return result

    def create(self, name: str, listen: str, upstream: str) -> dict[str, Any]:
        """Create a proxy at run time."""
        result: dict[str, Any] = self._call("POST", "/proxies",
                                            {"name": name, "listen": listen, "upstream": upstream})
        return result

    def delete(self, proxy: str, *, missing_ok: bool = False) -> None:
        """Delete a proxy (its live connections are reset); ``missing_ok`` tolerates one already gone."""
        try:
            self._call("DELETE", f"/proxies/{proxy}")
        except ProxyApiError as exc:
            if not (missing_ok and exc.status == 404):
                raise

    def set_enabled(self, proxy: str, enabled: bool) -> dict[str, Any]:
        """Enable or disable a proxy (disabled: not listening, live connections reset)."""
        result: dict[str, Any] = self._call("POST", f"/proxies/{proxy}", {"enabled": enabled})
        return result

    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        """The toxics on one proxy."""
        result: list[dict[str, Any]] = self._call("GET", f"/proxies/{proxy}/toxics")
        return result

    def add_toxic(self, proxy: str, type: str, attributes: dict[str, float], *, name: str | None = None,
                  stream: str = "downstream", toxicity: float = 1.0) -> str:
        """Add a toxic and return its name."""
        body: dict[str, Any] = {"type": type, "attributes": attributes, "stream": stream,
                                "toxicity": toxicity}
        if name:
            body["name"] = name
        return str(self._call("POST", f"/proxies/{proxy}/toxics", body)["name"])

    def remove_toxic(self, proxy: str, name: str, *, missing_ok: bool = False) -> None:
        """Delete a toxic; ``missing_ok`` tolerates one that is already gone."""
        try:
            self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")
        except ProxyApiError as exc:
            if not (missing_ok and exc.status == 404):
                raise

    def reset(self) -> None:
        """Remove every toxic from every proxy and enable them all."""
        self._call("POST", "/reset")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        logger.debug("proxy API %s %s %s", method, path, body or "")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise ProxyApiError(f"{method} {path} -> {exc.code}: {detail}", status=exc.code) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise FaultError(f"fault proxy at {self.base_url} does not answer {method} {path}: {exc}",
                             hint="is the proxy container running and its control port published?") from exc
        return json.loads(raw) if raw else None


class ProxyApiError(FaultError):
    """The proxy answered a control request with an error status."""

    def __init__(self, message: str, *, status: int) -> None:
        self.status = status
        super().__init__(message, hint="GET /proxies on the control API lists the proxies and their toxics")
