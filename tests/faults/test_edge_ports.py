"""Which port and which way round a link fault acts, and the proxy image's errors (no Docker)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from harness.errors import FaultError
from harness.faults.edge import Hop, Redirect
from harness.faults.ports import Direction, candidate_ports, compose_ports, directions, exposed_ports, service_port
from harness.faults.proxy_container import proxy_image, proxy_labels


class FakeEnv:
    """Ports from an environment file (``declared``), a compose file and containers' ExposedPorts."""

    def __init__(self, tmp: Path, compose: Mapping[str, Any], declared: Mapping[str, int | None],
                 exposed: Mapping[str, list[str]] | None = None) -> None:
        self.compose_file = tmp / "compose.yaml"
        self.compose_file.write_text(yaml.safe_dump(dict(compose)))
        self.services = {name: SimpleNamespace(port=port) for name, port in declared.items()}
        self._exposed = exposed or {}

    def containers(self, service: str) -> list[Any]:
        ports = {key: {} for key in self._exposed.get(service, [])}
        return [SimpleNamespace(attrs={"Config": {"ExposedPorts": ports}})]


def test_compose_ports_reads_expose_and_ports_targets_in_every_spelling() -> None:
    doc = {"services": {"web": {"expose": ["8000", 9000, "7000-7001", "53/udp"],
                                "ports": ["127.0.0.1::8080", "80:8443/tcp", {"target": 5000, "published": 5}]}}}
    assert compose_ports(doc, "web") == [5000, 7000, 7001, 8000, 8080, 8443, 9000]
    assert compose_ports(doc, "missing") == []


def test_exposed_ports_accepts_both_engine_spellings() -> None:
    container = SimpleNamespace(attrs={"Config": {"ExposedPorts": {"8000": {}, "9000/tcp": {}, "53/udp": {}}}})
    assert exposed_ports(container) == [8000, 9000]


def test_the_declared_port_wins_over_the_compose_file(tmp_path: Path) -> None:
    env = FakeEnv(tmp_path, {"services": {"api": {"expose": ["1", "2"]}}}, {"api": 8000})
    assert candidate_ports(env, "api") == [8000]


def test_the_compose_file_wins_over_the_image(tmp_path: Path) -> None:
    env = FakeEnv(tmp_path, {"services": {"api": {"expose": ["8000"]}}}, {"api": None}, {"api": ["8000", "9999"]})
    assert service_port(env, "api") == 8000


def test_exposed_ports_of_the_container_are_the_last_resort(tmp_path: Path) -> None:
    env = FakeEnv(tmp_path, {"services": {"db": {}}}, {"db": None}, {"db": ["5432/tcp"]})
    assert service_port(env, "db") == 5432


def test_a_service_with_several_ports_is_an_error_that_says_how_to_name_one(tmp_path: Path) -> None:
    env = FakeEnv(tmp_path, {"services": {"api": {"expose": ["8000", "9000"]}}}, {"api": None})
    with pytest.raises(FaultError) as caught:
        service_port(env, "api")
    text = str(caught.value)
    assert "'api' has several ports (8000, 9000)" in text
    assert "api:8000" in text and "on port 8000" in text and "port:" in text


def test_a_named_port_settles_an_ambiguous_edge(tmp_path: Path) -> None:
    env = FakeEnv(tmp_path, {"services": {"api": {"expose": ["8000", "9000"]}}}, {"api": None, "nginx": None})
    assert directions(env, ["nginx"], ["api"], 9000) == [Direction("nginx", "api", 9000)]


def test_only_b_has_a_port_so_only_a_to_b(tmp_path: Path) -> None:
    env = FakeEnv(tmp_path, {"services": {"nginx": {}, "api": {"expose": ["8000"]}}}, {"nginx": None, "api": None})
    assert directions(env, ["nginx"], ["api"]) == [Direction("nginx", "api", 8000)]


def test_only_a_has_a_port_so_the_edge_runs_the_other_way_round(tmp_path: Path) -> None:
    env = FakeEnv(tmp_path, {"services": {"worker": {}}}, {"queen": 8080, "worker": None})
    assert directions(env, ["queen"], ["worker"]) == [Direction("worker", "queen", 8080)]


def test_both_have_ports_so_both_ways(tmp_path: Path) -> None:
    env = FakeEnv(tmp_path, {"services": {}}, {"queen": 8080, "hive-1": 9200, "hive-2": 9200})
    assert directions(env, ["queen"], ["hive-1", "hive-2"]) == [
        Direction("queen", "hive-1", 9200), Direction("queen", "hive-2", 9200),
        Direction("hive-1", "queen", 8080), Direction("hive-2", "queen", 8080)]


