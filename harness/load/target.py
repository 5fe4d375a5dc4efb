"""What a load step sends: the target (service, method, path, body template), who sends it, ids.

A body is a JSON template whose ``{client}``, ``{seq}`` and ``{run}`` are filled in per request
(the client index, the request's index in the run, a tag unique to the scenario), so every
request can carry a unique prompt. Other ``{name}``s are remembered values, filled in once when
the target is set. ``inference_target`` is the convenience default for the reference stack.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.errors import LoadError

LOAD_FIELDS = frozenset({"client", "seq", "run"})
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.-]*)\}")
AuthMode = Literal["none", "tenant", "per-client"]


@dataclass(frozen=True)
class BodyTemplate:
    """A JSON body with ``{client}``, ``{seq}`` and ``{run}`` filled in per request."""

    parts: tuple[str, ...]

    @classmethod
    def parse(cls, text: str, fill: Callable[[str], str] = str) -> BodyTemplate:
        """Split ``text`` into literals and load fields; ``fill(name)`` gives other values now."""
        parts: list[str] = []
        literal, last = [], 0
        for match in _PLACEHOLDER.finditer(text):
            literal.append(text[last:match.start()])
            name = match.group(1)
            if name in LOAD_FIELDS:
                parts += ["".join(literal), name]
                literal = []
            else:
                literal.append(fill(name))
            last = match.end()
        parts.append("".join([*literal, text[last:]]))
        template = cls(tuple(parts))
        template.render(0, 0, "check")
        return template

    def text(self, client: int, seq: int, run: str) -> str:
        """The body text of one request."""
        values = {"client": str(client), "seq": str(seq), "run": run}
        return "".join(part if i % 2 == 0 else values[part] for i, part in enumerate(self.parts))

    def render(self, client: int, seq: int, run: str) -> Any:
        """The JSON body of one request."""
        text = self.text(client, seq, run)
        try:
            return json.loads(text)
        except ValueError as exc:
            raise LoadError(f"the load body is not JSON once filled in: {exc}\n{text[:300]}",
                            hint="{client}, {seq} and {run} are bare text: put them inside quotes "
                                 "or where a number goes") from exc


@dataclass(frozen=True)
class ClientAuth:
    """Who the load is sent as: nobody, one tenant, or a tenant of its own per client."""

    mode: AuthMode = "none"
    tenant: str = ""

    def tenant_of(self, client: int, run: str) -> str | None:
        """The tenant whose token ``client`` sends, or None for no token."""
        if self.mode == "per-client":
            return f"load-{run}-{client}"
        return self.tenant if self.mode == "tenant" else None


@dataclass(frozen=True)
class LoadTarget:
    """One request to repeat: service, method, path, body template, credentials, id and stream."""

    service: str
    path: str
    method: str = "POST"
    body: BodyTemplate | None = None
    auth: ClientAuth = field(default_factory=ClientAuth)
    id_key: str | None = None
    stream: bool = False
    ok_statuses: tuple[int, ...] | None = None

    def describe(self) -> str:
        """``POST /v1/inference on queen``."""
        return f"{self.method} {self.path} on {self.service}"

    def succeeded(self, status: int) -> bool:
        """The scenario's success: its named statuses, else any 2xx but 202 (accepted is not done)."""
        if self.ok_statuses is not None:
            return status in self.ok_statuses
        return 200 <= status < 300 and status != 202


@dataclass(frozen=True)
class JobLookup:
    """How an accepted job is looked up: a path with ``{id}``, the state key, its done value."""

    path: str = "/v1/jobs/{id}"
    state_key: str = "state"
    done: str = "completed"
    failed: tuple[str, ...] = ("failed", "error", "cancelled")
    finished_key: str | None = "finished"

    def url_path(self, job_id: str) -> str:
        """The lookup path of one job."""
        return self.path.replace("{id}", job_id)


def inference_target(params: Mapping[str, Any], *, stream: bool = False, max_tokens: int = 8,
                     asynchronous: bool = False) -> LoadTarget:
    """The reference stack's ``POST /v1/inference`` on the queen: unique prompts, a tenant per client.

    Success is 200 (the job finished); ``asynchronous`` sends ``"async": true`` and succeeds on 202
    (accepted), so the job is looked up afterwards and an acknowledged-but-unfinished job can be lost.
    """
    models = params.get("models") or ["tinyllama"]
    model = models[0] if isinstance(models, list | tuple) else str(models).split(",")[0]
    fields: dict[str, Any] = {"model": model, "prompt": "load {run} client {client} request {seq}",
                              "max_tokens": max_tokens, "stream": stream}
    if asynchronous:
        fields["async"] = True
    return LoadTarget(service="queen", path="/v1/inference", body=BodyTemplate.parse(json.dumps(fields)),
                      auth=ClientAuth("per-client"), id_key=None if stream else "job_id", stream=stream,
                      ok_statuses=(202,) if asynchronous else (200,))
