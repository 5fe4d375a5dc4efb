"""Rendering: errors name template, line and name; labels and ports are added by the harness."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import TemplateError
from harness.render import RunLabels, decorate, render_template

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
    assert doc["services"]["q"]["ports"] == ["8080"]  # already published: left alone


def test_rendered_yaml_error_names_line() -> None:
    with pytest.raises(TemplateError) as err:
        decorate("services:\n  a: [\n", rendered_name="out.yaml", labels=LABELS, ports={})
    assert err.value.template == "out.yaml" and err.value.line is not None


def test_no_services_mapping() -> None:
    with pytest.raises(TemplateError, match="no `services:`"):
        decorate("version: '3'\n", rendered_name="r", labels=LABELS, ports={})
