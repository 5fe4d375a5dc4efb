"""Session bookkeeping without Docker: env tags, interpolation, cleanups in reverse, every one."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import Settings
from harness.errors import FaultError, HarnessError
from harness.lifecycle import project_name
from harness.session import Environments, Session, env_tag


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
