"""Docker-backed: a team's compose project — builds, relative paths, secrets, fixed ports.

Its own file (split from test_lifecycle.py) so `make test` runs it beside the lifecycle tests: every
build_project copy has its own folder name, image tags and project names.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.engine.compose import ComposeRunner
from harness.errors import BuildError
from tests.conftest import FIXTURES, harness_containers
from tests.system.test_lifecycle import assert_nothing_left, environment

pytestmark = pytest.mark.docker


@contextlib.contextmanager
def buildproject_copy(parent: Path) -> Iterator[Path]:
    """A copy of tests/fixtures/buildproject in a uniquely named folder (its image tags are its own); its images
    are removed afterwards."""
    target = parent / f"buildproject-{secrets.token_hex(3)}"
    shutil.copytree(FIXTURES / "buildproject", target)
    team = target / f"team-{target.name[-6:]}"
    (target / "team").rename(team)
    (target / "environments" / "team.yaml").write_text(f"compose: ../{team.name}/docker-compose.yml\n")
    try:
        yield target
    finally:
        for prefix in (target.name, team.name):
            refs = subprocess.run(["docker", "image", "ls", "-q", f"harness-build/{prefix}-*"],
                                  capture_output=True, text=True, check=True).stdout.split()
            if refs:
                subprocess.run(["docker", "image", "rm", "-f", *refs], capture_output=True, check=False)


@pytest.fixture
def build_project(tmp_path: Path) -> Iterator[Path]:
    """A copy of its own for a test that changes it or must build in it."""
    with buildproject_copy(tmp_path) as target:
        yield target


@pytest.fixture(scope="module")
def app_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One copy for the tests that run its `app` environment as it is: the first (in file order) builds the app's
    image, the others find it built (its build is checked once, not paid once per test)."""
    with buildproject_copy(tmp_path_factory.mktemp("app")) as target:
        yield target


def built_images(prefix: str) -> list[str]:
    out = subprocess.run(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}",
                          f"harness-build/{prefix}-*"], capture_output=True, text=True, check=True).stdout
    return sorted(out.split())


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def test_a_team_project_builds_once_and_reads_files_mounted_from_beside_the_template(app_project: Path) -> None:
    build_project = app_project  # the first test on it: it builds
    first = environment(build_project, "app")
    started = time.monotonic()
    with first:
        first_seconds = time.monotonic() - started
        assert [(r.name, r.built) for r in first.built] == [(f"{build_project.name}-app", True)]
        url = first.url("app")
        assert get(url + "/site.conf").startswith("server_name team.example;")  # short bind syntax
        assert get(url + "/extra/note.txt") == "extra mounted\n"  # long bind syntax
        assert get(url + "/motd.txt") == "motd from configs\n"  # top-level configs: file
        assert get(url + "/built.txt") == "built hello from the team's image\n"  # built from ./app
        env_vars = first.container("app").attrs["Config"]["Env"]
        assert "GREETING=from-env-file" in env_vars  # env_file
        assert "DB_URL=postgres://app:pw-Zq8vT3xK@db/app" in env_vars  # secret reached compose's environment
        assert built_images(build_project.name) == [first.built[0].tag]
        decorated = first.compose_file.read_text()
        assert "build:" not in decorated and f"image: {first.built[0].tag}" in decorated
        assert "--project-directory " + str(build_project / "compose") in decorated
        assert f"source: {build_project / 'compose' / 'conf' / 'site.conf'}" in first.compose("config")
    assert_nothing_left(first.run_id)
    (build_project / "compose" / "app" / "debug.log").write_text("ignored by .dockerignore")
    second = environment(build_project, "app")
    started = time.monotonic()
    with second:
        second_seconds = time.monotonic() - started
        assert [(r.tag, r.built) for r in second.built] == [(first.built[0].tag, False)], "second run: no build"
        assert get(second.url("app") + "/site.conf").startswith("server_name")
    assert built_images(build_project.name) == [first.built[0].tag], "no image per run"
    assert_nothing_left(second.run_id)
    third = environment(build_project, "app-compose")  # `compose: x.j2`: an absolute template path
    with third:
        assert third.services["app"].port == 8000 and not third.built[0].built
        assert get(third.url("app") + "/site.conf").startswith("server_name")
    assert_nothing_left(third.run_id)
    print(f"\nteam project bring-up: first (with build) {first_seconds:.1f} s, second {second_seconds:.1f} s")


def test_a_broken_dockerfile_names_service_dockerfile_and_the_failing_output(build_project: Path) -> None:
    env = environment(build_project, "broken-build")
    with pytest.raises(BuildError) as err:
        env.start()
    exc = err.value
    assert exc.service == "broken" and exc.dockerfile == str(build_project / "compose" / "broken" / "Dockerfile")
    assert "error: missing semicolon at main.c:3" in exc.log_tail and "DEPRECATED" not in exc.log_tail
    assert "failed at Step 2/" in str(exc) and "compiling the team's app" in str(exc)
    assert "Hint:" in str(exc)
    assert built_images(build_project.name) == []
    assert_nothing_left(env.run_id)
    leftovers = subprocess.run(["docker", "ps", "-aq", "--filter", "status=exited", "--filter",
                                f"ancestor={env.run_id}"], capture_output=True, text=True).stdout.split()
    assert leftovers == []


def test_a_plain_compose_file_with_a_fixed_port_runs_twice_at_once(build_project: Path) -> None:
    one, two = environment(build_project, "team"), environment(build_project, "team")
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:  # both build the same tag at the same time
            errors = [f.exception(timeout=300) for f in [pool.submit(env.start) for env in (one, two)]]
        assert errors == [None, None]
        assert one.services["web"].port == 8000
        urls = {one.url("web"), two.url("web")}
        assert len(urls) == 2 and all(u.startswith("http://127.0.0.1:") for u in urls)
        assert all("plain compose file" in get(u + "/index.html") for u in urls)
        for env in (one, two):  # the fixed container_name is gone but still resolves on the project network
            container = env.container("web")
            assert container.name != "team-web"
            lookup = container.exec_run(["python3", "-c", "import urllib.request; print(urllib.request.urlopen("
                                         "'http://team-web:8000/index.html').read().decode())"])
            assert lookup.exit_code == 0 and "plain compose file" in lookup.output.decode(), lookup.output
        assert sorted(r.built for r in (*one.built, *two.built)) == [False, True], "built once"
    finally:
        one.down()
        two.down()
    for env in (one, two):
        assert_nothing_left(env.run_id)


def test_no_file_of_the_run_folder_holds_a_secret_value(app_project: Path) -> None:
    env = environment(app_project, "app")
    with env:
        assert "started with db=postgres://app:pw-Zq8vT3xK@db/app" in env.logs("app")
        env.artifacts.save_failure_logs("a step failed")
        env.artifacts.save_startup_failure()  # logs/compose.log and inspect/*.json, as after a failed start
        # the watchdog's and janitor's `down` run without the secrets in their environment: still fine
        ComposeRunner(env.project, [env.compose_file], project_directory=env.source_dir).down(10)
        assert harness_containers(env.run_id) == []
    assert_nothing_left(env.run_id)
    run_folder = env.run_dir.parent
    files = [p for p in run_folder.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"compose.yaml", "compose.rendered.yaml", "compose.log"} <= names and any(n.endswith(".json") for n in names)
    holding = [str(p) for p in files if b"pw-Zq8vT3xK" in p.read_bytes()]
    assert holding == []
    assert "${HARNESS_SECRET_DB_PASSWORD}" in (env.run_dir / "compose.rendered.yaml").read_text()