def test_an_ambiguous_client_does_not_block_a_clear_server(tmp_path: Path) -> None:
    env = FakeEnv(tmp_path, {"services": {"nginx": {"expose": ["80", "443"]}}}, {"nginx": None, "api": 8000})
    assert directions(env, ["nginx"], ["api"]) == [Direction("nginx", "api", 8000)]


def test_an_ambiguous_server_is_an_error_even_when_the_client_has_a_port(tmp_path: Path) -> None:
    env = FakeEnv(tmp_path, {"services": {"api": {"expose": ["8000", "9000"]}}}, {"nginx": 80, "api": None})
    with pytest.raises(FaultError, match="several ports"):
        directions(env, ["nginx"], ["api"])


def test_no_port_on_either_side_is_an_error(tmp_path: Path) -> None:
    env = FakeEnv(tmp_path, {"services": {}}, {"a": None, "b": None})
    with pytest.raises(FaultError, match="none of a, b has a TCP port"):
        directions(env, ["a"], ["b"])


class FakeBackend:
    """An image backend that knows a fixed set of images and records builds."""

    def __init__(self, images: set[str]) -> None:
        self.images = images
        self.built: list[tuple[str, Path]] = []

    def image_id(self, ref: str) -> str | None:
        return f"sha256:{ref}" if ref in self.images else None

    def build(self, *, tag: str, context: Path, dockerfile: Path, build_args: Mapping[str, str],
              labels: Mapping[str, str], **_: Any) -> None:
        assert sorted(p.name for p in context.iterdir()) == ["Dockerfile", "proxy.py"]
        self.built.append((tag, dockerfile))
        self.images.add(tag)

    def tag(self, source: str, target: str) -> None:
        self.images.add(target)


def test_a_missing_base_image_is_a_fault_error_with_a_hint() -> None:
    with pytest.raises(FaultError) as caught:
        proxy_image("no-such-base:1", FakeBackend(set()))
    assert "no-such-base:1" in str(caught.value) and "Hint:" in str(caught.value)
    assert "HARNESS_BASE_IMAGE" in str(caught.value)


def test_the_proxy_image_is_built_from_the_package_once_per_content_hash() -> None:
    backend = FakeBackend({"unit-base:1"})
    tag = proxy_image("unit-base:1", backend)
    assert tag.startswith("harness-faultproxy:") and len(backend.built) == 1
    assert proxy_image("unit-base:1", backend) == tag and len(backend.built) == 1


def test_the_proxy_is_a_service_of_the_project_with_the_harness_labels() -> None:
    like = SimpleNamespace(attrs={"Config": {"Labels": {
        "com.docker.compose.project": "p1", "com.docker.compose.service": "api", "com.docker.compose.version": "2",
        "harness.run": "r1", "harness.env": "shop", "harness.owner": "42", "other": "x"}}})
    labels = proxy_labels(like)  # type: ignore[arg-type]
    assert labels["com.docker.compose.project"] == "p1"
    assert labels["com.docker.compose.service"] == "harness-faultproxy"
    assert labels["com.docker.compose.oneoff"] == "False"
    assert {labels["harness.run"], labels["harness.env"], labels["harness.owner"]} == {"r1", "shop", "42"}
    assert labels["harness.role"] == "faultproxy" and "other" not in labels


class FakeRunner:
    """A netns runner that records scripts."""

    def __init__(self) -> None:
        self.scripts: list[str] = []

    def run(self, container: Any, script: str) -> str:
        self.scripts.append(script)
        return ""


def test_the_redirect_is_one_dnat_rule_in_the_clients_nat_chain_and_closes_pooled_connections() -> None:
    server = SimpleNamespace(name="api", id="s", reload=lambda: None,
                             attrs={"NetworkSettings": {"Networks": {"net": {"IPAddress": "10.0.0.5"}}}})
    client = SimpleNamespace(name="nginx", id="c", reload=lambda: None,
                             attrs={"State": {"Pid": 7}, "NetworkSettings": {"Networks": {"net": {}}}})
    runner = FakeRunner()
    redirect = Redirect(Hop(client, server, 8000), "net", "10.0.0.9", 40001,  # type: ignore[arg-type]
                        runner=runner, watch_interval=None)
    redirect.inject()
    added = next(script for script in runner.scripts if " -A " in script)
    assert "-t nat -N HARNESS-LINKS" in added and "-t nat -I OUTPUT 1 -j HARNESS-LINKS" in added
    assert ("-t nat -A HARNESS-LINKS -d 10.0.0.5 -p tcp --dport 8000 -j DNAT --to-destination 10.0.0.9:40001"
            in added)
    assert runner.scripts[-1].startswith("ss -K -tn dst 10.0.0.5 dport = :8000")
