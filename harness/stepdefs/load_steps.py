"""Load steps: drive a service with many clients or a steady rate, then check what came back.

Without a 'load target' step, requests are the reference stack's POST /v1/inference on
"queen" (unique prompts, a tenant token per client, ids from "job_id", jobs looked up at
GET /v1/jobs/{id}). Another stack sets its own target; a body template may use {client},
{seq} and {run} (filled in per request) and {name} (remembered values):

    Given the load target is POST "/v1/orders" on "api" as a tenant per client with JSON:
    Given load responses carry the job id at "order.id"
    Given accepted jobs are looked up at "/v1/orders/{id}" until "status" is "shipped"

Drivers (act, check nothing): the 'When ... clients each send/stream ...', 'When requests arrive
at ...', 'When steady load ... runs in the background ...' and 'When I note the memory ...' steps,
and the 'Given' target steps (which check the service exists). Every 'Then' verifies through
harness.expect; 'Then the load results are printed' prints the latency table and checks that a
run with completed requests exists. Checks apply to the scenario's latest finished run.
"""

from __future__ import annotations

from typing import Any

from behave import register_type, step, use_step_matcher
from parse import with_pattern

from harness import expect
from harness.clients.http import STEP_TYPES
from harness.load import checks, memory
from harness.load.scenario import load_state
from harness.load.target import ClientAuth, JobLookup, inference_target

use_step_matcher("parse")

EXAMPLE = """
Scenario: latency under a closed-loop load
  Given the load target is POST "/v1/inference" on "queen" as a tenant per client with JSON:
    \"\"\"
    {"model": "tiny-llama", "prompt": "hello"}
    \"\"\"
  When 50 clients each send 2 inference requests concurrently
  Then at least 99% succeed
  And the p99 latency is below 2000 ms
"""  # a worked example, shown in docs/steps.md (checked: every step exists)


@with_pattern(r"(?:inference )?requests?")
def _requests(text: str) -> str:
    """What each load client sends: the load target's request (inference: jobs looked up until done).

    Grammar: request | requests | inference request | inference requests
    Example: inference requests
    """
    return text


@with_pattern(r"min|p50|p90|p95|p99\.9|p99|max")
def _percentile(text: str) -> str:
    """A latency percentile of the last load run.

    Grammar: min | p50 | p90 | p95 | p99 | p99.9 | max
    Example: p99
    """
    return text


@with_pattern(r'(?: as a tenant per client| as tenant "[^"]*")?')
def _load_auth(text: str) -> ClientAuth:
    """As whom the load clients send (nothing: no credentials).

    Grammar: [ as a tenant per client | as tenant "T"]
    Example: as a tenant per client
    """
    if text == " as a tenant per client":
        return ClientAuth("per-client")
    return ClientAuth("tenant", text.split('"')[1]) if text else ClientAuth()


register_type(**STEP_TYPES, Requests=_requests, Percentile=_percentile, LoadAuth=_load_auth)


# -- the target (Given) --------------------------------------------------------------------------

@step('the load target is {method:HttpMethod} "{path:Quoted}" on "{service:Quoted}"{auth:LoadAuth} with JSON:')
def target_with_body(context: Any, method: str, path: str, service: str, auth: ClientAuth) -> None:
    """Send load to SERVICE's PATH with a JSON body template ({client}, {seq}, {run} per request).

    Example: Given the load target is POST "/v1/inference" on "queen" as a tenant per client with JSON:
    """
    target = load_state(context.harness).set_target(method, path, service, context.text or "", auth)
    expect.contains(sorted(context.harness.env.services), target.service, "the environment's services")


@step('the load target is {method:HttpMethod} "{path:Quoted}" on "{service:Quoted}"{auth:LoadAuth}')
def target_without_body(context: Any, method: str, path: str, service: str, auth: ClientAuth) -> None:
    """Send load to SERVICE's PATH without a body.

    Example: Given the load target is GET "/health" on "queen"
    """
    target = load_state(context.harness).set_target(method, path, service, None, auth)
    expect.contains(sorted(context.harness.env.services), target.service, "the environment's services")


