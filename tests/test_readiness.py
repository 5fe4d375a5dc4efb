"""Readiness without Docker: a fake project (`observe()`) and fake probes decide ready, unready or failed."""

from __future__ import annotations

import time

import pytest

from harness.env.probes import Observed, Probe, make_probe
from harness.env.readiness import Readiness, Service
from harness.env.spec import ProbeSpec, Timeouts
from harness.errors import ReadinessTimeout, ServiceExited, ServiceUnhealthy

FAST = Timeouts(ready=1.5, probe_interval=0.05)


def running(service: str, **kw: object) -> Observed:
    return Observed(service=service, name=f"p-{service}-1", id=f"id-{service}", state="running", **kw)  # type: ignore[arg-type]


def ok(target: Observed) -> str | None:
    return None


def never(target: Observed) -> str | None:
    return "connection refused"


class Engine:
    """A fake engine: what `observe` returns changes with the number of polls."""

    def __init__(self, *frames: list[Observed]) -> None:
        self.frames = list(frames)
        self.polls = 0

    def observe(self) -> list[Observed]:
        self.polls += 1
        return self.frames[min(self.polls, len(self.frames)) - 1]


def readiness(services: dict[str, Probe], engine: Engine,
              timeouts: Timeouts = FAST, ports: dict[str, int] | None = None) -> Readiness:
    table = {name: Service(name=name, port=(ports or {}).get(name, 80), probe=probe)
             for name, probe in services.items()}
    return Readiness(table, engine, timeouts=timeouts)


def done() -> bool:
    return True


def test_all_ready() -> None:
    check = readiness({"web": ok, "db": ok}, Engine([running("web"), running("db")]))
    check.await_ready(done)
    assert set(check.ready_at) == {"web", "db"} and check.problems() == []


def test_waits_for_up_to_finish_even_when_every_probe_answers() -> None:
    calls = iter([None, None, True])
    check = readiness({"web": ok}, Engine([running("web")]))
    check.await_ready(lambda: next(calls))
    assert "web" in check.ready_at


def test_a_service_that_exits_fails_fast() -> None:
    engine = Engine([running("web")], [running("web"), Observed("api", "p-api-1", "id-api", "exited", exit_code=3)])
    check = readiness({"web": ok, "api": never}, engine, Timeouts(ready=30, probe_interval=0.05))
    started = time.monotonic()
    with pytest.raises(ServiceExited) as err:
        check.await_ready(done)
    assert time.monotonic() - started < 2 and err.value.service == "api" and "exited" in str(err.value)


def test_unhealthy_fails_fast() -> None:
    engine = Engine([running("db", health="starting")], [running("db", health="unhealthy")])
    check = readiness({"db": never}, engine, Timeouts(ready=30, probe_interval=0.05))
    with pytest.raises(ServiceUnhealthy) as err:
        check.await_ready(done)
    assert err.value.service == "db" and "Hint:" in str(err.value)


def test_never_ready_times_out_within_the_configured_time() -> None:
    check = readiness({"web": ok, "mute": never}, Engine([running("web"), running("mute")]))
    started = time.monotonic()
    with pytest.raises(ReadinessTimeout) as err:
        check.await_ready(done, source="environments/x.yaml")
    elapsed = time.monotonic() - started
    assert FAST.ready <= elapsed < FAST.ready + 1.0
    assert err.value.service == "mute" and "connection refused" in str(err.value)
    assert "timeouts.ready` in environments/x.yaml" in str(err.value)


def test_a_one_shot_service_that_exits_0_is_fine() -> None:
    migrate = Observed("migrate", "p-migrate-1", "id-m", "exited", exit_code=0)
    check = readiness({"web": ok, "migrate": ok}, Engine([running("web"), migrate]), ports={"migrate": 0})
    check.services["migrate"].port = None
    check.await_ready(done)
    assert check.problems() == []


def test_a_one_shot_that_exited_before_its_first_probe_is_ready() -> None:
    """Regression: the real "running" probe says "state exited" for a one-shot that finished early."""
    migrate = Observed("migrate", "p-migrate-1", "id-m", "exited", exit_code=0)
    probe = make_probe(ProbeSpec(kind="running"), None, 1.0)
    check = readiness({"migrate": probe}, Engine([migrate]), ports={"migrate": 0})
    check.services["migrate"].port = None
    check.await_ready(done)
    assert "migrate" in check.ready_at


