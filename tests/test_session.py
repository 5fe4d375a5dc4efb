"""Session bookkeeping without Docker: env tags, interpolation, cleanups in reverse, every one."""

from __future__ import annotations

import io
import signal
from pathlib import Path

import pytest

from harness.env.config import Settings
from harness.env.lifecycle import project_name
from harness.errors import ConfigError, FaultError, HarnessError
from harness.run.interrupts import InterruptOnce
from harness.run.session import Environments, Session, env_tag


def make_session(tmp_path: Path) -> Session:
    settings = Settings(root=tmp_path)
    return Session(settings, Environments(settings, "run", {}))


def test_env_tag_last_wins() -> None:
    assert env_tag(["integration", "env.minimal", "env.full-stack"]) == "full-stack"
    assert env_tag(["integration"]) is None


def test_project_names_are_valid_and_unique_per_instance() -> None:
    a = project_name("Full Stack!", "20261122-085350-e301b3")
    b = project_name("Full Stack!", "20261122-085350-e301b3", instance=1)
    assert a != b and a == a.lower() and all(ch.isalnum() or ch == "-" for ch in a)


def test_interpolation_uses_remembered_values_and_fails_clearly(tmp_path: Path) -> None:
    session = make_session(tmp_path)
    session.remember("job_id", "j-1")
    assert session.interpolate('/v1/jobs/{job_id} {"a": {"n": {job_id}}}') == '/v1/jobs/j-1 {"a": {"n": j-1}}'
    with pytest.raises(HarnessError, match="nothing remembered as 'other'"):
        session.interpolate("{other}")
    assert session.interpolate(r"echo $\{HOME} \{job_id} {job_id}") == "echo ${HOME} {job_id} j-1"


def test_cleanups_run_in_reverse_and_every_one_is_attempted(tmp_path: Path) -> None:
    session = make_session(tmp_path)
    order: list[str] = []

    def fail() -> None:
        order.append("b")
        raise RuntimeError("cannot reconnect")

    session.cleanup(lambda: order.append("a"), "a")
    session.cleanup(fail, "b")
    session.cleanup(lambda: order.append("c"), "c")
    with pytest.raises(FaultError, match="b: RuntimeError: cannot reconnect"):
        session.end_scenario()
    assert order == ["c", "b", "a"] and not session.cleanups


def test_no_environment_gives_a_hint(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="@env"):
        _ = make_session(tmp_path).env


def test_start_refuses_a_mistyped_userdata_key_before_touching_docker(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "e.yaml").write_text("description: x\ntemplate: t.j2\nparameters: {hives: 2}\n")
    swept: list[str] = []
    monkeypatch.setattr(Session, "sweep", lambda self: swept.append("sweep"))
    with pytest.raises(ConfigError) as err:
        Session.start({"root": str(tmp_path), "hivez": "3"})
    assert err.value.key == "hivez" and "did you mean hives" in str(err.value) and not swept


def test_start_accepts_settings_and_any_environment_parameter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "e.yaml").write_text("description: x\ntemplate: t.j2\nparameters: {hives: 2}\n")
    monkeypatch.setattr(Session, "sweep", lambda self: None)
    monkeypatch.setattr("harness.run.session.interrupt_once", lambda pid: None)
    monkeypatch.setattr("harness.run.session.atexit.register", lambda fn: fn)
    session = Session.start({"root": str(tmp_path), "hives": "3", "run_id": "r1", "http_timeout": "5"})
    assert session.environments.run_id == "r1" and session.userdata["hives"] == "3"


class _Feature:
    def __init__(self, tags: list[str], scenario_tags: list[list[str]] = ()) -> None:  # type: ignore[assignment]
        self.tags = tags
        self._scenarios = [type("S", (), {"tags": t})() for t in scenario_tags]

    def walk_scenarios(self) -> list[object]:
        return self._scenarios


class _Env:
    def __init__(self) -> None:
        self.downs = 0
        self.project = "p"

    def down(self) -> None:
        self.downs += 1


def test_an_environment_no_later_feature_needs_is_taken_down(tmp_path: Path) -> None:
    from harness.run.session import Environments, environments_from

    features = [_Feature(["env.a"]), _Feature(["env.b"]), _Feature([], [["env.c"]]), _Feature([])]
    assert environments_from(features, features[1]) == {"b", "c"}
    assert environments_from(features, features[3]) == set()
    envs = Environments(Settings(root=tmp_path), "r", {})
    a, b = _Env(), _Env()
    envs.shared, envs.live = {"a": a, "b": b}, [a, b]  # type: ignore[dict-item,list-item]
    envs.release(environments_from(features, features[1]))
    assert envs.shared == {"b": b} and envs.live == [b]  # forgotten at once, taken down on a thread
    assert envs.close() == []
    assert (a.downs, b.downs) == (1, 1)