@step('load responses carry the job id at "{path:Quoted}"')
def target_id(context: Any, path: str) -> None:
    """Take each successful response's job id from PATH (dotted) for the id and job checks.

    Example: Given load responses carry the job id at "job_id"
    """
    expect.drove(f"load ids at {path!r}")
    load_state(context.harness).update_target(id_key=path)


@step("load requests succeed with status {code:d}")
def target_success(context: Any, code: int) -> None:
    """Count only status CODE as a success (by default any 2xx but 202: accepted is not done).

    Example: Given load requests succeed with status 202
    """
    expect.drove(f"load success = HTTP {code}")
    load_state(context.harness).update_target(ok_statuses=(code,))


@step("the load sends asynchronous inference requests")
def target_async(context: Any) -> None:
    """The reference stack's inference with "async": true: success is 202, each job is looked up later.

    Example: Given the load sends asynchronous inference requests
    """
    expect.drove("asynchronous inference load")
    state = load_state(context.harness)
    state.target = inference_target(context.harness.env.params, asynchronous=True)


@step('accepted jobs are looked up at "{path:Quoted}" until "{key:Quoted}" is "{value:Quoted}"')
def target_lookup(context: Any, path: str, key: str, value: str) -> None:
    """Look accepted jobs up at PATH ({id}) with their client's token until KEY is VALUE.

    Example: Given accepted jobs are looked up at "/v1/jobs/{id}" until "state" is "completed"
    """
    expect.contains(path, "{id}", "the lookup path")
    load_state(context.harness).lookup = JobLookup(path=path, state_key=key, done=value)


# -- driving (When) ------------------------------------------------------------------------------

@step("{clients:d} clients each send {count:d} {what:Requests} concurrently")
def closed_loop(context: Any, clients: int, count: int, what: str) -> None:
    """Closed loop: CLIENTS clients, each with its own token, send COUNT requests back to back.

    Example: When 100 clients each send 1 inference request concurrently
    """
    expect.drove(f"{clients} clients x {count} requests")
    load_state(context.harness).run_clients(clients, count)


@step("{clients:d} clients each send {count:d} {what:Requests} concurrently with {ms:Number} ms think time")
def closed_loop_thinking(context: Any, clients: int, count: int, what: str, ms: float) -> None:
    """Closed loop with a pause after each request (an agent: ask, work, post the result).

    Example: When 119 clients each send 2 inference requests concurrently with 100 ms think time
    """
    expect.drove(f"{clients} clients x {count} requests, {ms:g} ms think time")
    load_state(context.harness).run_clients(clients, count, think_ms=ms)


@step("{clients:d} clients each stream {count:d} {what:Requests} concurrently")
def closed_loop_streams(context: Any, clients: int, count: int, what: str) -> None:
    """Closed loop of streamed (SSE) requests: records the time to the first event.

    Example: When 50 clients each stream 2 inference requests concurrently
    """
    expect.drove(f"{clients} clients x {count} streams")
    load_state(context.harness).run_clients(clients, count, stream=True)


@step("requests arrive at {rate:Number} per second for {seconds:Number} seconds")
def open_loop(context: Any, rate: float, seconds: float) -> None:
    """Open loop: a constant arrival rate; latency counts from each intended send time.

    Example: When requests arrive at 100 per second for 10 seconds
    """
    expect.drove(f"{rate:g}/s for {seconds:g} s")
    load_state(context.harness).run_rate(rate, seconds)


@step("steady load of {rate:Number} requests per second runs in the background for {seconds:Number} seconds")
def background(context: Any, rate: float, seconds: float) -> None:
    """Start an open loop on a thread and go on; stopped at scenario end if still running.

    Example: When steady load of 20 requests per second runs in the background for 30 seconds
    """
    expect.drove(f"background {rate:g}/s for {seconds:g} s")
    load_state(context.harness).start_background(rate, seconds)


@step("a single request is timed {count:d} times as the baseline")
def baseline(context: Any, count: int) -> None:
    """One client sends COUNT requests back to back; their median latency is the scenario's baseline.

    Example: When a single request is timed 5 times as the baseline
    """
    expect.drove(f"baseline of {count} single requests")
    load_state(context.harness).measure_baseline(count)


