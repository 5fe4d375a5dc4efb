"""Prometheus text exposition: parse a scrape into typed samples; select and sum them.

    parse(text) -> Exposition              families (name -> type) and samples, in order
    Selector.parse('jobs_total{outcome="completed"}')
    Exposition.value(selector) -> float    the sum of the matching samples (see below)
    scrape(url, timeout) -> Exposition     GET the page; httpx errors become RequestFailed

A selector is a sample name with optional label matchers (``=``, ``!=``, ``=~``, ``!~``; values
in double or single quotes). Its value is the sum of every sample it matches, so
``http_requests_total{route="/v1/inference"}`` counts every method and status. A metric family
that is declared (``# TYPE``) or has samples but no sample matching the labels is worth 0 (a
labelled counter appears only once counted); a name that the page does not know at all is an
error, so a typo never reads as 0.

Why our own parser and not ``prometheus_client.parser.text_string_to_metric_families`` (measured by
bench/parsers.py, results in bench/results/parsers.json; 2,000 series, 15 rounds, CPU time, load 8-11
on 2 cores): the library took 43.6 ms where this parser took 22.2 ms (ratio 1.97, best rounds 1.90),
and it changes what a selector sees: a counter declared ``jobs_total`` becomes family ``jobs``, a
sample timestamp of 1700000000000 ms comes back as 1700000000.0 s, and a bad line is a ValueError with
no line number (ours: ExpositionError naming the line). OpenMetrics needs its other parser there.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import httpx

from harness.clients.http import RequestFailed
from harness.errors import HarnessError, VerificationFailed

TYPES = frozenset({"counter", "gauge", "histogram", "summary", "untyped", "info", "stateset", "gaugehistogram",
                   "unknown"})
SUFFIXES = ("_total", "_count", "_sum", "_bucket", "_created", "_info")

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = re.compile(r'\s*(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*(?:,|$)')
_SAMPLE = re.compile(rf"^(?P<name>{_NAME})(?:\{{(?P<labels>.*)\}})?\s+(?P<value>\S+)(?:\s+(?P<ts>\S+))?\s*$")
_MATCHER = re.compile(r"""\s*(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*"""
                      r"""(?:"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>(?:[^'\\]|\\.)*)')\s*(?:,|$)""")
_SELECTOR = re.compile(rf"^\s*(?P<name>{_NAME})\s*(?:\{{(?P<matchers>.*)\}})?\s*$")
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n", "\\'": "'"}


class ExpositionError(HarnessError):
    """A line of Prometheus text cannot be parsed (carries ``line_number`` and ``line``)."""

    def __init__(self, message: str, *, line_number: int, line: str) -> None:
        self.line_number = line_number
        self.line = line
        super().__init__(f"line {line_number}: {message}: {line!r}",
                         hint="the page must be Prometheus text format 0.0.4 (or OpenMetrics text)")


@dataclass(frozen=True)
class Sample:
    """One sample: name, labels, value, optional timestamp, and its family's name and type."""

    name: str
    labels: tuple[tuple[str, str], ...]
    value: float
    family: str
    type: str = "untyped"
    timestamp: float | None = None

    def label(self, name: str) -> str | None:
        """The value of label ``name``, or None."""
        return dict(self.labels).get(name)

    def describe(self) -> str:
        """``name{a="b"} 3`` as in the exposition."""
        inner = ",".join(f'{k}="{v}"' for k, v in self.labels)
        return f"{self.name}{{{inner}}} {self.value:g}" if inner else f"{self.name} {self.value:g}"


@dataclass(frozen=True)
class Matcher:
    """One label matcher: ``name op value`` with op one of ``=``, ``!=``, ``=~``, ``!~``."""

    name: str
    op: str
    value: str

    def matches(self, labels: dict[str, str]) -> bool:
        """True when the labels satisfy this matcher (a missing label is the empty string)."""
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found


@dataclass(frozen=True)
class Selector:
    """A sample name with label matchers, as written in a step."""

    name: str
    matchers: tuple[Matcher, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Selector:
        """``name``, ``name{a="b", c!~'x.*'}``; a malformed selector is a HarnessError."""
        match = _SELECTOR.match(text)
        if match is None:
            raise HarnessError(f"not a metric selector: {text!r}",
                               hint='write name or name{label="value", other!="value"}')
        return cls(match.group("name"), tuple(_matchers(match.group("matchers") or "", text)))

    def matches(self, sample: Sample) -> bool:
        """True when the sample has this name and its labels satisfy every matcher."""
        labels = dict(sample.labels)
        return sample.name == self.name and all(m.matches(labels) for m in self.matchers)

    def __str__(self) -> str:
        inner = ", ".join(f'{m.name}{m.op}"{m.value}"' for m in self.matchers)
        return f"{self.name}{{{inner}}}" if inner else self.name


@dataclass(frozen=True)
class Exposition:
    """A parsed page: declared families (name -> type) and every sample in page order."""

    families: dict[str, str] = field(default_factory=dict)
    samples: tuple[Sample, ...] = ()

    def select(self, selector: Selector) -> list[Sample]:
        """The samples the selector matches."""
        return [s for s in self.samples if selector.matches(s)]

    def knows(self, name: str) -> bool:
        """True when a sample or family of that name is on the page."""
        return any(s.name == name for s in self.samples) or _family_of(name, self.families) in self.families

    def value(self, selector: Selector | str) -> float:
        """The sum of the matching samples; 0 for a known name without a match; unknown: VerificationFailed."""
        wanted = Selector.parse(selector) if isinstance(selector, str) else selector
        if not self.knows(wanted.name):
            known = sorted({s.name for s in self.samples})
            raise VerificationFailed(f"no metric {wanted.name!r} on the page ({len(known)} sample names: "
                                     f"{', '.join(known[:30]) or 'none'})",
                                     hint="check the name against the service's /metrics page")
        return math.fsum(s.value for s in self.select(wanted))


def parse(text: str) -> Exposition:
    """Parse Prometheus (or OpenMetrics) text; comments other than TYPE are skipped."""
    families: dict[str, str] = {}
    samples = [_sample(line, number, families) for number, line in _lines(text, families)]
    return Exposition(families, tuple(samples))


def scrape(url: str, timeout: float, client: httpx.Client | None = None) -> Exposition:
    """GET a metrics page and parse it; a non-200 answer is a VerificationFailed."""
    try:
        answer = (client or httpx).get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        raise RequestFailed(f"GET {url} failed: {type(exc).__name__}: {exc}", method="GET", url=url, service="",
                            hint="is the service running? `harness logs SERVICE` shows its logs") from exc
    if answer.status_code != 200:
        raise VerificationFailed(f"GET {url} answered {answer.status_code}: {answer.text[:300]}",
                                 hint="the metrics path may differ: -D metrics_path=/path")
    return parse(answer.text)


def _lines(text: str, families: dict[str, str]) -> Iterator[tuple[int, str]]:
    """Sample lines with their numbers; TYPE comments are recorded into ``families``."""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line == "# EOF":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 4 and parts[1] == "TYPE":
                if parts[3] not in TYPES:
                    raise ExpositionError(f"unknown metric type {parts[3]!r}", line_number=number, line=raw)
                families[parts[2]] = parts[3]
            continue
        yield number, raw


def _sample(line: str, number: int, families: dict[str, str]) -> Sample:
    match = _SAMPLE.match(line.strip())
    if match is None:
        raise ExpositionError("not a sample line", line_number=number, line=line)
    name = match.group("name")
    family = _family_of(name, families)
    try:
        value = _number(match.group("value"))
        stamp = float(match.group("ts")) if match.group("ts") else None
    except ValueError as exc:
        raise ExpositionError(f"bad number ({exc})", line_number=number, line=line) from exc
    labels = tuple(_labels(match.group("labels") or "", number, line))
    return Sample(name, labels, value, family, families.get(family, "untyped"), stamp)


def _family_of(name: str, families: dict[str, str]) -> str:
    """The declared family a sample name belongs to (``x_bucket`` -> ``x``), else the name itself."""
    if name in families:
        return name
    for suffix in SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in families:
            return name[: -len(suffix)]
    return name


def _labels(text: str, number: int, line: str) -> Iterator[tuple[str, str]]:
    pos = 0
    while pos < len(text.rstrip()):
        match = _LABEL.match(text, pos)
        if match is None or match.end() == pos:
            raise ExpositionError(f"bad label at character {pos + 1} of the label set", line_number=number, line=line)
        yield match.group("name"), _unescape(match.group("value"))
        pos = match.end()


def _matchers(text: str, selector: str) -> Iterable[Matcher]:
    pos = 0
    while pos < len(text.rstrip()):
        match = _MATCHER.match(text, pos)
        if match is None or match.end() == pos:
            raise HarnessError(f"bad label matcher in {selector!r} at character {pos + 1} of the label set",
                               hint='write label="value" (also !=, =~, !~), separated by commas')
        raw = match.group("dq") if match.group("dq") is not None else match.group("sq")
        yield Matcher(match.group("name"), match.group("op"), _unescape(raw))
        pos = match.end()


def _unescape(value: str) -> str:
    return re.sub(r"\\.", lambda m: _ESCAPES.get(m.group(0), m.group(0)), value)


def _number(text: str) -> float:
    """A sample value: a float, or +Inf / -Inf / NaN in any case."""
    special = {"+inf": math.inf, "inf": math.inf, "-inf": -math.inf, "nan": math.nan}
    return special[text.lower()] if text.lower() in special else float(text)
