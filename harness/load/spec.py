"""What one request of a load run looks like, and the guard on where load may go."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from harness.errors import LoadError

Headers = Mapping[str, str]
HeadersArg = Headers | Callable[[int, int], Headers] | None
BodyArg = Any | Callable[[int, int], Any]

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_2xx(status: int) -> bool:
    """The default success predicate: any 2xx status."""
    return 200 <= status < 300


@dataclass(frozen=True)
class RequestSpec:
    """One request to repeat: method, URL, headers, JSON body, success predicate, stream flag.

    ``headers`` and ``json`` may be callables ``(user, seq) -> value``, called per request,
    so each virtual user can carry its own token and each request its own body. ``user`` is
    the virtual user (closed loop) or worker (open loop) index; ``seq`` is the request's
    index in the run. ``id_key`` (dotted for nesting: ``"data.job_id"``) names the job id in
    a successful JSON response. With ``stream=True`` the body is read as server-sent events:
    the time to the first event line (not a ``:`` comment) is recorded, then the stream is read
    to its end within ``timeout``; ids are not taken from streams.
    """

    url: str
    method: str = "GET"
    headers: HeadersArg = None
    json: BodyArg = None
    ok: Callable[[int], bool] = is_2xx
    stream: bool = False
    id_key: str | None = None
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise LoadError(f"request timeout {self.timeout!r} must be positive",
                            hint="pass RequestSpec(timeout=SECONDS) with SECONDS > 0")

    def static_body(self) -> bytes | None:
        """The JSON body serialized once, or None when there is none or it is per request."""
        if self.json is None or callable(self.json):
            return None
        return json.dumps(self.json).encode()

    def id_path(self) -> tuple[str, ...]:
        """``id_key`` split on dots: ``"data.job_id"`` -> ("data", "job_id")."""
        return tuple(self.id_key.split(".")) if self.id_key else ()


@dataclass(frozen=True)
class Limits:
    """Hard bounds every run obeys, whatever it was asked for."""

    max_duration: float = 3600.0
    max_requests: int = 10_000_000
    max_users: int = 10_000
    max_rate: float = 100_000.0
    allowed_networks: tuple[str, ...] = field(default=())

    def check_run(self, *, count: int | None, duration: float | None, users: int) -> None:
        """Refuse an unbounded or oversized run before it starts."""
        if count is None and duration is None:
            raise LoadError("a load run needs a bound", hint="pass a request count, a duration, or both")
        if count is not None and not 0 < count <= self.max_requests:
            raise LoadError(f"request count {count} is outside 1..{self.max_requests}",
                            hint="lower the count or raise Limits.max_requests")
        if duration is not None and not 0 < duration <= self.max_duration:
            raise LoadError(f"duration {duration}s is outside (0, {self.max_duration}]",
                            hint="shorten the run or raise Limits.max_duration")
        if not 0 < users <= self.max_users:
            raise LoadError(f"{users} users/workers is outside 1..{self.max_users}",
                            hint="use fewer virtual users")


def check_target(url: str, allowed_networks: Iterable[str] = ()) -> None:
    """Allow only loopback targets or addresses inside the project's own docker networks.

    ``allowed_networks`` are CIDR subnets of the project's docker networks (as read from
    ``docker network inspect``); hostnames other than localhost are refused, since a name
    could resolve anywhere.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise LoadError(f"load target {url!r} is not an http(s) URL",
                        hint="use a URL like http://127.0.0.1:8080/path from env.url(service)")
    host = (parts.hostname or "").lower()
    if host in LOOPBACK_NAMES:
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise LoadError(f"load target host {host!r} is a name, not an address",
                        hint="use env.url(service), which gives a loopback address") from None
    if address.is_loopback:
        return
    for cidr in allowed_networks:
        if address in ipaddress.ip_network(cidr, strict=False):
            return
    raise LoadError(f"load target {host} is neither loopback nor in the project's docker networks",
                    hint="load may target only 127.0.0.0/8, ::1 or the project's own docker networks")


DEFAULT_LIMITS = Limits()
