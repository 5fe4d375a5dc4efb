"""Environment files: validation errors name the file and the key; overrides resolve in order."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from harness.env import config
from harness.env.config import (
    SETTING_KEYS,
    Settings,
    check_userdata,
    declare_userdata,
    load_environment,
    parse_assignments,
    resolve_parameters,
)
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


def test_the_runs_folder_can_live_on_another_disk(tmp_path: Path) -> None:
    elsewhere = tmp_path / "big-disk" / "runs"
    assert Settings.build(environ={"HARNESS_RUNS_DIR": str(elsewhere)}, root=tmp_path).runs_dir == elsewhere
    relative = Settings.build({"runs_dir": "out/runs"}, environ={}, root=tmp_path)
    assert relative.runs_dir == tmp_path.resolve() / "out" / "runs"


# -- zero-config environments: `compose:` --------------------------------------------------------

COMPOSE = """services:
  web: {image: nginx, ports: ["8080:80"]}
  db: {image: postgres, healthcheck: {test: ["CMD", "pg_isready"]}}
  migrate: {image: busybox, command: ["true"]}
"""


def compose_project(tmp_path: Path, env_text: str = "compose: ../docker-compose.yml\n") -> Path:
    """A project whose compose file sits beside environments/; returns the environments folder."""
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    env_dir = tmp_path / "environments"
    env_dir.mkdir(exist_ok=True)
    return write_env(env_dir, env_text)


def test_compose_alone_is_an_environment_with_discovered_services(tmp_path: Path) -> None:
    s = load_environment("e", compose_project(tmp_path))
    assert s.compose_file == tmp_path / "docker-compose.yml" and s.compose_file.is_absolute()
    assert s.template == "" and s.description == f"compose project {tmp_path / 'docker-compose.yml'}"
    assert [(x.pattern, x.port, x.probe.kind) for x in s.services] == [("web", 80, "tcp"), ("db", None, "healthcheck")]
    assert s.service_spec("migrate") is None  # a one-shot: ready once running or exited 0


def test_absolute_compose_path_and_own_description(tmp_path: Path) -> None:
    env_dir = compose_project(tmp_path, "")
    write_env(env_dir, f"description: ours\ncompose: {tmp_path / 'docker-compose.yml'}\n")
    s = load_environment("e", env_dir)
    assert s.compose_file == tmp_path / "docker-compose.yml" and s.description == "ours"


def test_compose_and_template_together_name_both_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_environment("e", compose_project(tmp_path, "compose: ../docker-compose.yml\ntemplate: t.j2\n"))
    assert err.value.file.endswith("e.yaml") and "compose" in err.value.key and "template" in err.value.key


def test_missing_compose_file_names_environment_key_and_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_environment("e", compose_project(tmp_path, "compose: ../nope/compose.yml\n"))
    assert err.value.file.endswith("e.yaml") and err.value.key == "compose"
    assert str(tmp_path / "nope" / "compose.yml") in str(err.value)


def test_a_j2_given_to_compose_stays_a_template(tmp_path: Path) -> None:
    env_dir = compose_project(tmp_path, "compose: ../stack.yaml.j2\n")
    (tmp_path / "stack.yaml.j2").write_text("services: {}\n")
    s = load_environment("e", env_dir)
    assert s.template == str(tmp_path / "stack.yaml.j2") and s.compose_file is None and s.services == ()


def test_listed_services_override_discovered_defaults(tmp_path: Path) -> None:
    s = load_environment("e", compose_project(tmp_path, """compose: ../docker-compose.yml
services:
  web: {probe: {http: /healthz}}
  d*: {port: 5432, probe: {tcp: true}}