@step('I note the memory of every service as "{name:Quoted}"')
def note_memory(context: Any, name: str) -> None:
    """Snapshot every running container's memory (like docker stats) under NAME.

    Example: When I note the memory of every service as "start"
    """
    expect.drove(f"memory snapshot {name}")
    load_state(context.harness).memory[name] = memory.snapshot(context.harness.env)


# -- checking (Then) -----------------------------------------------------------------------------

@step("the background load finished")
def background_finished(context: Any) -> None:
    """Wait for the background run; check it ran to its end with completed requests.

    Example: Then the background load finished
    """
    state = load_state(context.harness)
    result = state.finish_background()
    expect.that(state.background is not None and not state.background.stopped_early,
                "the background load was stopped before its end")
    checks.ran(result)


@step("at least {percent:Number}% succeed")
def success(context: Any, percent: float) -> None:
    """Check the share of requests that got a success status (2xx).

    Example: Then at least 95% succeed
    """
    checks.success_at_least(load_state(context.harness).last(), percent)


@step("the {name:Percentile} latency is below {ms:Number} ms")
def latency(context: Any, name: str, ms: float) -> None:
    """Check a latency percentile (p50, p90, p95, p99, p99.9, max) of the last run.

    Example: Then the p99 latency is below 500 ms
    """
    checks.latency_below(load_state(context.harness).last(), name, ms)


@step("the {name:Percentile} latency is within the baseline queued on {slots:d} slots plus {ms:Number} ms")
def latency_baseline(context: Any, name: str, slots: int, ms: float) -> None:
    """Bound a percentile by the baseline x ceil(clients in flight / SLOTS) + MS (clients sending at once).

    Example: Then the p99 latency is within the baseline queued on 16 slots plus 500 ms
    """
    state = load_state(context.harness)
    bound = checks.latency_within_baseline(state.last(), name, state.baseline, slots, ms)
    print(f"{name} bound: {bound * 1e3:.1f} ms")


@step("the {name:Percentile} latency is within {factor:Number} times the baseline plus {ms:Number} ms")
@step("the {name:Percentile} latency is within {factor:Number} times the baseline")
def latency_multiple(context: Any, name: str, factor: float, ms: float = 0.0) -> None:
    """Bound a percentile by FACTOR x the scenario's baseline + MS (a rate the stack should keep up with).

    Example: Then the p95 latency is within 2 times the baseline plus 50 ms
    """
    state = load_state(context.harness)
    bound = checks.latency_within_multiple(state.last(), name, state.baseline, factor, ms)
    print(f"{name} bound: {bound * 1e3:.1f} ms")


@step("the {name:Percentile} time to first event is within {factor:Number} times the baseline plus {ms:Number} ms")
@step("the {name:Percentile} time to first event is within {factor:Number} times the baseline")
def first_event_multiple(context: Any, name: str, factor: float, ms: float = 0.0) -> None:
    """Bound a time-to-first-event percentile by FACTOR x the baseline (one whole request) + MS.

    Example: Then the p50 time to first event is within 0.5 times the baseline
    """
    state = load_state(context.harness)
    bound = checks.first_event_within_multiple(state.last(), name, state.baseline, factor, ms)
    print(f"{name} time to first event bound: {bound * 1e3:.1f} ms")


@step("the {name:Percentile} time to first event is below {ms:Number} ms")
def first_event(context: Any, name: str, ms: float) -> None:
    """Check a percentile of the time to the first SSE event of streamed requests.

    Example: Then the p95 time to first event is below 200 ms
    """
    checks.first_event_below(load_state(context.harness).last(), name, ms)


@step("the throughput is at least {rate:Number} requests per second")
def throughput(context: Any, rate: float) -> None:
    """Check completed requests per second over the last run.

    Example: Then the throughput is at least 50 requests per second
    """
    checks.throughput_at_least(load_state(context.harness).last(), rate)


@step("the load run took less than {seconds:Number} seconds")
def took(context: Any, seconds: float) -> None:
    """Check that the last run's requests were all done within SECONDS of its start.

    Example: Then the load run took less than 30 seconds
    """
    checks.took_less_than(load_state(context.harness).last(), seconds)


