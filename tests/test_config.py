"""Environment files: validation errors name the file and the key; overrides resolve in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import Settings, load_environment, parse_assignments, resolve_parameters
from harness.errors import ConfigError


def write_env(tmp_path: Path, text: str, name: str = "e") -> Path:
    (tmp_path / f"{name}.yaml").write_text(text)
    return tmp_path


def test_unknown_environment_names_the_file_and_lists_known(tmp_path: Path) -> None:
    write_env(tmp_path, "description: x\ntemplate: t.j2\n", "known")
    with pytest.raises(ConfigError) as err:
        load_environment("nope", tmp_path)
    assert "nope.yaml" in str(err.value) and "known" in str(err.value)


def test_unknown_key_is_an_error_naming_file_and_key(tmp_path: Path) -> None:
    write_env(tmp_path, "description: x\ntemplate: t.j2\nservces: {}\n")
    with pytest.raises(ConfigError) as err:
        load_environment("e", tmp_path)
    assert err.value.key == "servces" and err.value.file.endswith("e.yaml")


def test_unknown_nested_key_is_named_with_its_path(tmp_path: Path) -> None:
    write_env(tmp_path, "description: x\ntemplate: t.j2\nservices:\n  web: {port: 80, probe: {htp: /}}\n")
    with pytest.raises(ConfigError) as err:
        load_environment("e", tmp_path)
    assert err.value.key == "services.web.probe.htp"


def test_http_probe_without_port_is_rejected(tmp_path: Path) -> None:
    write_env(tmp_path, "description: x\ntemplate: t.j2\nservices:\n  web: {probe: {http: /}}\n")
    with pytest.raises(ConfigError, match="needs the service's port"):
        load_environment("e", tmp_path)


def test_missing_template_key(tmp_path: Path) -> None:
    write_env(tmp_path, "description: x\n")
    with pytest.raises(ConfigError) as err:
        load_environment("e", tmp_path)
    assert err.value.key == "template"


def spec(tmp_path: Path):  # type: ignore[no-untyped-def]
    write_env(tmp_path, """description: x
template: t.j2
parameters:
  hives: {default: 2}
  secret: {default: abc, secret: true}
  debug: false
  models: {default: [a, b]}
""")
    return load_environment("e", tmp_path)


def test_overrides_win_over_environment_variables_over_defaults(tmp_path: Path) -> None:
    s = spec(tmp_path)
    assert resolve_parameters(s, {}, environ={})["hives"] == 2
    assert resolve_parameters(s, {}, environ={"HARNESS_HIVES": "3"})["hives"] == 3
    assert resolve_parameters(s, {"hives": "5"}, environ={"HARNESS_HIVES": "3"})["hives"] == 5


def test_values_are_coerced_to_the_default_type(tmp_path: Path) -> None:
    values = resolve_parameters(spec(tmp_path), {"debug": "yes", "models": "x, y"}, environ={})
    assert values["debug"] is True and values["models"] == ["x", "y"]


def test_bad_value_names_the_parameter(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        resolve_parameters(spec(tmp_path), {"hives": "many"}, environ={})
    assert err.value.key == "hives"


def test_undeclared_override_is_an_error_when_strict(tmp_path: Path) -> None:
    s = spec(tmp_path)
    with pytest.raises(ConfigError, match="undeclared parameter 'hvies'"):
        resolve_parameters(s, {"hvies": "1"}, environ={})
    assert "hvies" not in resolve_parameters(s, {"hvies": "1"}, environ={}, strict=False)


def test_secret_names(tmp_path: Path) -> None:
    assert spec(tmp_path).secret_names() == {"secret"}


def test_parse_assignments_rejects_missing_equals() -> None:
    assert parse_assignments(["a=1", "b=x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ConfigError, match="not key=value"):
        parse_assignments(["oops"])


def test_settings_from_userdata_then_environment(tmp_path: Path) -> None:
    s = Settings.build({"env": "regressed"}, environ={"HARNESS_KEEP": "1"}, root=tmp_path)
    assert s.env_override == "regressed" and s.keep and s.runs_dir == tmp_path.resolve() / ".harness" / "runs"
