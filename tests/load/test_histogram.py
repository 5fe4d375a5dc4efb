"""The histogram against exact nearest-rank percentiles on known data."""

from __future__ import annotations

import math
import random

import pytest

from harness.errors import LoadError
from harness.load import Histogram

PS = (0.1, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0)
N = 100_000


def _exact(sorted_values: list[float], p: float) -> float:
    return sorted_values[max(1, math.ceil(p / 100 * len(sorted_values))) - 1]


def _samples(name: str) -> list[float]:
    rng = random.Random(name)
    draw = {
        # log-uniform over the whole promised range, 1 us .. 60 s
        "log-uniform": lambda: 10 ** rng.uniform(-6, math.log10(60)),
        "exponential": lambda: rng.expovariate(1 / 0.005),
        "lognormal": lambda: rng.lognormvariate(math.log(0.002), 1.0),
        "pareto": lambda: 0.0005 * rng.paretovariate(1.2),
        "bimodal": lambda: rng.gauss(0.001, 0.0001) if rng.random() < 0.9 else rng.gauss(0.2, 0.02),
        "uniform-us": lambda: rng.uniform(1e-6, 1e-3),
    }[name]
    return [min(60.0, max(1e-6, draw())) for _ in range(N)]


@pytest.mark.parametrize("name", ["log-uniform", "exponential", "lognormal", "pareto", "bimodal",
                                  "uniform-us"])
def test_percentiles_within_one_percent_of_exact(name: str) -> None:
    values = _samples(name)
    histogram = Histogram()
    histogram.record_many(values)
    values.sort()
    for p in PS:
        exact = _exact(values, p)
        got = histogram.percentile(p)
        assert abs(got - exact) <= 0.01 * exact, f"{name} p{p}: {got} vs exact {exact}"
    assert histogram.count == N
    assert histogram.min == pytest.approx(values[0], rel=1e-6, abs=1e-9)
    assert histogram.max == pytest.approx(values[-1], rel=1e-6, abs=1e-9)
    assert histogram.mean == pytest.approx(sum(values) / N, rel=1e-6)


@pytest.mark.parametrize("value", [1e-6, 1.5e-6, 1e-3, 0.123456, 1.0, 59.999, 60.0])
def test_single_values_round_trip_within_one_percent(value: float) -> None:
    histogram = Histogram()
    for _ in range(3):
        histogram.record(value)
    for p in (0.0, 50.0, 99.9, 100.0):
        assert histogram.percentile(p) == pytest.approx(value, rel=0.01)


def test_merge_equals_recording_everything_in_one() -> None:
    values = _samples("lognormal")
    one, left, right = Histogram(), Histogram(), Histogram()
    one.record_many(values)
    left.record_many(values[: N // 3])
    right.record_many(values[N // 3:])
    left.merge(right)
    assert left.counts == one.counts
    assert left.percentiles() == one.percentiles()
    assert (left.min, left.max, left.count) == (one.min, one.max, one.count)


def test_empty_histogram_reports_zero() -> None:
    histogram = Histogram()
    assert histogram.percentile(99) == 0.0
    assert (histogram.count, histogram.min, histogram.max, histogram.mean) == (0, 0.0, 0.0, 0.0)


def test_out_of_range_percentile_is_a_load_error() -> None:
    with pytest.raises(LoadError, match="Hint:"):
        Histogram().percentile(101)


def test_negative_and_huge_values_are_clamped_not_crashing() -> None:
    histogram = Histogram()
    histogram.record(-1.0)
    histogram.record(10_000.0)
    assert histogram.min == 0.0
    assert histogram.max > 4000  # clamped at the top bucket (73 min), not lost
