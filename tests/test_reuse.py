"""Reuse of a kept environment without Docker: the hash, the choice, finding the kept project, naming a difference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.env import reuse
from harness.env.config import Settings
from harness.env.render import RunLabels
from harness.env.reuse import Kept


def test_the_hash_changes_with_the_text_or_a_parameter_and_only_then() -> None:
    base = reuse.config_hash("services: {}\n", {"a": 1})
    assert base == reuse.config_hash("services: {}\n", {"a": "1"})
    assert base != reuse.config_hash("services: {x: {}}\n", {"a": 1})
    assert base != reuse.config_hash("services: {}\n", {"a": 2})


def test_the_configuration_hash_is_a_label_only_when_known() -> None:
    labels = RunLabels(run_id="r", env="e", owner=0, host="h", created="c")
    assert "harness.config" not in labels.as_dict()
    assert RunLabels(run_id="r", env="e", owner=0, host="h", created="c", config="abc").as_dict()[
        "harness.config"] == "abc"


def test_reuse_1_means_every_environment_and_a_name_only_that_one() -> None:
    assert reuse.wanted("1", "tiny") and reuse.wanted("true", "other")
    assert reuse.wanted("tiny", "tiny") and not reuse.wanted("tiny", "other")


class FakeApi:
    def __init__(self, containers: list[dict[str, Any]]) -> None:
        self.found = containers
        self.filters: list[Any] = []

    def containers(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        self.filters.append(filters)
        return self.found


def labels(project: str, created: str, config: str = "h1") -> dict[str, Any]:
    return {"Labels": {"com.docker.compose.project": project, "harness.run": project + "-run",
                       "harness.env": "tiny", "harness.owner": "0", "harness.config": config,
                       "harness.created": created}}


def test_find_kept_asks_for_detached_projects_of_that_environment_and_takes_the_newest() -> None:
    api = FakeApi([labels("old", "2026-01-01T00:00:00"), labels("new", "2026-02-01T00:00:00"),
                   labels("new", "2026-02-01T00:00:00")])
    kept = reuse.find_kept(api, "tiny")  # type: ignore[arg-type]
    assert kept == Kept("new", "new-run", "tiny", "h1", "2026-02-01T00:00:00")
    assert api.filters == [{"label": ["harness.env=tiny", "harness.owner=0"]}]
    assert reuse.find_kept(FakeApi([]), "tiny") is None  # type: ignore[arg-type]


def test_find_kept_with_a_runs_folder_takes_only_this_checkouts_projects(tmp_path: Path) -> None:
    """Another checkout's kept project of the same environment name (its run folder elsewhere) is not attached."""
    api = FakeApi([labels("mine", "2026-01-01T00:00:00"), labels("theirs", "2026-02-01T00:00:00")])
    (tmp_path / "mine-run").mkdir()
    assert reuse.find_kept(api, "tiny", runs_dir=tmp_path).project == "mine"  # type: ignore[arg-type,union-attr]
    assert reuse.find_kept(api, "tiny").project == "theirs"  # type: ignore[arg-type,union-attr]
    (tmp_path / "mine-run").rmdir()
    assert reuse.find_kept(api, "tiny", runs_dir=tmp_path) is None  # type: ignore[arg-type]


def test_the_difference_names_the_changed_compose_lines(tmp_path: Path) -> None:
    settings = Settings(root=tmp_path)
    folder = settings.runs_dir / "r1" / "tiny"
    folder.mkdir(parents=True)
    (folder / "compose.rendered.yaml").write_text("services:\n  web:\n    environment: {GREETING: hello}\n")
    kept = Kept("p", "r1", "tiny", "h1", "")
    text = reuse.difference(settings, kept, "services:\n  web:\n    environment: {GREETING: bye}\n", {})
    assert "GREETING: hello" in text and "GREETING: bye" in text
    assert "no configuration hash" in reuse.difference(settings, Kept("p", "r1", "tiny", "", ""), "", {})
    assert "is gone" in reuse.difference(settings, Kept("p", "r2", "tiny", "h", ""), "", {})
