"""Unit tests for harness.env.images: content hash, registry, build-once logic (no Docker needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from harness.env import images
from harness.env.images import BuildResult, ImageRecipe
from harness.errors import BuildError, ConfigError, DockerError, DockerUnavailable

BASE = "harness-base:bookworm-1"


class FakeDocker:
    """An in-memory image store that records what it was asked to do."""

    def __init__(self, existing: Mapping[str, str] | None = None) -> None:
        self.images: dict[str, str] = dict({BASE: "sha256:base1"} if existing is None else existing)
        self.builds: list[dict[str, object]] = []
        self.tagged: list[tuple[str, str]] = []

    def image_id(self, ref: str) -> str | None:
        return self.images.get(ref)

    def build(self, *, tag: str, context: Path, dockerfile: Path, build_args: Mapping[str, str],
              labels: Mapping[str, str], target: str | None = None,
              progress: Callable[[str], None] | None = None) -> None:
        self.builds.append({"tag": tag, "context": context, "dockerfile": dockerfile,
                            "build_args": dict(build_args), "labels": dict(labels), "target": target})
        if progress is not None:
            progress("Step 1/1 : FROM base")
        self.images[tag] = f"sha256:built{len(self.builds)}"

    def tag(self, source: str, target: str) -> None:
        self.tagged.append((source, target))
        self.images[target] = self.images[source]

    def tags(self, repository: str) -> list[str]:  # newest first, as docker lists them
        return [ref for ref in reversed(self.images) if ref.startswith(f"{repository}:")]

    def remove(self, ref: str) -> bool:
        if ref.endswith(":busy"):
            return False
        del self.images[ref]
        return True


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    ctx = tmp_path / "svc"
    (ctx / "app").mkdir(parents=True)
    (ctx / "Dockerfile").write_text("ARG BASE\nFROM ${BASE}\nCOPY app /app\n")
    (ctx / "app" / "main.py").write_text("print('hello')\n")
    return tmp_path


def recipe(**build_args: str) -> ImageRecipe:
    return ImageRecipe("svc", Path("svc"), Path("svc/Dockerfile"), build_args or {"BASE": BASE})


def digest(repo: Path, base_id: str | None = "sha256:base1", **build_args: str) -> str:
    return images.content_hash(recipe(**build_args), repo, base_id)


# --- content hash ----------------------------------------------------------------------------


def test_hash_is_stable_when_nothing_changes(repo: Path) -> None:
    assert digest(repo) == digest(repo)
    assert len(digest(repo)) == images.HASH_LENGTH


def test_hash_changes_when_a_file_changes(repo: Path) -> None:
    before = digest(repo)
    (repo / "svc" / "app" / "main.py").write_text("print('bye')\n")
    assert digest(repo) != before


def test_hash_changes_when_a_file_is_added_renamed_or_made_executable(repo: Path) -> None:
    seen = {digest(repo)}
    (repo / "svc" / "app" / "extra.txt").write_text("x")
    seen.add(digest(repo))
    (repo / "svc" / "app" / "extra.txt").rename(repo / "svc" / "app" / "other.txt")
    seen.add(digest(repo))
    (repo / "svc" / "app" / "other.txt").chmod(0o755)
    seen.add(digest(repo))
    assert len(seen) == 4


def test_hash_ignores_pycache_and_bytecode(repo: Path) -> None:
    before = digest(repo)
    (repo / "svc" / "app" / "__pycache__").mkdir()
    (repo / "svc" / "app" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\0junk")
    (repo / "svc" / "app" / "stray.pyc").write_bytes(b"\0junk")
    assert digest(repo) == before


def test_hash_changes_with_base_image_id_and_build_args(repo: Path) -> None:
    assert digest(repo, base_id="sha256:base2") != digest(repo)
    assert digest(repo, BASE=BASE, EXTRA="1") != digest(repo)


def test_hash_does_not_depend_on_file_creation_order(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for root, names in ((one, ["a", "b", "c"]), (two, ["c", "a", "b"])):
        (root / "svc").mkdir(parents=True)
        (root / "svc" / "Dockerfile").write_text("FROM scratch\n")
        for name in names:
            (root / "svc" / name).write_text(name)
    assert digest(one) == digest(two)


def test_context_files_are_sorted_and_skip_caches(repo: Path) -> None:
    (repo / "svc" / "__pycache__").mkdir()
    (repo / "svc" / "__pycache__" / "x.pyc").write_bytes(b"")
    names = [p.relative_to(repo / "svc").as_posix() for p in images.context_files(repo / "svc")]
    assert names == ["Dockerfile", "app/main.py"]


# --- registry --------------------------------------------------------------------------------


def test_registry_has_the_stack_on_the_base_image() -> None:
    by_name = {r.name: r for r in images.recipes()}
    stack = by_name["stack"]
    assert stack.context_dir == Path("services")
    assert stack.dockerfile == Path("services/Dockerfile")
    assert stack.build_args == {"BASE": images.DEFAULT_BASE_IMAGE}
    assert stack.repository == "harness-stack"
    assert stack.base_image == images.DEFAULT_BASE_IMAGE


def test_registry_has_the_fault_proxy() -> None:
    proxy = {r.name: r for r in images.recipes()}["faultproxy"]
    assert proxy.dockerfile == Path("harness/faults/Dockerfile")
    assert proxy.context_dir == Path("harness/faults")


def test_registry_names_are_unique_and_use_the_given_base() -> None:
    found = images.recipes("my-base:1")
    assert len({r.name for r in found}) == len(found)
    assert all(r.base_image == "my-base:1" for r in found)


def test_base_image_comes_from_the_environment_variable() -> None:
    assert images.base_image_from_env({}) == images.DEFAULT_BASE_IMAGE
    assert images.base_image_from_env({"HARNESS_BASE_IMAGE": "other:2"}) == "other:2"


def test_unknown_recipe_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown image nope"):
        images._select(images.recipes(), ["nope"])


# --- build once ------------------------------------------------------------------------------


def test_builds_when_the_tag_is_missing_and_tags_latest(repo: Path) -> None:
    docker = FakeDocker()
    result = images.ensure_image(recipe(), repo, docker)
    assert result == BuildResult("svc", f"harness-svc:{digest(repo)}", built=True)
    [build] = docker.builds
    assert build["tag"] == result.tag
    assert build["build_args"] == {"BASE": BASE}
    assert build["context"] == repo / "svc"
    assert build["labels"] == {"harness.image": "svc", "harness.content-hash": digest(repo)}
    assert docker.tagged == [(result.tag, "harness-svc:latest")]


def test_skips_building_when_the_tag_exists(repo: Path) -> None:
    tag = f"harness-svc:{digest(repo)}"
    docker = FakeDocker({BASE: "sha256:base1", tag: "sha256:old"})
    result = images.ensure_image(recipe(), repo, docker)
    assert result == BuildResult("svc", tag, built=False)
    assert docker.builds == []
    assert docker.tagged == [(tag, "harness-svc:latest")]


def test_force_builds_even_when_the_tag_exists(repo: Path) -> None:
    tag = f"harness-svc:{digest(repo)}"
    docker = FakeDocker({BASE: "sha256:base1", tag: "sha256:old"})
    assert images.ensure_image(recipe(), repo, docker, force=True).built


def test_a_rebuilt_base_image_means_a_new_tag(repo: Path) -> None:
    docker = FakeDocker()
    first = images.ensure_image(recipe(), repo, docker)
    docker.images[BASE] = "sha256:base2"
    second = images.ensure_image(recipe(), repo, docker)
    assert second.built and second.tag != first.tag


def test_missing_base_image_says_how_to_build_it(repo: Path) -> None:
    with pytest.raises(DockerError, match="base image .* does not exist") as info:
        images.ensure_image(recipe(), repo, FakeDocker({}))
    assert "make setup" in info.value.hint


def test_missing_dockerfile_is_a_config_error(repo: Path) -> None:
    (repo / "svc" / "Dockerfile").unlink()
    with pytest.raises(ConfigError, match="Dockerfile"):
        images.ensure_image(recipe(), repo, FakeDocker())


def test_build_all_writes_the_map_and_keeps_other_entries(repo: Path) -> None:
    images.write_map(repo, {"other": "harness-other:abc"})
    results = images.build_all(repo, [recipe()], FakeDocker())
    data = json.loads((repo / ".harness" / "images.json").read_text())
    assert data == {"other": "harness-other:abc", "svc": results[0].tag}
    assert images.load_map(repo) == data


def test_build_all_can_skip_recipes_whose_dockerfile_is_not_there_yet(repo: Path) -> None:
    absent = ImageRecipe("later", Path("later"), Path("later/Dockerfile"), {"BASE": BASE})
    docker = FakeDocker()
    results = images.build_all(repo, [recipe(), absent], docker, skip_missing=True)
    assert [r.name for r in results] == ["svc"]
    with pytest.raises(ConfigError):
        images.build_all(repo, [absent], docker)


def test_prune_removes_only_outdated_tags_of_mapped_images(repo: Path) -> None:
    docker = FakeDocker({"harness-svc:old1": "a", "harness-svc:new": "b", "harness-svc:latest": "b",
                         "harness-svc:busy": "c", "harness-other:x": "d"})
    images.write_map(repo, {"svc": "harness-svc:new"})
    assert images.prune(repo, docker) == ["harness-svc:old1"]
    assert sorted(docker.images) == ["harness-other:x", "harness-svc:busy", "harness-svc:latest",
                                     "harness-svc:new"]


def test_load_map_rejects_a_corrupt_file(repo: Path) -> None:
    (repo / ".harness").mkdir()
    (repo / ".harness" / "images.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="name -> tag"):
        images.load_map(repo)
    assert images.load_map(repo / "nowhere") == {}


# --- the docker CLI boundary -----------------------------------------------------------------


def test_cli_backend_translates_a_missing_docker_binary() -> None:
    with pytest.raises(DockerUnavailable, match="not installed"):
        images.DockerCLI(docker="/nonexistent/docker").image_id("x")


class FakePopen:
    """`docker build` that prints steps and fails; records its argv and environment."""

    seen: list[dict[str, object]] = []

    def __init__(self, argv: list[str], **kw: object) -> None:
        FakePopen.seen.append({"argv": argv, **kw})
        self.stdout = iter(["Step 1/3 : FROM harness-base:bookworm-1\n", " ---> abc\n",
                            "Step 2/3 : RUN make\n", "make: *** no rule\n",
                            "The command '/bin/sh -c make' returned a non-zero code: 2\n"])
        self.returncode = 2

    def __enter__(self) -> FakePopen:
        return self

    def __exit__(self, *_: object) -> None:
        pass


def test_cli_backend_translates_failures(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def fake_run(argv: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        if argv[1:3] == ["image", "inspect"] and argv[-1] != "harness-base:bookworm-1":
            return subprocess.CompletedProcess(argv, 1, "", "Error: No such image: x\n")
        return subprocess.CompletedProcess(argv, 0, "sha256:base\n", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(subprocess, "Popen", FakePopen)
    (tmp_path / "Dockerfile").write_text("FROM harness-base:bookworm-1\nRUN make\n")
    cli = images.DockerCLI()
    assert cli.image_id("x") is None
    steps: list[str] = []
    with pytest.raises(BuildError) as info:
        cli.build(tag="t:1", context=tmp_path, dockerfile=tmp_path / "Dockerfile", build_args={},
                  labels={"harness.service": "api"}, progress=steps.append)
    err = info.value
    assert isinstance(err, DockerError) and err.service == "api" and err.dockerfile == str(tmp_path / "Dockerfile")
    assert "failed at Step 2/3 : RUN make" in str(err) and "make: *** no rule" in err.log_tail
    assert "Hint: the failing instruction's output is above" in str(err)
    assert steps == ["Step 1/3 : FROM harness-base:bookworm-1", "Step 2/3 : RUN make"]
    call = FakePopen.seen[-1]
    assert call["env"]["DOCKER_BUILDKIT"] == "0" and "--force-rm" in call["argv"]  # type: ignore[index,operator]


def test_a_missing_base_image_gets_a_hint_naming_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def fake_run(argv: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(argv, 1, "", "Error: No such image: x\n")

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(subprocess, "Popen", FakePopen)
    (tmp_path / "Dockerfile").write_text("ARG BASE=team/base:7\nFROM ${BASE} AS b\nFROM b\n")
    with pytest.raises(BuildError) as info:
        images.DockerCLI().build(tag="t:1", context=tmp_path, dockerfile=tmp_path / "Dockerfile", build_args={},
                                 labels={"harness.service": "api"})
    assert "base image team/base:7 is not on this machine" in info.value.hint
    assert "build or load it first" in info.value.hint


# --- .dockerignore, FROM lines, compose-service recipes -------------------------------------


def test_hash_honours_dockerignore(repo: Path) -> None:
    (repo / "svc" / ".dockerignore").write_text("# run folders and VCS\n.git\n**/*.log\nruns/\n!runs/keep.txt\n")
    before = digest(repo)
    (repo / "svc" / ".git").mkdir()
    (repo / "svc" / ".git" / "HEAD").write_text("ref")
    (repo / "svc" / "runs").mkdir()
    (repo / "svc" / "runs" / "x.yaml").write_text("x")
    (repo / "svc" / "app" / "debug.log").write_text("x")
    assert digest(repo) == before
    (repo / "svc" / "runs" / "keep.txt").write_text("x")
    assert digest(repo) != before, "an exception (!) is part of the context"


def test_hash_ignores_the_harness_run_folders_without_a_dockerignore(repo: Path) -> None:
    before = digest(repo)
    (repo / "svc" / ".harness" / "runs" / "20261130-1").mkdir(parents=True)
    (repo / "svc" / ".harness" / "runs" / "20261130-1" / "compose.yaml").write_text("services: {}\n")
    assert digest(repo) == before


def test_dockerignore_star_with_exception_keeps_just_that_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("proxy.py", "other.py", "sub/x.py", "Dockerfile"):
        (tmp_path / name).write_text("x")
    (tmp_path / ".dockerignore").write_text("*\n!proxy.py\n")
    assert [p.name for p in images.context_files(tmp_path)] == ["proxy.py"]


def test_from_images_skip_stages_and_scratch_and_substitute_args() -> None:
    text = ("ARG BASE=harness-base:bookworm-1\nARG TAG\nFROM ${BASE} AS build\nRUN a \\\n  b\n"
            "FROM build\nFROM scratch\nFROM --platform=linux/amd64 debian:${TAG:-12} as d\n")
    assert images.from_images(text, {}) == ["harness-base:bookworm-1", "debian:12"]
    assert images.from_images(text, {"BASE": "team/b:1", "TAG": "13"}) == ["team/b:1", "debian:13"]


def test_a_compose_service_recipe_hashes_every_from_image_and_has_no_latest(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM harness-base:bookworm-1\nCOPY . /app\n")
    service = ImageRecipe("proj-api", Path("."), Path("Dockerfile"), {}, base_arg=None, service="api")
    docker = FakeDocker()
    result = images.ensure_image(service, tmp_path, docker)
    assert result.built and result.tag.startswith("harness-build/proj-api:") and docker.tagged == []
    assert docker.builds[0]["labels"] == {"harness.image": "proj-api", "harness.service": "api",
                                          "harness.content-hash": result.tag.rpartition(":")[2]}
    docker.images["harness-base:bookworm-1"] = "sha256:rebuilt"
    assert images.planned_tag(service, tmp_path, docker) != result.tag
    target = ImageRecipe("proj-api", Path("."), Path("Dockerfile"), {}, base_arg=None, service="api", target="t")
    assert images.planned_tag(target, tmp_path, docker) != images.planned_tag(service, tmp_path, docker)


def test_the_build_lock_is_exclusive_across_processes(tmp_path: Path) -> None:
    script = ("import sys, time; from harness.env.images import build_lock\n"
              "with build_lock('harness-build/locktest:1'):\n"
              "    open(sys.argv[1], 'a').write('in\\n'); time.sleep(0.3); open(sys.argv[1], 'a').write('out\\n')\n")
    log = tmp_path / "log"
    procs = [subprocess.Popen([sys.executable, "-c", script, str(log)]) for _ in range(2)]
    assert [p.wait(timeout=30) for p in procs] == [0, 0]
    assert log.read_text() == "in\nout\nin\nout\n"


def test_main_lists_recipes(capsys: pytest.CaptureFixture[str]) -> None:
    assert images.main(["--list"]) == 0
    assert "stack" in capsys.readouterr().out


@pytest.mark.docker
def test_builds_a_real_image_once(repo: Path) -> None:
    cli = images.DockerCLI()
    assert cli.image_id(BASE) is not None, f"{BASE} not built (run make setup)"
    first = images.ensure_image(recipe(), repo, cli)
    try:
        second = images.ensure_image(recipe(), repo, cli)
        assert not second.built and second.tag == first.tag
        assert cli.image_id("harness-svc:latest") == cli.image_id(first.tag)
    finally:
        subprocess.run(["docker", "image", "rm", "-f", first.tag, "harness-svc:latest"],
                       capture_output=True, check=False)
