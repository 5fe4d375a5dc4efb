"""The load steps bound to a Session, against a fake queen on 127.0.0.1 (no Docker)."""

from __future__ import annotations

import runpy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from behave.step_registry import registry

from harness.env.config import Settings
from harness.errors import HarnessError, LoadError, VerificationFailed
from harness.load import scenario as load_scenario
from harness.load.scenario import load_state
from harness.run.session import Environments, Session
from tests.load.fake_queen import FakeQueen, serving
from tests.steps.kit import REPO, FakeContext, FakeEnv, run

USERDATA = {"load_lookup_within": "5", "load_lookup_interval": "0.05", "load_timeout": "5"}


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeQueen, str]]:
    queen = FakeQueen()
    with serving(queen) as url:
        yield queen, url


@pytest.fixture
def queen(fake: tuple[FakeQueen, str]) -> FakeQueen:
    fake[0].reset()
    return fake[0]


@pytest.fixture
def context(tmp_path: Path, fake: tuple[FakeQueen, str]) -> Iterator[FakeContext]:
    registry.clear()
    for name in ("http_steps", "load_steps"):
        runpy.run_path(str(REPO / "harness" / "stepdefs" / f"{name}.py"), run_name=f"load_test_steps.{name}")
    settings = Settings(root=tmp_path)
    session = Session(settings, Environments(settings, "run", {}), userdata=dict(USERDATA))
    session._env = FakeEnv(fake[1], services={"queen": None, "api": None})  # type: ignore[assignment]
    ctx = FakeContext(session)
    yield ctx
    session.end_scenario()


def state(context: FakeContext) -> load_scenario.LoadState:
    return load_state(context.harness)


# -- binding: tokens, prompts, ids ---------------------------------------------------------------

def test_each_client_has_its_own_tenant_token_and_every_prompt_is_unique(context: Any, queen: FakeQueen) -> None:
    verifications, actions = run(context, "When 5 clients each send 3 inference requests concurrently")
    assert (verifications, actions) == (0, 1)
    tenants = [tenant for tenant, _ in queen.seen.inferences]
    tag = state(context).run_tag
    assert sorted(set(tenants)) == [f"load-{tag}-{i}" for i in range(5)]
    assert all(tenants.count(t) == 3 for t in set(tenants))
    prompts = [body["prompt"] for _, body in queen.seen.inferences]
    assert len(set(prompts)) == 15 and all(tag in p for p in prompts)
    assert {body["model"] for _, body in queen.seen.inferences} == {"tinyllama"}
    result = state(context).last()
    assert len(result.ids) == 15 and len(set(result.ids)) == 15


def test_the_checks_pass_on_a_good_run_and_each_counts_a_verification(context: Any, queen: FakeQueen) -> None:
    run(context, "When 4 clients each send 2 inference requests concurrently with 10 ms think time")
    for line in ("Then at least 100% succeed", "Then no job id is duplicated", "Then the p99 latency is below 5000 ms",
                 "Then the p50 latency is below 5000 ms", "Then the load run took less than 30 seconds",
                 "Then the throughput is at least 1 requests per second", "Then the load results are printed"):
        verifications, actions = run(context, line)
        assert verifications >= 1 and actions == 0, line


def test_every_accepted_job_is_looked_up_with_its_own_clients_token(context: Any, queen: FakeQueen) -> None:
    run(context, "When 3 clients each send 2 inference requests concurrently")
    run(context, "Then every accepted job completes")
    owners = {job_id: job["tenant"] for job_id, job in queen.seen.jobs.items()}
    assert sorted(job_id for _, job_id in queen.seen.lookups) == sorted(owners)
    assert all(owners[job_id] == tenant for tenant, job_id in queen.seen.lookups)


def test_jobs_still_running_are_polled_until_they_complete(context: Any, queen: FakeQueen) -> None:
    queen.behaviour.running_lookups = 2
    run(context, "When 2 clients each send 1 inference request concurrently")
    run(context, "Then every accepted job completes within 30 seconds")
    assert len(queen.seen.lookups) == 6  # two "running" answers, then "completed", for each job


# -- failures say what was seen -------------------------------------------------------------------

def test_a_low_success_rate_fails_with_the_statuses_seen(context: Any, queen: FakeQueen) -> None:
    queen.behaviour.fail_every = 2
    run(context, "When 2 clients each send 5 inference requests concurrently")
    with pytest.raises(VerificationFailed, match=r"50\.00% of the requests succeeded, below 95%.*503: 5"):
        run(context, "Then at least 95% succeed")


def test_a_duplicated_id_is_named(context: Any, queen: FakeQueen) -> None:
    queen.behaviour.same_id = True
    run(context, "When 2 clients each send 2 inference requests concurrently")
    with pytest.raises(VerificationFailed, match="job id job-same returned 4 times"):
        run(context, "Then no job id is duplicated")