def test_a_one_shot_with_a_port_that_exits_0_is_a_failure() -> None:
    stopped = Observed("web", "p-web-1", "id-web", "exited", exit_code=0)
    check = readiness({"web": ok}, Engine([stopped]), Timeouts(ready=30, probe_interval=0.05))
    with pytest.raises(ServiceExited):
        check.await_ready(done)


def test_a_slow_probe_does_not_hold_up_the_others() -> None:
    def slow(target: Observed) -> str | None:
        time.sleep(1.0)
        return None

    check = readiness({"slow": slow, "fast": ok}, Engine([running("slow"), running("fast")]),
                      Timeouts(ready=10, probe_interval=0.05))
    started = time.time()
    check.await_ready(done)
    assert check.ready_at["fast"] - started < 0.5, "fast was seen ready while slow's probe still ran"
    assert check.ready_at["slow"] - started >= 1.0


def test_problems_name_what_is_wrong_and_settle_waits_until_it_passes() -> None:
    answers = iter(["503", "503", None])
    engine = Engine([running("web")])
    check = readiness({"web": lambda _t: next(answers, None), "gone": ok}, engine)
    assert sorted(check.problems()) == ["gone: no container", "web: 503"]
    del check.services["gone"]  # type: ignore[attr-defined]
    assert check.settle(within=2) == []
    assert engine.polls >= 3


def test_settle_returns_what_is_still_wrong() -> None:
    check = readiness({"web": never}, Engine([running("web")]))
    assert check.settle(within=0.3) == ["web: connection refused"]


def test_an_injected_explain_makes_the_error() -> None:
    made: list[str] = []

    def explain(cls, service, message, hint):  # type: ignore[no-untyped-def]
        made.append(service)
        return cls(message, service=service, project="proj", log_tail="boom", hint=hint)

    engine = Engine([Observed("api", "p-api-1", "id-api", "dead")])
    check = Readiness({"api": Service("api", 80, ok)}, engine, timeouts=FAST, explain=explain)
    with pytest.raises(ServiceExited) as err:
        check.await_ready(done)
    assert made == ["api"] and err.value.project == "proj" and "boom" in str(err.value)


class Counting:
    """A probe that passes and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, target: Observed) -> str | None:
        self.calls += 1
        return None


def test_a_recent_pass_on_the_same_container_is_trusted_and_anything_else_is_probed() -> None:
    probe = Counting()
    first = running("web", ports={80: 4000})
    engine = Engine([first])
    check = readiness({"web": probe}, engine)
    assert check.problems(trust_within=5) == [] and probe.calls == 1  # never passed yet: probed
    assert check.problems(trust_within=5) == [] and probe.calls == 1  # passed just now: trusted
    assert check.problems() == [] and probe.calls == 2  # no trust asked: probed
    assert engine.polls == 3  # the engine's list is read every time, trusted or not
    engine.frames = [[running("web", ports={80: 4001})]]  # the same container on new ports (restarted)
    assert check.problems(trust_within=5) == [] and probe.calls == 3
    engine.frames = [[Observed(service="web", name="p-web-2", id="id-web-2", state="running", ports={80: 4001})]]
    assert check.problems(trust_within=5) == [] and probe.calls == 4  # a new container
    time.sleep(0.06)
    assert check.problems(trust_within=0.05) == [] and probe.calls == 5  # the pass is older than the window


def test_a_failed_probe_is_never_trusted_and_a_stopped_container_is_reported_whatever_the_trust() -> None:
    answers = iter([None, "503", None])
    engine = Engine([running("web")])
    check = readiness({"web": lambda _t: next(answers)}, engine)
    assert check.problems() == []
    assert check.problems() == ["web: 503"]
    assert check.problems(trust_within=60) == []  # the failure wiped the pass: probed again (third answer)
    engine.frames = [[Observed(service="web", name="p-web-1", id="id-web", state="exited", exit_code=1)]]
    assert check.problems(trust_within=60) == ["web: exited"]


def test_settle_trusts_only_its_first_round() -> None:
    answers = iter([None])
    probe_calls: list[int] = []

    def probe(target: Observed) -> str | None:
        probe_calls.append(1)
        return next(answers, None)

    engine = Engine([running("web")])
    check = readiness({"web": probe, "db": ok}, engine)
    check.problems()
    del check.services["db"]  # type: ignore[attr-defined]
    engine.frames = [[Observed(service="web", name="x", id="id-web", state="restarting")], [running("web")]]
    engine.polls = 0
    assert check.settle(within=2, trust_within=60) == []
    assert engine.polls == 2 and len(probe_calls) == 2  # round 1: restarting; round 2 probes, trust spent