@step("no job id is duplicated")
def unique_ids(context: Any) -> None:
    """Check that no job id came back twice (and that ids came back).

    Example: Then no job id is duplicated
    """
    checks.ids_unique(load_state(context.harness).last())


@step("every accepted job completes")
def jobs_complete(context: Any) -> None:
    """Look every acknowledged job up as its own tenant, until final; check each one is done.

    Example: Then every accepted job completes
    """
    state = load_state(context.harness)
    result = state.last()
    checks.jobs_complete(result, state.look_up_jobs(result), state.lookup)


@step("every accepted job completes within {seconds:Number} seconds")
def jobs_complete_within(context: Any, seconds: float) -> None:
    """Like 'every accepted job completes', and each finished within SECONDS of its request being sent.

    Example: Then every accepted job completes within 30 seconds
    """
    state = load_state(context.harness)
    result = state.last()
    checks.jobs_complete(result, state.look_up_jobs(result), state.lookup, within=seconds)


@step("at least {percent:Number}% of the accepted jobs complete within {seconds:Number} seconds")
def share_complete_within(context: Any, percent: float, seconds: float) -> None:
    """Look every acknowledged job up; PERCENT % completed within SECONDS of the send, none left unfinished.

    Example: Then at least 95% of the accepted jobs complete within 30 seconds
    """
    state = load_state(context.harness)
    result = state.last()
    checks.share_completes_within(result, state.look_up_jobs(result), state.lookup, percent, seconds)


@step("the load results are printed")
def report(context: Any) -> None:
    """Print every run's latency table into the scenario's output; check a run with requests exists.

    Example: Then the load results are printed
    """
    state = load_state(context.harness)
    checks.ran(state.last())
    for result in state.results:
        print(result.format_table(f"{result.mode} {result.extra.get('target', result.url)}"))
        print(checks.describe(result))


@step('no service\'s memory grew by more than {mb:Number} MB since "{name:Quoted}"')
def memory_growth(context: Any, mb: float, name: str) -> None:
    """Compare every container's memory now with the snapshot NAME.

    Example: Then no service's memory grew by more than 50 MB since "start"
    """
    state = load_state(context.harness)
    before = state.memory.get(name)
    expect.that(before is not None, f"no memory snapshot named {name!r}; taken: {sorted(state.memory)}")
    grown = checks.memory_growth_at_most(before or {}, memory.snapshot(context.harness.env), mb, name)
    print(f"memory growth since {name!r} (MB): " + ", ".join(f"{k} {v:+.1f}" for k, v in sorted(grown.items())))


@step("the {name:Percentile} latency is at least {ms:Number} ms")
def latency_at_least(context: Any, name: str, ms: float) -> None:
    """Check that a latency percentile of the latest load run reached MS (e.g. after adding latency).

    Example: Then the p99 latency is at least 300 ms
    """
    result = load_state(context.harness).last()
    values = result.percentiles()
    expect.that(result.count > 0 and name in values, f"no {name} in the last load run: {values}")
    value = values[name] * 1e3
    expect.that(value >= ms, f"{name} latency is {value:.1f} ms, below {ms:g} ms\n{result.format_table()}")


@step("the {name:Percentile} latency rose by at least {ms:Number} ms over the previous run")
def latency_rose(context: Any, name: str, ms: float) -> None:
    """Compare a latency percentile of the scenario's last two load runs (e.g. before and after a fault).

    Example: Then the p50 latency rose by at least 250 ms over the previous run
    """
    runs = load_state(context.harness).results
    expect.that(len(runs) >= 2, f"{len(runs)} load run(s) in this scenario; comparing needs two")
    before, after = (run.percentiles()[name] * 1e3 for run in runs[-2:])
    expect.that(after - before >= ms, f"{name} latency went from {before:.1f} ms to {after:.1f} ms, "
                                      f"a rise of {after - before:.1f} ms, not {ms:g} ms\n"
                                      f"{runs[-2].format_table()}\n{runs[-1].format_table()}")
