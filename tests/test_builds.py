"""Builds of a team's compose services, with a fake image store: plans, tags, the decorated file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.env.builds import build_images, plan_builds, project_slug, use_built_images
from harness.errors import ConfigError
from tests.test_images import BASE, FakeDocker


@pytest.fixture
def team(tmp_path: Path) -> Path:
    """A compose project folder: api/ (Dockerfile inside), worker built from the root with a Dockerfile path."""
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "Dockerfile").write_text(f"FROM {BASE}\nCOPY . /app\n")
    (tmp_path / "api" / "main.py").write_text("print(1)\n")
    (tmp_path / "worker").mkdir()
    (tmp_path / "worker" / "Dockerfile").write_text("ARG BASE\nFROM ${BASE}\n")
    return tmp_path


def doc() -> dict[str, object]:
    return {"services": {
        "api": {"build": "./api", "ports": ["8080:80"]},
        "worker": {"build": {"context": ".", "dockerfile": "worker/Dockerfile", "args": [f"BASE={BASE}"],
                             "target": "final"}, "image": "team/worker:dev"},
        "db": {"image": "postgres:15"},
    }}


def test_contexts_and_dockerfiles_resolve_from_the_compose_files_folder(team: Path) -> None:
    builds = plan_builds(doc(), team, "shop", FakeDocker())
    assert [(b.service, b.context, b.recipe.dockerfile) for b in builds] == [
        ("api", team / "api", Path("Dockerfile")), ("worker", team, Path("worker/Dockerfile"))]
    worker = builds[1].recipe
    assert worker.build_args == {"BASE": BASE} and worker.target == "final" and worker.service == "worker"
    assert builds[0].tag.startswith("harness-build/shop-api:")
    assert builds[1].tag.startswith("harness-build/shop-worker:")


def test_the_tag_is_stable_and_follows_the_content(team: Path) -> None:
    docker = FakeDocker()
    first = plan_builds(doc(), team, "shop", docker)[0].tag
    assert plan_builds(doc(), team, "shop", docker)[0].tag == first
    (team / "api" / "main.py").write_text("print(2)\n")
    assert plan_builds(doc(), team, "shop", docker)[0].tag != first


def test_the_tag_does_not_depend_on_where_the_project_lies(team: Path, tmp_path_factory: pytest.TempPathFactory
                                                            ) -> None:
    elsewhere = tmp_path_factory.mktemp("copy") / "team"
    shutil.copytree(team, elsewhere)
    docker = FakeDocker()
    assert plan_builds(doc(), elsewhere, "shop", docker)[0].tag == plan_builds(doc(), team, "shop", docker)[0].tag


def test_decorated_services_run_the_built_tag_and_lose_build(team: Path) -> None:
    compose = doc()
    builds = plan_builds(compose, team, "shop", FakeDocker())
    use_built_images(compose, builds)
    services = compose["services"]
    assert services["api"] == {"ports": ["8080:80"], "image": builds[0].tag}  # type: ignore[index]
    assert services["worker"]["image"] == builds[1].tag and "build" not in services["worker"]  # type: ignore[index]
    assert services["db"] == {"image": "postgres:15"}  # type: ignore[index]


def test_builds_once_and_reports_steps_and_time(team: Path) -> None:
    docker = FakeDocker()
    lines: list[str] = []
    builds = plan_builds(doc(), team, "shop", docker)
    first = build_images(builds, docker, lines.append)
    again = build_images(plan_builds(doc(), team, "shop", docker), docker, lines.append)
    assert [r.built for r in first] == [True, True] and [r.built for r in again] == [False, False]
    assert len(docker.builds) == 2 and docker.builds[1]["target"] == "final"
    assert lines[0] == "build api: Step 1/1 : FROM base" and lines[1].startswith("build api: built in ")
    assert lines[-1].startswith("build worker: up to date in 0.0 s (harness-build/shop-worker:")


def test_a_missing_context_names_the_service(team: Path) -> None:
    with pytest.raises(ConfigError, match="service 'web': build context .*/nowhere does not exist"):
        plan_builds({"services": {"web": {"build": "./nowhere"}}}, team, "shop", FakeDocker())


def test_remote_contexts_and_inline_dockerfiles_are_refused_with_a_hint(team: Path) -> None:
    for build in ("https://github.com/x/y.git", {"context": ".", "dockerfile_inline": "FROM x"}):
        with pytest.raises(ConfigError, match="only a local build context") as err:
            plan_builds({"services": {"web": {"build": build}}}, team, "shop", FakeDocker(), source="c.yaml")
        assert "c.yaml" in str(err.value) and "services.web.build" in str(err.value)


def test_build_args_from_a_list_mapping_or_our_environment(team: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FROM_ENV", "yes")
    compose = {"services": {"w": {"build": {"context": "worker", "args": ["A=1", "FROM_ENV", "UNSET_ARG"]}},
                            "v": {"build": {"context": "worker", "args": {"B": 2, "FROM_ENV": None}}}}}
    builds = plan_builds(compose, team, "shop", FakeDocker())
    assert builds[0].recipe.build_args == {"A": "1", "FROM_ENV": "yes"}
    assert builds[1].recipe.build_args == {"B": "2", "FROM_ENV": "yes"}


def test_project_slug() -> None:
    assert project_slug(Path("/x/My Team_Project")) == "my-team-project"
    assert project_slug(Path("/x/___")) == "project"


def test_a_new_build_keeps_the_newest_three_tags_of_its_repository(team: Path) -> None:
    docker = FakeDocker()
    docker.images["harness-build/shop-api:busy"] = "sha256:in-use"  # oldest, but a container uses it
    lines: list[str] = []
    made = []
    for version in range(5):
        (team / "api" / "main.py").write_text(f"print({version})\n")
        [api, _] = build_images(plan_builds(doc(), team, "shop", docker), docker, lines.append)
        made.append(api.tag)
    kept = docker.tags("harness-build/shop-api")
    assert kept == [made[4], made[3], made[2], "harness-build/shop-api:busy"]
    assert f"build api: removed 1 older image(s): {made[0]}" in lines
    assert f"build api: removed 1 older image(s): {made[1]}" in lines
    assert len(docker.tags("harness-build/shop-worker")) == 3  # its context is the whole folder: rebuilt 5 times
