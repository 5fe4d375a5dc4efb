"""Defaults discovered from a plain compose file: probes and ports for every syntax compose accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.env.discover import (
    compose_environment,
    compose_services,
    container_ports,
    default_service_spec,
    default_service_specs,
    slug,
)
from harness.env.spec import ProbeSpec, ServiceSpec
from harness.errors import ConfigError


def svc(text: str) -> dict[str, Any]:
    value: dict[str, Any] = yaml.safe_load(text)
    return value


@pytest.mark.parametrize(("ports", "expected"), [
    ("[80]", 80),                                   # a bare integer
    ('["80"]', 80),                                 # container port only, published on an ephemeral port
    ('["8080:80"]', 80),                            # host:container
    ('["127.0.0.1:8080:80/tcp"]', 80),              # ip:host:container/protocol
    ('["127.0.0.1::5432"]', 5432),                  # ip, ephemeral host port
    ('["[::1]:6001:6002"]', 6002),                  # IPv6 host ip
    ('["9090-9091:8080-8081"]', 8080),              # a range gives its first port
    ('["3000-3005"]', 3000),
    ('["5353:53/udp", "8443:443"]', 443),           # UDP cannot be probed over TCP: skipped
    ("[{target: 80, published: '8080'}]", 80),      # long syntax
    ("[{target: '9000', host_ip: 127.0.0.1, protocol: tcp, mode: host}]", 9000),
    ("[{target: 53, protocol: udp}, {target: 81}]", 81),
])
def test_published_port_gives_a_tcp_probe_on_the_container_port(ports: str, expected: int) -> None:
    spec = default_service_spec("web", svc(f"image: x\nports: {ports}\n"))
    assert spec == ServiceSpec(pattern="web", port=expected, probe=ProbeSpec(kind="tcp"))


@pytest.mark.parametrize(("expose", "expected"), [
    ("[3000]", 3000), ('["3000"]', 3000), ('["8000-8010"]', 8000), ('["9000/tcp"]', 9000),
    ('["53/udp", 7000]', 7000),
])
def test_exposed_port_gives_a_tcp_probe(expose: str, expected: int) -> None:
    spec = default_service_spec("api", svc(f"image: x\nexpose: {expose}\n"))
    assert spec is not None and spec.port == expected and spec.probe.kind == "tcp"


def test_published_ports_come_before_exposed_ones() -> None:
    assert container_ports(svc("expose: [9000]\nports: ['8080:80']\n")) == [80, 9000]


def test_healthcheck_wins_over_ports_and_keeps_the_first_port() -> None:
    spec = default_service_spec("db", svc("""
image: postgres
ports: ["5432"]
healthcheck: {test: ["CMD", "pg_isready"], interval: 1s}
"""))
    assert spec == ServiceSpec(pattern="db", port=5432, probe=ProbeSpec(kind="healthcheck"))


def test_healthcheck_without_port_has_no_port() -> None:
    spec = default_service_spec("worker", svc("healthcheck: {test: 'true'}\n"))
    assert spec is not None and spec.port is None and spec.probe.kind == "healthcheck"


@pytest.mark.parametrize("check", ['{disable: true}', '{test: ["NONE"]}', "{test: NONE}"])
def test_disabled_healthcheck_falls_back_to_the_port(check: str) -> None:
    spec = default_service_spec("web", svc(f"ports: ['80']\nhealthcheck: {check}\n"))
    assert spec is not None and spec.probe.kind == "tcp"


def test_nothing_to_probe_gives_no_entry() -> None:
    assert default_service_spec("migrate", svc("image: x\ncommand: ['true']\n")) is None
    assert default_service_spec("udp", svc("ports: ['53:53/udp']\n")) is None
    assert default_service_spec("odd", svc("ports: ['${PORT}']\n")) is None  # unresolved variable: unknown


def test_specs_for_a_whole_file_skip_services_without_defaults() -> None:
    specs = default_service_specs(svc("""
web: {image: nginx, ports: ["8080:80"]}
job: {image: busybox, command: ["true"]}
db: {image: postgres, healthcheck: {test: ["CMD", "pg_isready"]}}
"""))
    assert [(s.pattern, s.port, s.probe.kind) for s in specs] == [("web", 80, "tcp"), ("db", None, "healthcheck")]


def test_compose_services_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "docker-compose.yml"
    path.write_text("services:\n  web: {image: nginx}\n")
    assert compose_services(path) == {"web": {"image": "nginx"}}


def test_missing_compose_file_names_the_referrer_key_and_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        compose_services(tmp_path / "nope.yml", referrer="envs/e.yaml")
    assert err.value.file == "envs/e.yaml" and err.value.key == "compose" and "nope.yml" in str(err.value)


def test_compose_file_without_services_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_text("version: '3'\n")
    with pytest.raises(ConfigError, match="no `services:`"):
        compose_services(path)


def test_compose_environment_is_named_after_the_folder_with_discovered_services(tmp_path: Path) -> None:
    folder = tmp_path / "Team_Shop 2"
    folder.mkdir()
    (folder / "compose.yaml").write_text("services:\n  web: {ports: ['8080:80']}\n  job: {image: x}\n")
    spec = compose_environment(folder / ".." / "Team_Shop 2" / "compose.yaml")
    assert spec.name == "team-shop-2" and spec.compose_file == folder / "compose.yaml" and spec.template == ""
    assert spec.services == (ServiceSpec(pattern="web", port=80, probe=ProbeSpec(kind="tcp")),)
    assert spec.parameters == {} and spec.file == folder / "compose.yaml"


def test_slug_never_gives_an_empty_name() -> None:
    assert slug("My App!") == "my-app" and slug("___") == "compose"
