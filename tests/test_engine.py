"""harness.engine.endpoint: which engine, local or not, where its published ports answer. No Docker needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.engine.compose import ComposeRunner
from harness.engine.endpoint import (
    DEFAULT_ENDPOINT,
    Engine,
    context_engine,
    current_engine,
    is_loopback,
    selected_context,
)
from harness.env.config import Settings
from harness.env.lifecycle import DETACHED, Environment
from harness.env.probes import HttpOk, Observed
from harness.env.render import RunLabels, decorate
from harness.env.spec import EnvironmentSpec
from harness.errors import DockerUnavailable
from harness.faults.netns import HelperRunner, NsenterRunner, default_runner
from tests.test_environment import FakeCompose, FakeDocker


def inspect_of(entries: dict[str, list[dict[str, Any]]]) -> Any:
    """A fake `docker context inspect NAME` over ``entries``; records the names asked."""
    asked: list[str] = []

    def inspect(name: str) -> list[dict[str, Any]]:
        asked.append(name)
        return entries.get(name, [])
    inspect.asked = asked  # type: ignore[attr-defined]
    return inspect


def context(name: str, host: str, tls_path: str = "", skip_verify: bool = False) -> list[dict[str, Any]]:
    return [{"Name": name, "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": skip_verify}},
             "Storage": {"MetadataPath": "/x", "TLSPath": tls_path}}]


# --- parsing endpoints ---------------------------------------------------------------------------

@pytest.mark.parametrize(("endpoint", "scheme", "hostname", "local"), [
    ("unix:///var/run/docker.sock", "unix", "", True),
    ("npipe:////./pipe/docker_engine", "npipe", "", True),
    ("tcp://10.1.2.3:2375", "tcp", "10.1.2.3", False),
    ("tcp://dockerhost.example:2376", "tcp", "dockerhost.example", False),
    ("tcp://127.0.0.1:2375", "tcp", "127.0.0.1", True),
    ("tcp://127.8.9.1:2375", "tcp", "127.8.9.1", True),
    ("tcp://localhost:2375", "tcp", "localhost", True),
    ("tcp://[::1]:2375", "tcp", "::1", True),
    ("ssh://deploy@build-7.example:22", "ssh", "build-7.example", False),
    ("ssh://user@192.168.5.9", "ssh", "192.168.5.9", False),
    ("ssh://me@localhost", "ssh", "localhost", True),
    ("10.0.0.7:2375", "tcp", "10.0.0.7", False),
])
def test_endpoints_are_parsed_into_scheme_host_and_locality(endpoint: str, scheme: str, hostname: str,
                                                            local: bool) -> None:
    engine = Engine(endpoint)
    assert (engine.scheme, engine.hostname, engine.local) == (scheme, hostname, local)


def test_a_local_engine_publishes_on_loopback_and_is_reached_there() -> None:
    engine = Engine("unix:///var/run/docker.sock")
    assert (engine.host, engine.publish_ip, engine.url(32768)) == ("127.0.0.1", "127.0.0.1", "http://127.0.0.1:32768")


def test_a_remote_engine_publishes_on_every_address_and_is_reached_at_its_host() -> None:
    engine = Engine("ssh://deploy@10.9.8.7:22", source="DOCKER_HOST")
    assert (engine.host, engine.publish_ip) == ("10.9.8.7", "0.0.0.0")
    assert engine.url(40001) == "http://10.9.8.7:40001"
    assert Engine("tcp://[fd00::5]:2375").url(8080, "ws") == "ws://[fd00::5]:8080"


def test_loopback_names_and_addresses() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"]))
    assert not any(map(is_loopback, ["10.0.0.1", "0.0.0.0", "example.com", ""]))


# --- which engine -------------------------------------------------------------------------------

def test_docker_host_wins_over_a_context(tmp_path: Path) -> None:
    inspect = inspect_of({"far": context("far", "tcp://10.0.0.2:2375")})
    engine = current_engine({"DOCKER_HOST": "tcp://10.0.0.1:2375", "DOCKER_CONTEXT": "far",
                             "HOME": str(tmp_path)}, inspect=inspect)
    assert engine == Engine("tcp://10.0.0.1:2375", source="DOCKER_HOST")
    assert inspect.asked == []
    assert engine.environ() == {"DOCKER_HOST": "tcp://10.0.0.1:2375"}


def test_without_docker_host_or_context_the_local_socket_is_used_without_asking_the_cli(tmp_path: Path) -> None:
    inspect = inspect_of({})
    engine = current_engine({"HOME": str(tmp_path)}, inspect=inspect)
    assert engine == Engine(DEFAULT_ENDPOINT) and engine.local and engine.environ() == {}
    assert inspect.asked == [], "no `docker context inspect` when no context is selected"


def test_the_context_named_by_docker_context_is_inspected(tmp_path: Path) -> None:
    inspect = inspect_of({"lab": context("lab", "ssh://ops@lab-3:22", tls_path="/ctx/tls", skip_verify=True)})
    engine = current_engine({"DOCKER_CONTEXT": "lab", "HOME": str(tmp_path)}, inspect=inspect)
    assert (engine.endpoint, engine.source, engine.context) == ("ssh://ops@lab-3:22", "context", "lab")
    assert (engine.tls_dir, engine.tls_verify) == ("/ctx/tls/docker", False)
    assert not engine.local and engine.host == "lab-3"
    assert engine.environ() == {"DOCKER_CONTEXT": "lab"}, "children are pinned to the same context"


def test_the_current_context_comes_from_the_cli_config(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "remote"}))
    assert selected_context({"DOCKER_CONFIG": str(tmp_path)}) == "remote"
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    (home / ".docker" / "config.json").write_text(json.dumps({"auths": {}}))
    assert selected_context({"HOME": str(home)}) == ""
    assert selected_context({"HOME": str(tmp_path / "nowhere")}) == ""
    inspect = inspect_of({"remote": context("remote", "tcp://172.30.0.4:2375")})
    engine = current_engine({"DOCKER_CONFIG": str(tmp_path)}, inspect=inspect)
    assert engine.endpoint == "tcp://172.30.0.4:2375" and engine.host == "172.30.0.4"


def test_the_default_context_is_the_local_socket(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "default"}))
    inspect = inspect_of({})
    assert current_engine({"DOCKER_CONFIG": str(tmp_path)}, inspect=inspect) == Engine(DEFAULT_ENDPOINT)
    assert inspect.asked == []


def test_a_context_on_a_local_socket_is_local() -> None:
    engine = context_engine("desktop", inspect_of({"desktop": context("desktop", "unix:///home/me/.docker/run/docker.sock")}))
    assert engine.local and engine.publish_ip == "127.0.0.1"


def test_an_unknown_context_is_an_error_with_a_hint() -> None:
    with pytest.raises(DockerUnavailable) as err:
        context_engine("gone", inspect_of({}))
    assert "'gone' does not exist" in str(err.value) and "docker context ls" in err.value.hint


def test_describe_names_the_endpoint_its_origin_and_locality() -> None:
    assert Engine("tcp://10.0.0.1:2375", source="DOCKER_HOST").describe() == \
        "tcp://10.0.0.1:2375 (DOCKER_HOST, remote)"
    assert "context 'lab', remote" in Engine("ssh://x@lab", source="context", context="lab").describe()


# --- what follows the engine ----------------------------------------------------------------------

def test_faults_enter_namespaces_with_nsenter_only_on_a_local_engine() -> None:
    remote = default_runner(Engine("tcp://10.0.0.1:2375", source="DOCKER_HOST"))
    assert isinstance(remote, HelperRunner) and remote.engine is not None and not remote.engine.local
    local = default_runner(Engine(DEFAULT_ENDPOINT))
    assert isinstance(local, (NsenterRunner, HelperRunner))  # nsenter when root with nsenter and iptables


def test_ports_are_published_on_the_engine_publish_ip() -> None:
    labels = RunLabels(run_id="r", env="e", owner=1, host="h", created="c")
    text = ("services:\n  web:\n    image: x\n    ports: ['8080:80', {target: 81, published: 9000}]\n"
            "  api:\n    image: y\n")
    remote = decorate(text, rendered_name="f", labels=labels, ports={"api": 8000}, host_ip="0.0.0.0")
    assert remote["services"]["web"]["ports"] == ["0.0.0.0::80", {"target": 81, "host_ip": "0.0.0.0"}]
    assert remote["services"]["api"]["ports"] == ["0.0.0.0::8000"]
    local = decorate(text, rendered_name="f", labels=labels, ports={"api": 8000})
    assert local["services"]["api"]["ports"] == ["127.0.0.1::8000"]


def test_probes_connect_to_the_host_the_container_was_observed_on(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, int]] = []

    class Connection:
        def __init__(self, host: str, port: int, timeout: float) -> None:
            seen.append((host, port))

        def request(self, *_: Any) -> None:
            raise OSError("refused")

        def close(self) -> None:
            pass

    monkeypatch.setattr("harness.env.probes.http.client.HTTPConnection", Connection)
    summary = {"Id": "c1", "Names": ["/p-web-1"], "State": "running", "Status": "Up",
               "Labels": {"com.docker.compose.service": "web"},
               "Ports": [{"PrivatePort": 80, "PublicPort": 40000, "IP": "0.0.0.0"}]}
    observed = Observed.from_summary(summary, host="10.20.30.40")
    assert observed.ports == {80: 40000} and observed.host == "10.20.30.40"
    assert "refused" in (HttpOk(port=80)(observed) or "")
    assert seen == [("10.20.30.40", 40000)]
    assert Observed.from_summary(summary).host == "127.0.0.1"


def test_an_environment_on_a_remote_engine_publishes_everywhere_and_hands_out_the_engine_address(
        tmp_path: Path) -> None:
    (tmp_path / "compose").mkdir()
    (tmp_path / "compose" / "t.yaml.j2").write_text('services:\n  web:\n    image: x\n    ports: ["8080:80"]\n')
    spec = EnvironmentSpec(name="e", file=tmp_path / "e.yaml", description="", template="t.yaml.j2",
                           parameters={}, services=())
    engine = Engine("tcp://10.0.0.9:2375", source="DOCKER_HOST")
    fake, docker = FakeCompose(), FakeDocker()  # the fake engine has image x: nothing to copy
    env = Environment(spec, {}, Settings(root=tmp_path), run_id="r1", owner=DETACHED, docker=docker, engine=engine)
    assert env.compose.env == {"DOCKER_HOST": "tcp://10.0.0.9:2375"}, "compose is pinned to the same engine"
    env.compose = ComposeRunner("proj", [env.compose_file], run=fake.run, popen=fake.popen)
    with env:
        assert env.url("web", 80) == "http://10.0.0.9:43210"
        assert env.services["web"].replicas[0].host == "10.0.0.9"
        docker.api.up = False
    assert "0.0.0.0::80" in env.compose_file.read_text()


def test_a_client_connects_to_the_engine_itself_not_to_whatever_the_environment_says(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")  # the Engine's endpoint wins over the variable
    with pytest.raises(DockerUnavailable) as err:
        Engine("tcp://127.0.0.1:1", source="DOCKER_HOST").client(timeout=2)
    assert "tcp://127.0.0.1:1 (DOCKER_HOST, local)" in str(err.value) and "127.0.0.1:9" not in str(err.value)
    with pytest.raises(DockerUnavailable) as err:
        Engine("tcp://127.0.0.1:1", source="context", context="lab").client(timeout=2)
    assert "docker --context lab info" in err.value.hint