def test_close_takes_every_environment_down_at_once_and_reports_every_error(tmp_path: Path) -> None:
    import threading

    from harness.errors import HarnessError
    from harness.run.session import Environments

    both_down = threading.Barrier(2, timeout=5)  # each down waits for the other: they must run at once

    class Slow(_Env):
        def __init__(self, fail: bool) -> None:
            super().__init__()
            self.fail, self.project = fail, f"p-{fail}"

        def down(self) -> None:
            both_down.wait()
            super().down()
            if self.fail:
                raise HarnessError("compose down failed")

    envs = Environments(Settings(root=tmp_path), "r", {})
    good, bad = Slow(False), Slow(True)
    envs.shared, envs.live = {"a": good, "b": bad}, [good, bad]  # type: ignore[dict-item,list-item]
    assert envs.close() == ["p-True: compose down failed"]
    assert (good.downs, bad.downs) == (1, 1) and envs.live == [] and envs.shared == {}


def test_a_second_interrupt_during_teardown_is_reported_not_raised() -> None:
    stream = io.StringIO()
    handler = InterruptOnce(pid=42, stream=stream)
    with pytest.raises(KeyboardInterrupt):
        handler(signal.SIGINT, None)
    handler(signal.SIGINT, None)  # the teardown the first one started goes on
    handler(signal.SIGTERM, None)
    assert stream.getvalue().count("already stopping") == 2 and "kill -9 42" in stream.getvalue()


class _Stopped:
    """An observed container that exited (what env.refresh() gives after the engine restarted)."""

    def __init__(self, service: str) -> None:
        self.service, self.state, self.exit_code = service, "exited", 0


class _DeadEnv(_Env):
    """An environment whose every container stopped during the scenario."""

    up = True
    name = "tiny"

    def __init__(self) -> None:
        super().__init__()
        self.readiness = type("R", (), {"finished": staticmethod(lambda observed: False)})()

    def refresh(self) -> list[_Stopped]:
        return [_Stopped("web"), _Stopped("db")]


@pytest.mark.parametrize("passed", [False, True])
def test_a_stack_that_stopped_is_blamed_on_the_engine_only_when_the_scenario_failed(tmp_path: Path,
                                                                                    passed: bool) -> None:
    from harness.errors import EnvironmentStopped

    session = make_session(tmp_path)
    dead = _DeadEnv()
    session._env = dead  # type: ignore[assignment]
    stopped: list[object] = []
    session.environments.stop = stopped.append  # type: ignore[method-assign]
    if passed:  # a product's own shutdown (the scenario meant it): no error
        session.end_scenario("features/x.feature:3: shutdown", passed=True)
    else:
        with pytest.raises(EnvironmentStopped) as caught:
            session.end_scenario("features/x.feature:3: request", passed=False)
        assert "web: exited (0)" in str(caught.value) and stopped == [dead]


class _Shared(_Env):
    """A shared environment that records the trust each health check before a scenario was given."""

    name = "tiny"

    def __init__(self, run_dir: Path) -> None:
        super().__init__()
        from harness.env.spec import Timeouts

        self.spec = type("Spec", (), {"timeouts": Timeouts(recheck=0.7, settle=3)})()
        self.run_dir = run_dir
        self.checks: list[tuple[float, float]] = []

    def settle(self, within: float, trust_within: float = 0.0) -> list[str]:
        self.checks.append((within, trust_within))
        return []


class _OneFault:
    """The fault stack of a scenario that injected one fault (nothing to revert here)."""

    timeline = type("T", (), {"__len__": lambda self: 1, "entries": lambda self, scenario: []})()

    def revert_all(self) -> None:
        pass


def test_only_a_clean_pass_lets_the_next_scenario_trust_recent_probes(tmp_path: Path) -> None:
    session = make_session(tmp_path)
    env = _Shared(tmp_path)
    session.environments.shared = {"tiny": env}  # type: ignore[dict-item]

    def next_scenario_trust() -> float:
        env.checks.clear()
        session.begin_scenario("tiny", False)
        assert session.current_env is env
        return [trust for within, trust in env.checks if within == 3][0]

    assert next_scenario_trust() == 0.0  # the first scenario: nothing before it
    session.end_scenario("a", passed=True)
    assert next_scenario_trust() == 0.7  # after a clean pass: timeouts.recheck
    session.end_scenario("b", passed=False)
    assert next_scenario_trust() == 0.0  # after a failure
    session._extensions["faults"] = _OneFault()
    session.end_scenario("c", passed=True)
    assert next_scenario_trust() == 0.0  # after a faulted pass
    session.end_scenario("d", passed=True)
    assert next_scenario_trust() == 0.7
    session.cleanup(lambda: None if 1 / 0 else None, "a broken cleanup")
    with pytest.raises(FaultError):
        session.end_scenario("e", passed=True)
    assert next_scenario_trust() == 0.0  # after a failed cleanup