def test_lost_jobs_are_listed_with_what_the_lookup_answered(context: Any, queen: FakeQueen) -> None:
    queen.behaviour.lost = True
    run(context, "When 2 clients each send 1 inference request concurrently")
    lost = r"(?s)INVALID \(2 checked, 2 problems\).*never completed \(last seen: HTTP 404"
    with pytest.raises(VerificationFailed, match=lost):
        run(context, "Then every accepted job completes")


def test_a_slow_percentile_fails_with_the_latency_table(context: Any, queen: FakeQueen) -> None:
    queen.behaviour.delay = 0.02
    run(context, "When 2 clients each send 2 inference requests concurrently")
    with pytest.raises(VerificationFailed, match=r"(?s)p95 latency is \d+\.\d ms, not below 1 ms.*\| p50 ms \|"):
        run(context, "Then the p95 latency is below 1 ms")


def test_checks_before_any_run_say_how_to_start_one(context: Any) -> None:
    with pytest.raises(HarnessError, match="(?s)no load run has finished.*Hint: run one first"):
        run(context, "Then at least 95% succeed")


def test_streams_record_time_to_first_event_but_no_ids(context: Any, queen: FakeQueen) -> None:
    run(context, "When 3 clients each stream 2 inference requests concurrently")
    assert {body["stream"] for _, body in queen.seen.inferences} == {True}
    run(context, "Then the p99 time to first event is below 5000 ms")
    with pytest.raises(VerificationFailed, match="no job ids were recorded"):
        run(context, "Then no job id is duplicated")


def test_first_event_check_fails_when_nothing_was_streamed(context: Any, queen: FakeQueen) -> None:
    run(context, "When 1 clients each send 1 inference request concurrently")
    with pytest.raises(VerificationFailed, match="no streamed request got an event"):
        run(context, "Then the p50 time to first event is below 100 ms")


# -- another team's target -------------------------------------------------------------------------

def test_a_configured_target_fills_the_body_template_per_request(context: Any, queen: FakeQueen) -> None:
    context.harness.remember("sku", "A-17")
    run(context, '''Given the load target is POST "/orders" on "api" as tenant "acme" with JSON:
        """
        {"sku": "{sku}", "client": {client}, "n": {seq}, "run": "{run}"}
        """
    And load responses carry the job id at "order.id"
    When 2 clients each send 2 requests concurrently
    Then no job id is duplicated''')
    bodies = [body for _, body in queen.seen.inferences]
    assert {t for t, _ in queen.seen.inferences} == {"acme"}
    assert sorted(b["n"] for b in bodies) == [0, 1, 2, 3] and {b["client"] for b in bodies} == {0, 1}
    assert {b["sku"] for b in bodies} == {"A-17"} and {b["run"] for b in bodies} == {state(context).run_tag}
    assert all(job_id.startswith("order-") for job_id in state(context).last().ids)


def test_a_target_on_an_unknown_service_is_refused(context: Any) -> None:
    with pytest.raises(HarnessError, match="has no service 'nope'"):
        run(context, 'Given the load target is GET "/health" on "nope"')


def test_a_body_template_that_is_not_json_is_refused(context: Any) -> None:
    with pytest.raises(LoadError, match="not JSON once filled in"):
        run(context, '''Given the load target is POST "/orders" on "api" with JSON:
            """
            {"n": {seq
            """''')


# -- background load ---------------------------------------------------------------------------------

def test_background_load_runs_while_other_steps_go_on_then_is_checked(context: Any, queen: FakeQueen) -> None:
    run(context, "When steady load of 40 requests per second runs in the background for 0.5 seconds")
    assert state(context).background is not None and state(context).background.running
    with pytest.raises(HarnessError, match="background load is still running"):
        state(context).last()
    verifications, _ = run(context, "Then the background load finished")
    assert verifications >= 1
    run(context, "Then at least 100% succeed\nThen every accepted job completes")
    assert state(context).last().count == 20


def test_a_background_load_is_stopped_when_the_scenario_ends(context: Any, queen: FakeQueen) -> None:
    run(context, "When steady load of 20 requests per second runs in the background for 30 seconds")
    background = state(context).background
    assert background is not None
    time.sleep(0.2)
    started = time.monotonic()
    context.harness.end_scenario()
    assert time.monotonic() - started < 5
    assert not background.running and background.stopped_early
    time.sleep(0.1)  # a request already on the wire when the run stopped may still arrive
    sent = len(queen.seen.inferences)
    time.sleep(0.3)
    assert len(queen.seen.inferences) == sent  # no traffic after the scenario


def test_a_second_background_load_while_one_runs_is_refused(context: Any, queen: FakeQueen) -> None:
    run(context, "When steady load of 10 requests per second runs in the background for 5 seconds")
    with pytest.raises(LoadError, match="already running"):
        run(context, "When steady load of 10 requests per second runs in the background for 5 seconds")


def test_waiting_for_a_background_load_that_was_never_started_fails(context: Any) -> None:
    with pytest.raises(HarnessError, match="no background load was started"):
        run(context, "Then the background load finished")


