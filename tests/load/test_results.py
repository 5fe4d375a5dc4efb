"""Summaries drawn from records: rates, counts, tables, timeline, API surface."""

from __future__ import annotations

import math

import harness.load
from harness.load import LoadResult, format_table


def _result() -> LoadResult:
    nan = math.nan
    raw = [
        (0, 0, 0.0, 0.0, 0.010, nan, 200, "ok", None, "j1"),
        (0, 1, 0.1, 0.1, 0.120, nan, 200, "ok", None, "j2"),
        (1, 2, 0.5, 0.6, 1.500, nan, 503, "fail", None, None),
        (1, 3, 1.2, 1.2, 1.900, nan, 0, "info", "timeout", None),
    ]
    return LoadResult(mode="open", method="GET", url="http://127.0.0.1/x", users=2, started_at=1e9,
                      elapsed=2.0, raw=raw, planned=5, rate=2.5)  # type: ignore[arg-type]


def test_counts_rates_and_ids() -> None:
    result = _result()
    assert (result.count, result.ok_count, result.unsent) == (4, 2, 1)
    assert result.success_rate == 0.5 and result.throughput == 2.0 and result.ok_throughput == 1.0
    assert result.status_counts == {0: 1, 200: 2, 503: 1}
    assert result.error_counts == {"timeout": 1}
    assert result.outcomes == {"ok": 2, "fail": 1, "info": 1}
    assert result.ids == ["j1", "j2"]


def test_latency_counts_from_intended_and_service_time_from_actual_start() -> None:
    record = _result().records()[2]
    assert math.isclose(record.latency, 1.0) and math.isclose(record.service_time, 0.9)
    assert record.time_to_first_event is None
    assert math.isclose(_result().percentiles()["max"], 1.0, rel_tol=1e-6)


def test_timeline_groups_by_completion_second() -> None:
    timeline = _result().timeline
    assert [(s.second, s.completed, s.ok, s.not_ok) for s in timeline] == [(0, 2, 2, 0), (1, 2, 0, 2)]


def test_history_uses_wall_clock_times() -> None:
    ops = _result().history().operations()
    assert ops[0].invoked == 1e9 and [op.outcome for op in ops] == ["ok", "ok", "fail", "info"]


def test_format_table_is_markdown_with_percentiles() -> None:
    table = _result().format_table("ours")
    lines = table.splitlines()
    assert lines[0].startswith("| run | requests | ok % | req/s | p50 ms")
    assert "p99.9 ms" in lines[0] and lines[1].startswith("|---|")
    assert lines[2].startswith("| ours | 4 | 50.00 | 2 |")
    assert len(format_table({"a": _result(), "b": _result()}).splitlines()) == 4


def test_summary_is_json_ready() -> None:
    import json

    summary = _result().summary()
    assert json.loads(json.dumps(summary))["latency_ms"]["max"] == 1000.0


def test_public_names_are_sorted_and_importable() -> None:
    assert harness.load.__all__ == sorted(harness.load.__all__)
    for name in harness.load.__all__:
        assert hasattr(harness.load, name)
