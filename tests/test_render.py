"""Rendering: errors name template, line and name; labels and ports are added by the harness."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.env.render import (
    RunLabels,
    decorate,
    render_template,
    secret_environment,
    template_path,
    template_variables,
    write_compose,
)
from harness.env.spec import EnvironmentSpec, Parameter
from harness.errors import TemplateError

LABELS = RunLabels(run_id="r1", env="e", owner=42, host="h", created="now")


def test_undefined_name_names_template_line_and_name(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("services:\n  a:\n    image: {{ image }}\n    command: {{ nope }}\n")
    with pytest.raises(TemplateError) as err:
        render_template(tmp_path, "t.j2", {"image": "x"})
    assert err.value.name == "nope" and err.value.line == 4 and "t.j2:4" in str(err.value)
    assert "Hint:" in str(err.value)


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("services:\n{% for x in %}\n")
    with pytest.raises(TemplateError) as err:
        render_template(tmp_path, "t.j2", {})
    assert err.value.line == 2


def test_missing_template(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="template not found"):
        render_template(tmp_path, "missing.j2", {})


def test_sandbox_blocks_unsafe_attribute_access(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("{{ ''.__class__.__mro__ }}")
    with pytest.raises(Exception, match="unsafe|not safely"):
        render_template(tmp_path, "t.j2", {})


def test_labels_on_every_service_network_and_volume() -> None:
    doc = decorate("services:\n  a: {image: x, labels: [keep=1]}\n  b: {image: y}\nvolumes:\n  data:\n"
                   "networks:\n  ext: {external: true}\n", rendered_name="r", labels=LABELS, ports={})
    for svc in doc["services"].values():
        assert svc["labels"]["harness.run"] == "r1" and svc["labels"]["harness.owner"] == "42"
    assert doc["services"]["a"]["labels"]["keep"] == "1"
    assert doc["volumes"]["data"]["labels"]["harness.env"] == "e"
    assert doc["networks"]["default"]["labels"]["harness.run"] == "r1"
    assert "labels" not in doc["networks"]["ext"]


def test_ports_are_published_on_loopback_with_ephemeral_host_ports_by_pattern() -> None:
    doc = decorate("services:\n  hive-1: {image: x}\n  hive-2: {image: x}\n  q: {image: x, ports: ['8080']}\n",
                   rendered_name="r", labels=LABELS, ports={"hive-*": 9200, "q": 8080})
    assert doc["services"]["hive-2"]["ports"] == ["127.0.0.1::9200"]
    assert doc["services"]["q"]["ports"] == ["127.0.0.1::8080"]  # already published: not twice


def test_fixed_host_ports_become_ephemeral_on_loopback_keeping_the_container_port() -> None:
    doc = decorate("services:\n  a:\n    image: x\n    ports: ['8080:80', 9000, '0.0.0.0:5432:5432/tcp',"
                   " '53:53/udp', '127.0.0.1::7000']\n"
                   "  b:\n    image: x\n    ports: [{target: 80, published: 8081, protocol: tcp}]\n",
                   rendered_name="r", labels=LABELS, ports={"a": 80})
    assert doc["services"]["a"]["ports"] == ["127.0.0.1::80", "127.0.0.1::9000", "127.0.0.1::5432/tcp",
                                             "127.0.0.1::53/udp", "127.0.0.1::7000"]
    assert doc["services"]["b"]["ports"] == [{"target": 80, "protocol": "tcp", "host_ip": "127.0.0.1"}]


def test_a_fixed_container_name_is_dropped_and_kept_as_an_alias_on_every_network_the_service_joins() -> None:
    doc = decorate("services:\n"
                   "  a: {image: x, container_name: team-a}\n"
                   "  b: {image: x, container_name: team-b, networks: [front, back]}\n"
                   "  c: {image: x, container_name: team-c, networks: {front: {aliases: [see]}, back: null}}\n"
                   "  d: {image: x, container_name: team-d, network_mode: host}\n"
                   "  e: {image: x}\n"
                   "networks: {front: {}, back: {}}\n",
                   rendered_name="r", labels=LABELS, ports={})
    services = doc["services"]
    assert not any("container_name" in s for s in services.values())
    assert services["a"]["networks"] == {"default": {"aliases": ["team-a"]}}
    assert services["b"]["networks"] == {"front": {"aliases": ["team-b"]}, "back": {"aliases": ["team-b"]}}
    assert services["c"]["networks"] == {"front": {"aliases": ["see", "team-c"]}, "back": {"aliases": ["team-c"]}}
    assert "networks" not in services["d"] and "networks" not in services["e"]


def test_secret_parameters_render_as_references_and_travel_in_the_environment(tmp_path: Path) -> None:
    spec = EnvironmentSpec(name="e", file=tmp_path / "e.yaml", description="", template="t.j2",
                           parameters={"jwt-secret": Parameter("jwt-secret", "s3cr3t", secret=True),
                                       "n": Parameter("n", 1)}, services=())
    variables = template_variables(spec, {"jwt-secret": "s3cr3t", "n": 2}, tmp_path / "none.json", "r1")
    (tmp_path / "t.j2").write_text('url: "postgres://u:{{ this["jwt-secret"] }}@db/x"\nn: {{ n }}\n')
    text = render_template(tmp_path, "t.j2", {**variables, "this": variables})
    assert text == 'url: "postgres://u:${HARNESS_SECRET_JWT_SECRET}@db/x"\nn: 2\n' and "s3cr3t" not in text
    assert secret_environment(spec, {"jwt-secret": "s3cr3t", "n": 2}) == {"HARNESS_SECRET_JWT_SECRET": "s3cr3t"}


def test_an_absolute_template_renders_from_its_own_folder_with_includes(tmp_path: Path) -> None:
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "part.j2").write_text("  a: {image: x}\n")
    (tmp_path / "team" / "c.yaml.j2").write_text("services:\n{% include 'part.j2' %}")
    path = tmp_path / "team" / "c.yaml.j2"
    assert render_template(tmp_path / "elsewhere", str(path), {}) == "services:\n  a: {image: x}\n"
    assert template_path(tmp_path / "elsewhere", str(path)) == path
    assert template_path(tmp_path, "c.j2") == tmp_path / "c.j2"


def test_the_decorated_file_starts_with_a_comment_header(tmp_path: Path) -> None:
    out = write_compose({"services": {}}, tmp_path / "c.yaml", header="line one\nline two")
    assert out.read_text().startswith("# line one\n# line two\nservices:")


def test_rendered_yaml_error_names_line() -> None:
    with pytest.raises(TemplateError) as err:
        decorate("services:\n  a: [\n", rendered_name="out.yaml", labels=LABELS, ports={})
    assert err.value.template == "out.yaml" and err.value.line is not None


def test_no_services_mapping() -> None:
    with pytest.raises(TemplateError, match="no `services:`"):
        decorate("version: '3'\n", rendered_name="r", labels=LABELS, ports={})
