"""HTTP for steps: one client per scenario, requests by service name, the last response kept.

    client(session) -> HttpClient            made on first use in a scenario, closed at its end
    prepare(session, ...) -> Request         a step's request, with remembered values filled in
    HttpClient.send(request) -> Response     kept as ``.last``; its time is measured
    HttpClient.stream(request) -> Stream     Server-Sent Events (harness.clients.sse); also kept as ``.last``

The optional tail of the request steps (`` on "queen" as tenant "acme" with JSON:``) is parsed
by ``RequestOptions``; ``STEP_TYPES`` holds the parse types of the whole step grammar.
httpx errors are translated here, once, into ``RequestFailed`` (method, service, URL, Hint).
Timeouts come from ``-D``/userdata or ``HARNESS_*`` variables (``HttpSettings``).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from harness import expect
from harness.clients import jsonpath, sse, tokens
from harness.clients.scope import Scope
from harness.clients.transient import bounded
from harness.env.config import seconds_settings
from harness.errors import HarnessError

logger = logging.getLogger(__name__)

Pairs = tuple[tuple[str, str], ...]


class RequestFailed(HarnessError):
    """A request got no HTTP answer (connect error, timeout, protocol error)."""

    def __init__(self, message: str, *, method: str, url: str, service: str, hint: str) -> None:
        self.method = method
        self.url = url
        self.service = service
        super().__init__(message, hint=hint)


_SETTING_KEYS = {"request": "http_timeout", "stream_total": "stream_timeout",
                 "stream_idle": "stream_idle_timeout"}


@dataclass(frozen=True)
class HttpSettings:
    """Timeouts in seconds: of a request, of a whole event stream, of silence in a stream."""

    request: float = 30.0
    stream_total: float = 120.0
    stream_idle: float = 30.0

    @classmethod
    def build(cls, userdata: Mapping[str, str], environ: Mapping[str, str] | None = None) -> HttpSettings:
        """From ``-D http_timeout=…`` (also stream_timeout, stream_idle_timeout) or ``HARNESS_<KEY>``."""
        return cls(**seconds_settings(_SETTING_KEYS, userdata, environ))


@dataclass(frozen=True)
class Credentials:
    """Who a request is sent as: a tenant (the token factory), admin, or a token.

    ``token`` is a flaw (``expired``, ``badly signed``, ``malformed``), ``none`` (no
    Authorization header) or a literal bearer token. Nothing set: no Authorization header.
    """

    tenant: str | None = None
    admin: bool = False
    token: str | None = None

    def header(self, mint: Callable[[tokens.TokenSpec], str] | None) -> dict[str, str]:
        """The Authorization header these credentials need (empty for none)."""
        if self.token == "none" or (self.token is None and self.tenant is None and not self.admin):
            return {}
        if self.token is not None and self.token not in tokens.FLAWS:
            return {"Authorization": f"Bearer {self.token}"}
        if mint is None:
            raise HarnessError("this client has no token factory", hint="make it with client(session)")
        spec = tokens.TokenSpec(tenant=self.tenant, admin=self.admin, flaw=self.token or "")
        return {"Authorization": f"Bearer {mint(spec)}"}


@dataclass(frozen=True)
class Request:
    """One request as a step describes it."""

    method: str
    path: str
    service: str | None = None
    credentials: Credentials = field(default_factory=Credentials)
    headers: Pairs = ()
    params: Pairs = ()
    content: str | None = None
    json_body: bool = False


@dataclass(frozen=True)
class Response:
    """An HTTP answer: status, headers, body text and how long it took."""

    method: str
    url: str
    service: str
    status: int
    headers: httpx.Headers
    text: str
    elapsed_ms: float
    received: float = 0.0  # the client clock when the answer was read (WebSocket steps time frames against it)
    sent: float = 0.0  # the client clock when the request was sent (a fault on the answer's way delays both)

    def describe(self) -> str:
        """``GET http://… answered 404 in 12 ms: {body}``, for failure messages."""
        body = self.text if len(self.text) <= 500 else self.text[:500] + "..."
        return (f"{self.method} {self.url} answered {self.status} in {self.elapsed_ms:.0f} ms: "
                f"{body or '(empty body)'}")

    def json(self) -> Any:
        """The body as JSON, counted as a verification that it is JSON."""
        try:
            document = json.loads(self.text)
        except ValueError:
            kind = self.headers.get("content-type", "no content-type")
            expect.that(False, f"the response is not JSON ({kind}): {self.describe()}")
        expect.that(True, "")
        return document

    def json_at(self, path: str) -> Any:
        """The value at a JSON path, counted as a verification that it exists."""
        return jsonpath.at(self.json(), path,
                           what=f"the response JSON of {self.method} {self.url} (status {self.status})")