# -- open loop and concurrency bounds -------------------------------------------------------------------

def test_open_loop_step_sends_at_the_rate_for_the_duration(context: Any, queen: FakeQueen) -> None:
    run(context, "When requests arrive at 50 per second for 0.4 seconds")
    result = state(context).last()
    assert result.mode == "open" and result.count == 20 and result.rate == 50


def test_open_loop_concurrency_follows_the_rate() -> None:
    assert load_scenario.in_flight(5) == 64
    assert load_scenario.in_flight(300) == 300
    assert load_scenario.in_flight(50_000) == load_scenario.MAX_IN_FLIGHT


def test_results_are_written_to_the_run_folder(context: Any, tmp_path: Path, queen: FakeQueen) -> None:
    context.harness.env.run_dir = tmp_path / "run"
    run(context, "When 1 clients each send 2 inference requests concurrently")
    written = list((tmp_path / "run" / "load").glob("*-closed.json"))
    assert len(written) == 1 and '"requests": 2' in written[0].read_text()


def test_a_latency_bound_from_the_scenario_baseline_passes_and_fails(context: Any, queen: FakeQueen) -> None:
    queen.behaviour.delay = 0.05
    run(context, "When a single request is timed 3 times as the baseline")
    assert load_state(context.harness).baseline == pytest.approx(0.05, abs=0.04)
    queen.behaviour.delay = 0.2  # slower than the baseline: the tight bound below must fail
    run(context, "When 8 clients each send 1 inference request concurrently")
    run(context, "Then the p99 latency is within the baseline queued on 8 slots plus 500 ms")
    with pytest.raises(VerificationFailed, match=r"not below .* ms \(baseline .* x ceil\(8 in flight / 64 slots\)"):
        run(context, "Then the p50 latency is within the baseline queued on 64 slots plus 0 ms")


def test_the_queued_bound_counts_clients_in_flight_and_refuses_an_open_loop(context: Any, queen: FakeQueen) -> None:
    queen.behaviour.delay = 0.05
    run(context, "When a single request is timed 3 times as the baseline")
    queen.behaviour.delay = 0.1  # slower than the baseline, so the tight bound fails whatever the noise
    run(context, "When 2 clients each send 4 inference requests concurrently")
    # 8 requests, but at most 2 in flight: one round of the baseline, not ceil(8 / 2) = 4
    with pytest.raises(VerificationFailed, match=r"ceil\(2 in flight / 2 slots\) \+ 0 ms"):
        run(context, "Then the max latency is within the baseline queued on 2 slots plus 0 ms")
    run(context, "When requests arrive at 20 per second for 0.3 seconds")
    with pytest.raises(VerificationFailed, match="the queued bound is for clients sending at once"):
        run(context, "Then the p99 latency is within the baseline queued on 16 slots plus 500 ms")


def test_a_latency_bound_as_a_multiple_of_the_baseline_passes_and_fails(context: Any, queen: FakeQueen) -> None:
    queen.behaviour.delay = 0.05
    run(context, "When a single request is timed 3 times as the baseline")
    run(context, "When requests arrive at 20 per second for 0.3 seconds")
    verifications, actions = run(context, "Then the p99 latency is within 3 times the baseline plus 100 ms")
    assert verifications >= 1 and actions == 0
    queen.behaviour.delay = 0.3  # six times slower than the baseline
    run(context, "When requests arrive at 20 per second for 0.3 seconds")
    with pytest.raises(VerificationFailed, match=r"p50 latency is .* not below .* \(2 x baseline .* \+ 0 ms\)"):
        run(context, "Then the p50 latency is within 2 times the baseline")


def test_a_buffered_stream_fails_the_first_event_bound_from_the_baseline(context: Any, queen: FakeQueen) -> None:
    queen.behaviour.delay = 0.1
    run(context, "When a single request is timed 3 times as the baseline")
    queen.behaviour.delay, queen.behaviour.stream_gap = 0.0, 0.1  # the first event at once, the rest later
    run(context, "When 2 clients each stream 2 inference requests concurrently")
    verifications, _ = run(context, "Then the p50 time to first event is within 0.5 times the baseline")
    assert verifications >= 1
    queen.behaviour.delay, queen.behaviour.stream_gap = 0.1, 0.0  # every event held until the answer is whole
    run(context, "When 2 clients each stream 2 inference requests concurrently")
    with pytest.raises(VerificationFailed, match="the stream is buffered"):
        run(context, "Then the p50 time to first event is within 0.5 times the baseline")


def test_a_bound_from_the_baseline_without_a_baseline_says_how_to_measure_one(context: Any, queen: FakeQueen) -> None:
    run(context, "When 2 clients each send 1 inference request concurrently")
    with pytest.raises(VerificationFailed, match="no baseline was measured"):
        run(context, "Then the p99 latency is within 2 times the baseline plus 10 ms")
