"""Metrics steps: read a service's Prometheus page, remember a value, check how it moved.

A selector is a sample name with optional label matchers (=, !=, =~, !~), quotes inside escaped
or single: "queen_jobs_total{outcome=\"completed\"}" or "queen_jobs_total{outcome='completed'}".
Its value is the sum of the samples it matches (harness.clients.metrics); a labelled series not yet on the
page counts 0, an unknown metric name fails. The page is GET <service>/metrics (-D metrics_path=…).

    When I read the metric "queen_jobs_total{outcome='completed'}" on "queen" as "before"
    Then the metric "queen_jobs_total{outcome='completed'}" on "queen" rose by 3 since "before"

Every step here scrapes the page (an action) and verifies through harness.expect that the metric
exists; the checks then compare its value.
"""

from __future__ import annotations

import math
from typing import Any

from behave import register_type, step, use_step_matcher
from parse import with_pattern

from harness import expect
from harness.clients import metrics
from harness.clients.http import STEP_TYPES, HttpSettings

use_step_matcher("parse")

EXAMPLE = """
Scenario: a completed job is counted
  When I read the metric "queen_jobs_total{outcome='completed'}" on "queen" as "before"
  And I send a POST request to "/v1/inference" on "queen" as tenant "acme" with JSON:
    \"\"\"
    {"model": "tiny-llama", "prompt": "hello"}
    \"\"\"
  Then within 10 seconds:
    \"\"\"
    Then the metric "queen_jobs_total{outcome='completed'}" on "queen" rose by 1 since "before"
    \"\"\"
"""  # a worked example, shown in docs/steps.md (checked: every step exists)


@with_pattern(r'(?:[^"\\]|\\.)+')
def _selector(text: str) -> str:
    """A Prometheus series: a metric name with optional labels (\\" for a quote inside).

    Grammar: NAME[{LABEL="VALUE", ...}]
    Example: http_requests_total{status=\\"200\\"}
    """
    return text.replace('\\"', '"')


register_type(**STEP_TYPES, Selector=_selector)


@step('I read the metric "{selector:Selector}" on "{service:Quoted}" as "{name:Quoted}"')
def read_metric(context: Any, selector: str, service: str, name: str) -> None:
    """Scrape SERVICE's metrics and remember the value of SELECTOR (its samples summed) as {NAME}.

    Example: When I read the metric "queen_jobs_total{outcome='completed'}" on "queen" as "before"
    """
    context.harness.remember(name, _value(context, selector, service))


@step('the metric "{selector:Selector}" on "{service:Quoted}" rose by {delta:Number} since "{name:Quoted}"')
def rose_by(context: Any, selector: str, service: str, delta: float, name: str) -> None:
    """Check that SELECTOR's value on SERVICE is exactly DELTA above the value remembered as NAME.

    Example: Then the metric "queen_jobs_total{outcome='completed'}" on "queen" rose by 3 since "before"
    """
    before = float(context.harness.recall(name))
    now = _value(context, selector, service)
    expect.that(math.isclose(now - before, delta, abs_tol=1e-9),
                f"{selector} on {service} rose by {now - before:g} ({before:g} -> {now:g}) since {name!r}, "
                f"expected by {delta:g}")


@step('the metric "{selector:Selector}" on "{service:Quoted}" equals {value:Number}')
def metric_equals(context: Any, selector: str, service: str, value: float) -> None:
    """Check SELECTOR's value (its samples summed) on SERVICE.

    Example: Then the metric "queen_workers{state='ready'}" on "queen" equals 4
    """
    now = _value(context, selector, service)
    expect.that(math.isclose(now, value, abs_tol=1e-9), f"{selector} on {service} is {now:g}, expected {value:g}")


@step('the metric "{selector:Selector}" on "{service:Quoted}" is at least {value:Number}')
def metric_at_least(context: Any, selector: str, service: str, value: float) -> None:
    """Check that SELECTOR's value (its samples summed) on SERVICE is VALUE or more.

    Example: Then the metric "queen_http_requests_total" on "queen" is at least 1
    """
    expect.at_least(_value(context, selector, service), value, f"{selector} on {service}")


def _value(context: Any, text: str, service: str) -> float:
    session, selector = context.harness, metrics.Selector.parse(text)
    url = session.env.url(service).rstrip("/") + session.userdata.get("metrics_path", "/metrics")
    expect.drove(f"scrape {url}")
    page = metrics.scrape(url, HttpSettings.build(session.userdata).request)
    expect.that(page.knows(selector.name), f"{url} has no metric {selector.name!r}")
    return page.value(selector)