"""))
    web, db = s.service_spec("web"), s.service_spec("db")
    assert web is not None and (web.port, web.probe.kind, web.probe.path) == (80, "http", "/healthz")
    assert db is not None and (db.pattern, db.port, db.probe.kind) == ("d*", 5432, "tcp")
    assert [x.pattern for x in s.services] == ["web", "d*"]  # the discovered db entry is shadowed


def test_listed_service_without_probe_keeps_the_discovered_healthcheck(tmp_path: Path) -> None:
    env_dir = compose_project(tmp_path, "compose: ../docker-compose.yml\nservices:\n  db: {port: 5432}\n")
    s = load_environment("e", env_dir)
    db = s.service_spec("db")
    assert db is not None and (db.port, db.probe.kind) == (5432, "healthcheck")


def test_parameters_are_allowed_with_a_plain_compose_file(tmp_path: Path) -> None:
    s = load_environment("e", compose_project(tmp_path, "compose: ../docker-compose.yml\nparameters: {hives: 2}\n"))
    assert resolve_parameters(s, {"hives": "3"}, environ={}) == {"hives": 3}


def test_extends_inherits_the_compose_file_and_a_child_may_switch_to_a_template(tmp_path: Path) -> None:
    env_dir = compose_project(tmp_path)
    write_env(env_dir, "extends: e\ntimeouts: {ready: 5}\n", "child")
    write_env(env_dir, "extends: e\ndescription: templated\ntemplate: t.j2\n", "templated")
    child = load_environment("child", env_dir)
    assert child.compose_file == tmp_path / "docker-compose.yml" and child.timeouts.ready == 5
    assert len(child.services) == 2
    templated = load_environment("templated", env_dir)
    assert templated.template == "t.j2" and templated.compose_file is None and templated.services == ()


def test_without_compose_description_and_template_stay_required(tmp_path: Path) -> None:
    write_env(tmp_path, "template: t.j2\n")
    with pytest.raises(ConfigError) as err:
        load_environment("e", tmp_path)
    assert err.value.key == "description"


# -- userdata keys: settings, declared keys, environment parameters ------------------------------

def test_settings_and_parameters_of_any_environment_are_accepted(tmp_path: Path) -> None:
    env_dir = write_env(tmp_path, "description: x\ntemplate: t.j2\nparameters: {hives: 2}\n", "a")
    check_userdata({"env": "a", "run_id": "r", "http_timeout": "3", "hives": "4"}, env_dir)


def test_a_mistyped_key_is_an_error_naming_it_and_close_matches(tmp_path: Path) -> None:
    env_dir = write_env(tmp_path, "description: x\ntemplate: t.j2\nparameters: {hives: 2}\n", "a")
    with pytest.raises(ConfigError) as err:
        check_userdata({"hivez": "4", "http_timeout": "3"}, env_dir)
    text = str(err.value)
    assert err.value.key == "hivez" and "did you mean hives" in text
    assert "SETTING_KEYS" in text and str(env_dir) in text and "declare_userdata" in text


def test_every_unknown_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown userdata keys 'keyy', 'kep'"):
        check_userdata({"keyy": "1", "kep": "1"}, tmp_path)


def test_a_declared_project_key_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "_DECLARED_USERDATA", {})
    with pytest.raises(ConfigError):
        check_userdata({"residue_dir": "/tmp"}, tmp_path)
    declare_userdata("residue_dir", "where the fixture writes")
    check_userdata({"residue_dir": "/tmp"}, tmp_path)


def test_an_unreadable_environment_is_named_in_the_hint(tmp_path: Path) -> None:
    write_env(tmp_path, "description: [unclosed\n", "broken")
    with pytest.raises(ConfigError, match="unreadable, not searched: broken.yaml"):
        check_userdata({"keyy": "1"}, tmp_path)


def _setting_keys_read_in(source: str) -> set[str]:
    """Keys read from userdata in a module: ``userdata.get("k")``, ``userdata["k"]``, seconds_settings maps."""
    tree = ast.parse(source)
    maps = {target.id: node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name) and isinstance(node.value, ast.Dict)}
    keys: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "seconds_settings" and node.args:
            arg = node.args[0]
            mapping = maps.get(arg.id) if isinstance(arg, ast.Name) else arg
            assert isinstance(mapping, ast.Dict), ast.dump(arg)
            keys |= {v.value for v in mapping.values if isinstance(v, ast.Constant)}
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                and "userdata" in ast.unparse(node.func.value) and node.args \
                and isinstance(node.args[0], ast.Constant):
            keys.add(node.args[0].value)
        if isinstance(node, ast.Subscript) and "userdata" in ast.unparse(node.value) \
                and isinstance(node.slice, ast.Constant):
            keys.add(node.slice.value)
    return keys


def test_every_userdata_key_the_harness_reads_is_a_known_setting() -> None:
    harness_dir = Path(config.__file__).parent.parent
    read = {key for path in harness_dir.rglob("*.py") for key in _setting_keys_read_in(path.read_text())}
    assert {"http_timeout", "load_timeout", "metrics_path", "run_id"} <= read  # the scan finds them
    assert read - set(SETTING_KEYS) == set(), "add these keys to harness.env.config.SETTING_KEYS"
