"""Prometheus text parsing, selectors and sums (harness.clients.metrics); no network, no Docker."""

from __future__ import annotations

import math

import httpx
import pytest

from harness.clients import metrics
from harness.clients.http import RequestFailed
from harness.errors import HarnessError, VerificationFailed

PAGE = """\
# HELP queen_http_requests_total HTTP requests by route, method and status.
# TYPE queen_http_requests_total counter
queen_http_requests_total{route="/v1/inference",method="POST",status="200"} 3
queen_http_requests_total{route="/v1/inference",method="POST",status="400"} 2
queen_http_requests_total{route="/health",method="GET",status="200"} 10
# TYPE queen_inference_latency_seconds histogram
queen_inference_latency_seconds_bucket{le="0.05"} 1
queen_inference_latency_seconds_bucket{le="+Inf"} 3
queen_inference_latency_seconds_sum 0.25
queen_inference_latency_seconds_count 3
# TYPE queen_queue_depth gauge
queen_queue_depth 0
# TYPE queen_jobs_total counter
queen_jobs_total{outcome="completed"} 3
queen_jobs_total{outcome="failed"} 1
odd_metric{path="C:\\\\dir",quote="say \\"hi\\"",nl="a\\nb"} 1.5e3 1700000000000
nan_metric NaN
inf_metric -Inf
"""


@pytest.fixture
def page() -> metrics.Exposition:
    return metrics.parse(PAGE)


def test_samples_carry_their_family_and_type(page: metrics.Exposition) -> None:
    by_name = {s.name: s for s in page.samples}
    assert by_name["queen_inference_latency_seconds_count"].family == "queen_inference_latency_seconds"
    assert by_name["queen_inference_latency_seconds_count"].type == "histogram"
    assert by_name["queen_queue_depth"].type == "gauge"
    assert by_name["nan_metric"].type == "untyped"
    assert page.families["queen_jobs_total"] == "counter"


def test_label_values_are_unescaped_and_timestamps_kept(page: metrics.Exposition) -> None:
    odd = next(s for s in page.samples if s.name == "odd_metric")
    assert odd.label("path") == "C:\\dir" and odd.label("quote") == 'say "hi"' and odd.label("nl") == "a\nb"
    assert odd.value == 1500.0 and odd.timestamp == 1700000000000.0


def test_special_values() -> None:
    page = metrics.parse("a NaN\nb +Inf\nc -inf\n")
    assert math.isnan(page.value("a")) and page.value("b") == math.inf and page.value("c") == -math.inf


@pytest.mark.parametrize(("selector", "value"), [
    ('queen_jobs_total{outcome="completed"}', 3),
    ("queen_jobs_total{outcome='failed'}", 1),
    ("queen_jobs_total", 4),
    ('queen_jobs_total{outcome="rejected"}', 0),
    ('queen_http_requests_total{route="/v1/inference"}', 5),
    ('queen_http_requests_total{route="/v1/inference", status="200"}', 3),
    ('queen_http_requests_total{status!="200"}', 2),
    ('queen_http_requests_total{route=~"/v1/.*"}', 5),
    ('queen_http_requests_total{route!~"/v1/.*"}', 10),
    ('queen_inference_latency_seconds_bucket{le="+Inf"}', 3),
    ("queen_inference_latency_seconds_count", 3),
    ("queen_inference_latency_seconds_sum", 0.25),
])
def test_a_selector_sums_the_samples_it_matches(page: metrics.Exposition, selector: str, value: float) -> None:
    assert page.value(selector) == pytest.approx(value)


def test_an_unknown_metric_is_an_error_not_zero(page: metrics.Exposition) -> None:
    with pytest.raises(VerificationFailed, match="no metric 'queen_jobs_totl'"):
        page.value("queen_jobs_totl")


def test_a_declared_family_without_samples_is_known() -> None:
    page = metrics.parse("# TYPE empty_total counter\n")
    assert page.knows("empty_total") and page.value('empty_total{a="b"}') == 0


@pytest.mark.parametrize("text", ["", "1abc", 'a{b="c"', 'a{b=c}', "a{b='c' d='e'}"])
def test_a_malformed_selector_is_an_authoring_error(text: str) -> None:
    with pytest.raises(HarnessError):
        metrics.Selector.parse(text)


def test_selector_round_trips_to_text() -> None:
    assert str(metrics.Selector.parse("x{a='1',b!~\"2\"}")) == 'x{a="1", b!~"2"}'


@pytest.mark.parametrize(("line", "problem"), [
    ("metric_without_value", "not a sample line"),
    ("m{a=b} 1", "bad label"),
    ("m 12abc", "bad number"),
    ("# TYPE m blob", "unknown metric type"),
])
def test_a_malformed_page_names_the_line(line: str, problem: str) -> None:
    with pytest.raises(metrics.ExpositionError, match=problem) as caught:
        metrics.parse("ok 1\n" + line + "\n")
    assert caught.value.line_number == 2 and "Hint:" in str(caught.value)


def _client(handler: httpx.MockTransport) -> httpx.Client:
    return httpx.Client(transport=handler)


def test_scrape_reads_a_page_over_http() -> None:
    client = _client(httpx.MockTransport(lambda request: httpx.Response(200, text=PAGE)))
    assert metrics.scrape("http://queen/metrics", 5, client).value("queen_queue_depth") == 0


def test_scrape_of_an_error_page_fails_with_the_status() -> None:
    client = _client(httpx.MockTransport(lambda request: httpx.Response(404, text="nope")))
    with pytest.raises(VerificationFailed, match="answered 404"):
        metrics.scrape("http://queen/metrics", 5, client)


def test_scrape_without_an_answer_is_a_request_failure() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(RequestFailed, match="ConnectError"):
        metrics.scrape("http://queen/metrics", 5, _client(httpx.MockTransport(refuse)))
