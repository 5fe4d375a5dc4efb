"""Where load may go and how big a run may be."""

from __future__ import annotations

import pytest

from harness.errors import LoadError
from harness.load import Limits, RequestSpec, check_target, is_2xx


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/x", "http://127.5.6.7/", "http://localhost:1/",
                                 "http://[::1]:8080/", "https://127.0.0.1/"])
def test_loopback_targets_are_allowed(url: str) -> None:
    check_target(url)


def test_project_networks_are_allowed_only_when_named() -> None:
    check_target("http://172.18.0.5:8000/", ["172.18.0.0/16"])
    with pytest.raises(LoadError, match="docker networks"):
        check_target("http://172.19.0.5:8000/", ["172.18.0.0/16"])


@pytest.mark.parametrize("url", ["http://192.168.1.1/", "http://1.1.1.1/", "http://queen:8000/",
                                 "http://0.0.0.0/", "file:///etc/passwd"])
def test_everything_else_is_refused(url: str) -> None:
    with pytest.raises(LoadError, match="Hint:"):
        check_target(url)


@pytest.mark.parametrize(("count", "duration", "users"), [(None, None, 1), (0, None, 1), (None, -1.0, 1),
                                                          (None, 1e9, 1), (10, None, 0)])
def test_limits_refuse_unbounded_or_oversized_runs(count: int | None, duration: float | None,
                                                   users: int) -> None:
    with pytest.raises(LoadError):
        Limits().check_run(count=count, duration=duration, users=users)


def test_spec_defaults_and_helpers() -> None:
    spec = RequestSpec("http://127.0.0.1/", json={"a": 1}, id_key="data.job_id")
    assert spec.method == "GET" and spec.ok is is_2xx and not spec.stream
    assert spec.static_body() == b'{"a": 1}'
    assert spec.id_path() == ("data", "job_id")
    assert RequestSpec("http://127.0.0.1/", json=lambda u, s: {}).static_body() is None
    assert is_2xx(204) and not is_2xx(301)
    with pytest.raises(LoadError):
        RequestSpec("http://127.0.0.1/", timeout=0)


def test_a_202_is_not_a_success_unless_the_target_says_so() -> None:
    from harness.load.target import LoadTarget, inference_target

    assert not LoadTarget("queen", "/x").succeeded(202) and LoadTarget("queen", "/x").succeeded(204)
    assert LoadTarget("queen", "/x", ok_statuses=(202,)).succeeded(202)
    sync, asynchronous = inference_target({}), inference_target({}, asynchronous=True)
    assert sync.succeeded(200) and not sync.succeeded(202)
    assert asynchronous.succeeded(202) and not asynchronous.succeeded(200)
    assert asynchronous.body is not None and asynchronous.body.render(0, 0, "r")["async"] is True
