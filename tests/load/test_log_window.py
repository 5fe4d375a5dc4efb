"""Log steps read only the lines since the scenario started (harness.stepdefs.env_steps.since)."""

from __future__ import annotations

from harness.stepdefs.env_steps import since

LOGS = ("queen-1  | 2026-11-30T18:15:06.762230351Z {\"event\": \"job_completed\", \"job_id\": \"old\"}\n"
        "queen-1  | 2026-11-30T18:15:09.100000000Z {\"event\": \"job_recovered\", \"job_id\": \"new\"}\n")
T = 1796062508.0  # 2026-11-30T18:15:08Z


def test_lines_before_the_scenario_start_are_left_out() -> None:
    kept = since(LOGS, T)
    assert "job_recovered" in kept and "\"old\"" not in kept
    assert kept.startswith("queen-1  | {\"event\"")


def test_everything_is_kept_from_an_earlier_start_and_nothing_from_a_later_one() -> None:
    assert since(LOGS, T - 10).count("\n") == 2
    assert since(LOGS, T + 10) == ""