class HttpClient:
    """Sends a scenario's requests to services by name and keeps the last response."""

    def __init__(self, base_url: Callable[[str], str], *,
                 mint: Callable[[tokens.TokenSpec], str] | None = None, settings: HttpSettings | None = None,
                 transport: httpx.BaseTransport | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.settings = settings or HttpSettings()
        self.default_service: str | None = None
        self.last_stream: sse.Stream | None = None
        self._base_url = base_url
        self._mint = mint
        self._clock = clock
        self._last: Response | None = None
        self._http = httpx.Client(timeout=self.settings.request, transport=transport, follow_redirects=False)

    @property
    def last(self) -> Response:
        """The last response of this scenario."""
        if self._last is None:
            raise HarnessError("no request has been sent in this scenario yet",
                               hint='send one first: When I send a GET request to "/path" on "SERVICE"')
        return self._last

    def send(self, request: Request) -> Response:
        """Send ``request`` and keep its response as ``last``."""
        service, url = self.target(request)
        started = self._clock()
        try:
            answer = self._http.request(request.method, url, timeout=bounded(self.settings.request),
                                        **self._arguments(request))
        except httpx.HTTPError as exc:
            raise self._failed(exc, request.method, url, service) from exc
        received = self._clock()
        self._last = Response(request.method, url, service, answer.status_code, answer.headers, answer.text,
                              (received - started) * 1000, received, started)
        logger.debug("%s", self._last.describe())
        return self._last

    def stream(self, request: Request, stop_at: frozenset[str] = frozenset()) -> sse.Stream:
        """Send ``request`` and read its event stream; keep it as ``last_stream`` and ``last``."""
        service, url = self.target(request)
        try:
            stream = sse.consume(self._http, request.method, url, total=self.settings.stream_total,
                                 idle=self.settings.stream_idle, stop_at=stop_at, clock=self._clock,
                                 **self._arguments(request))
        except httpx.HTTPError as exc:
            raise self._failed(exc, request.method, url, service) from exc
        self.last_stream = stream
        self._last = Response(request.method, url, service, stream.status, stream.headers, stream.body,
                              stream.elapsed_ms)
        return stream

    def target(self, request: Request) -> tuple[str, str]:
        """(service, URL) of a request: its service, else the default one."""
        if re.match(r"https?://", request.path):
            return "", request.path
        service = request.service or self.default_service
        if not service:
            raise HarnessError(f"no service named for {request.method} {request.path}",
                               hint='add on "SERVICE" to the step, or start with: '
                                    'Given the default service is "SERVICE"')
        path = request.path if request.path.startswith("/") else "/" + request.path
        return service, self._base_url(service).rstrip("/") + path

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def _arguments(self, request: Request) -> dict[str, Any]:
        headers = dict(request.credentials.header(self._mint))
        if request.json_body:
            headers["Content-Type"] = "application/json"
        headers.update(request.headers)
        args: dict[str, Any] = {"headers": headers}
        if request.params:
            args["params"] = list(request.params)
        if request.content is not None:
            args["content"] = request.content.encode()
        return args

    def _failed(self, exc: httpx.HTTPError, method: str, url: str, service: str) -> RequestFailed:
        name = f"service {service!r}" if service else "the server"
        if isinstance(exc, httpx.TimeoutException):
            what = f"got no answer within {self.settings.request:g} s ({type(exc).__name__})"
            hint = (f"{name} may hang: `harness logs {service or 'SERVICE'}` shows its logs; "
                    "if it is just slow, raise -D http_timeout=SECONDS")
        elif isinstance(exc, httpx.ConnectError):
            what = f"could not connect: {exc}"
            hint = (f'is {name} running? `Then the service "{service or "SERVICE"}" is healthy` checks it; '
                    f"`harness logs {service or 'SERVICE'}` shows why it stopped")
        else:
            what = f"failed: {type(exc).__name__}: {exc}"
            hint = f"`harness logs {service or 'SERVICE'}` shows what {name} did"
        return RequestFailed(f"{method} {url} ({name}) {what}", method=method, url=url, service=service,
                             hint=hint)


def status_matches(status: int, wanted: str) -> bool:
    """``200`` matches only 200; ``2xx`` matches 200..299."""
    return str(status) == wanted if wanted.isdigit() else str(status)[:1] == wanted[:1]


def client(session: Scope) -> HttpClient:
    """The scenario's HTTP client (made on first use, closed when the scenario ends)."""
    def make() -> HttpClient:
        made = HttpClient(lambda service: session.env.url(service),
                          mint=lambda spec: tokens.mint(session.env.name, session.env.params, spec),
                          settings=HttpSettings.build(session.userdata))
        session.cleanup(made.close, "close the scenario's HTTP client")
        return made

    found: HttpClient = session.extension("http", make)
    return found


# -- the step grammar ------------------------------------------------------------------------

_WHO = (r'(?: on "(?P<service>[^"]*)")?'
        r'(?: as (?:(?P<admin>admin)(?: of tenant "(?P<admin_tenant>[^"]*)")?|tenant "(?P<tenant>[^"]*)"))?'
        r'(?: with token "(?P<token>[^"]*)")?')
_UNTIL = r'(?: until "(?P<until>[^"]*)")?'
_DATA = r'(?: with (?P<data>JSON|body|headers|query):?)?'
_OPTIONS = re.compile(_WHO + _UNTIL + _DATA)


def _unnamed(pattern: str) -> str:
    return re.sub(r"\(\?P<\w+>", "(?:", pattern)


@dataclass(frozen=True)
class RequestOptions:
    """The optional tail of a request step: service, credentials, and what the data is."""

    service: str | None = None
    credentials: Credentials = field(default_factory=Credentials)
    data: str = ""
    until: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> RequestOptions:
        """Parse `` on "S" as tenant "T" with token "K" until "E, F" with JSON:`` (every part optional)."""
        match = _OPTIONS.fullmatch(text)
        if match is None:
            raise ValueError(f"not request options: {text!r}")
        part = match.groupdict()
        credentials = Credentials(tenant=part["tenant"] or part["admin_tenant"], admin=bool(part["admin"]),
                                  token=part["token"])
        until = frozenset(_kinds(part["until"] or ""))
        return cls(service=part["service"], credentials=credentials, data=part["data"] or "", until=until)


def prepare(session: Scope, method: str, path: str, options: RequestOptions, text: str | None,
            rows: Sequence[Sequence[str]] | None) -> Request:
    """The request a step describes, with ``{name}`` filled in from remembered values."""
    fill = session.interpolate
    credentials = options.credentials
    if credentials.token is not None:
        credentials = Credentials(credentials.tenant, credentials.admin, fill(credentials.token))
    base = Request(method, fill(path), options.service, credentials)
    if options.data in ("JSON", "body"):
        if text is None:
            raise HarnessError(f"the step says 'with {options.data}:' but has no doc string",
                               hint='put the body below the step between """ lines')
        content = fill(text)
        if options.data == "JSON":
            jsonpath.literal(content)
        return replace(base, content=content, json_body=options.data == "JSON")
    if options.data in ("headers", "query"):
        if rows is None:
            raise HarnessError(f"the step says 'with {options.data}:' but has no table",
                               hint="add a table with a heading row: | name | value |")
        pairs = tuple((fill(row[0]), fill(row[1])) for row in rows)
        return replace(base, headers=pairs) if options.data == "headers" else replace(base, params=pairs)
    return base


def _typed(pattern: str, convert: Callable[[str], Any], doc: str) -> Callable[[str], Any]:
    """A parse type: ``pattern`` matches, ``convert`` converts, ``doc`` is what docs/steps.md shows of it
    (its first line, then ``Grammar:`` and ``Example:`` lines, as every type's docstring has them)."""
    def converter(text: str) -> Any:
        return convert(text)

    converter.pattern = pattern  # type: ignore[attr-defined]  # what parse reads from a type converter
    converter.__doc__ = doc
    return converter


def _kinds(text: str) -> list[str]:
    return [kind.strip() for kind in text.split(",") if kind.strip()]


STEP_TYPES: dict[str, Callable[[str], Any]] = {
    "Quoted": _typed(r'[^"]*', str, "Any text without a double quote, written between double quotes in the step.\n\n"
                     "Grammar: \"TEXT\" (no \" inside; {name} is filled from remembered values where the step "
                     "says so)\nExample: \"queen\""),
    "Rest": _typed(r".*", str, "The rest of the line, as written (quotes included).\n\n"
                   "Grammar: anything up to the end of the line\nExample: \"kettle\" (a JSON literal: 2, true, "
                   "\"text\", {\"a\": 1})"),
    "Number": _typed(r"\d+(?:\.\d+)?", float, "A non-negative decimal number.\n\n"
                     "Grammar: DIGITS or DIGITS.DIGITS (no sign, no exponent)\nExample: 2.5"),
    "HttpMethod": _typed(r"GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS", str, "An HTTP method, in capitals.\n\n"
                         "Grammar: GET | POST | PUT | PATCH | DELETE | HEAD | OPTIONS\nExample: POST"),
    "RequestOptions": _typed(_unnamed(_WHO + _DATA), RequestOptions.parse,
                             "The optional tail of a request step: which service, as whom, and what follows.\n\n"
                             "Grammar: [ on \"SERVICE\"] [ as tenant \"T\" | as admin [of tenant \"T\"]] "
                             "[ with token \"expired|badly signed|malformed|none|TOKEN\"] [ with JSON: | with "
                             "body: | with headers: | with query:] (the data in the doc string or table below)\n"
                             "Example: on \"queen\" as tenant \"acme\" with JSON:"),
    "StreamOptions": _typed(_unnamed(_WHO + _UNTIL + _DATA), RequestOptions.parse,
                            "RequestOptions plus where an event stream may stop reading.\n\n"
                            "Grammar: [ on \"SERVICE\"] [ as ...] [ with token \"...\"] [ until \"KIND, KIND\"] "
                            "[ with JSON: | with body: | with headers: | with query:]\n"
                            "Example: on \"queen\" as tenant \"acme\" until \"job_completed, job_failed\""),
    "FirstLast": _typed(r"first|last", str, "Which of several frames.\n\nGrammar: first | last\nExample: last"),
    "Status": _typed(r"[1-5](?:\d\d|xx)", str, "An HTTP status, exact or a class.\n\n"
                     "Grammar: three digits 100-599, or a class 1xx-5xx\nExample: 2xx"),
    "JsonType": _typed(r"(?:an? )?(?:string|number|integer|boolean|array|object|null)",
                       lambda text: text.split()[-1], "A JSON type name, with an optional article.\n\n"
                       "Grammar: [a | an] string | number | integer | boolean | array | object | null\n"
                       "Example: an array"),
    "Kinds": _typed(r"[\w.:-]+(?:\s*,\s*[\w.:-]+)*", _kinds, "A comma list of frame or event kinds.\n\n"
                    "Grammar: KIND[, KIND ...] (letters, digits, _ . : -)\nExample: job_queued, token, job_completed"),
}
"""Parse types of the step grammar: step modules call ``register_type(**STEP_TYPES)``."""
