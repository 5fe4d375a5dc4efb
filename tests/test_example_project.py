"""A second team's project (tests/example_project) runs on the harness installed as a wheel.

The harness is built into a wheel, installed (not editable) into a fresh venv, and that venv's
behave runs the example project's features from a copy in a tmp folder: nginx, the team's API
built from its own Dockerfile, PostgreSQL and Redis, all from Debian's packages. The first run
must build the API's image, the second must not; nothing of either run may be left behind. The copy's
API build context carries one extra file of its own (never copied into the image), so its API tag is
its own: another test on the example project (the sweep, maybe running beside this one) keeps the
stable tags of all five images and neither sees nor builds this one. Real behave, real Docker, real servers.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.env.images import base_image_from_env, build_lock
from harness.env.lifecycle import new_run_id

PROJECT = Path(__file__).parent / "example_project"
REPO = PROJECT.parent.parent
# Built images are tagged harness-build/<project folder>-<service>:<content hash>; the hash covers every file
# of the build context, so the copy's marker file gives its API a tag of its own (the other four keep theirs).
API_MARKER = Path("compose/api/test-copy-id")
API_REPOSITORY = "harness-build/example-project-api"
STABLE_REPOSITORIES = ("harness-build/example-project-", "harness-faultproxy")
SCENARIOS = 15  # every scenario in tests/example_project/features (deliberately_failing/ holds the failing ones)

# What a wheel must carry besides modules: everything the package reads at run time.
PACKAGE_DATA = ["harness/py.typed", "harness/faults/Dockerfile", "harness/faults/proxy.py",
                "harness/analysis/default_rules.yaml", "harness/stepdefs/http_steps.py",
                "harness/stepdefs/fault_steps.py", "harness/stepdefs/load_steps.py",
                "harness/scaffold/environment.py", "harness/scaffold/steps/use_harness.py",
                "harness/scaffold/environments/stub.yaml", "harness/scaffold/compose/stub.yaml.j2",
                "harness/scaffold/features/stub.feature", "harness/scaffold/behave.ini",
                "harness/scaffold/gitignore"]


def _run(argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{argv}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


# The wheel and its venv are built once per state of the package's source (harness/ and pyproject.toml), kept
# under .harness/test-cache/ by content hash: the unit phase of `make test` builds them (the two tests below that
# need no Docker), where CPU sits idle, and the Docker phase finds them ready. A changed source gets a new pair.
CACHE = REPO / ".harness" / "test-cache"


@functools.cache
def source_key() -> str:
    """A hash of every file the wheel is built from (the package's source and pyproject.toml), read once a session."""
    digest = hashlib.sha256()
    files = [p for p in (REPO / "harness").rglob("*")
             if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    for path in sorted([*files, REPO / "pyproject.toml"]):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def cached(kind: str) -> Iterator[tuple[Path, bool]]:
    """``(folder, ready)`` for this source's ``kind`` (wheel, venv), under the harness's machine-wide build lock (other
    pytest workers wait for it): ``ready`` when an earlier test completed it; otherwise the folder is empty, the
    caller fills it, and it counts as complete only if the caller returns without an error. Other sources' folders
    of that kind are removed."""
    folder = CACHE / f"{kind}-{source_key()}"
    done = folder.with_name(folder.name + ".done")
    with build_lock(f"test-cache:{CACHE / kind}"):  # one per kind: the stale sweep below is under it too
        if done.exists():
            yield folder, True
            return
        CACHE.mkdir(parents=True, exist_ok=True)
        for stale in CACHE.glob(f"{kind}-*"):
            if stale.is_dir():
                shutil.rmtree(stale)
            else:
                stale.unlink()
        folder.mkdir()
        yield folder, False
        done.touch()


@pytest.fixture(scope="module")
def wheel() -> Path:
    """The harness's wheel, built from a clean copy of the package (no stale build/ folder)."""
    with cached("wheel") as (folder, ready):
        if not ready:
            shutil.copytree(REPO / "harness", folder / "src" / "harness",
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            shutil.copy(REPO / "pyproject.toml", folder / "src" / "pyproject.toml")
            _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q",
                  "-w", str(folder / "dist"), str(folder / "src")], timeout=300)
        (found,) = (folder / "dist").glob("harness-*.whl")
        return found


@pytest.fixture(scope="module")
def venv(wheel: Path) -> Path:
    """The bin/ folder of a fresh venv with only the wheel installed, dependencies from PyPI as the wheel's metadata
    names them. uv (a dev dependency) installs it in ~3 s where venv + pip took ~20 s of CPU; pip when uv is
    missing."""
    with cached("venv") as (folder, ready):
        if not ready:
            uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
            if uv:
                _run([uv, "venv", "-q", "--python", sys.executable, str(folder)], timeout=120)
                _run([uv, "pip", "install", "-q", "--compile-bytecode", "--python", str(folder / "bin" / "python"),
                      str(wheel)], timeout=600)
            else:
                _run([sys.executable, "-m", "venv", str(folder)], timeout=120)
                _run([str(folder / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                      str(wheel)], timeout=600)
        return folder / "bin"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example project (same folder name, so the same stable tags for nginx, db, cache and ws) whose
    API context holds a marker file of its own: an API tag nobody else has (see ``own_api_tags``)."""
    target = tmp_path_factory.mktemp("team") / "example_project"
    shutil.copytree(PROJECT, target, ignore=shutil.ignore_patterns(".harness", "__pycache__"))
    (target / API_MARKER).write_text(secrets.token_hex(8) + "\n")
    return target


@pytest.fixture(scope="module")
def own_api_tags() -> Iterator[list[str]]:
    """The copy's API tags, as the test that builds them finds them; removed after the module's last test (the
    stable tags' layers stay: docker's layer cache for the next build)."""
    tags: list[str] = []
    yield tags
    if tags:
        subprocess.run(["docker", "rmi", *tags], capture_output=True, check=False)


def behave(venv: Path, project: Path, *targets: str) -> tuple[subprocess.CompletedProcess[str], str, float]:
    """Run the venv's behave on ``targets`` in ``project``; return the result, the run id, the seconds taken."""
    run_id = new_run_id()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("HARNESS_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["HARNESS_BASE_IMAGE"] = base_image_from_env()
    out = project / f"{run_id}.json"
    started = time.monotonic()
    done = subprocess.run([str(venv / "behave"), "-D", f"run_id={run_id}", "-f", "json", "-o", str(out),
                           "-f", "plain", *targets],  # -o binds to the -f before it
                          cwd=project, env=env, capture_output=True, text=True, timeout=900)
    return done, run_id, time.monotonic() - started


def docker_lines(*args: str) -> list[str]:
    """The output lines of a docker CLI command."""
    return _run(["docker", *args]).stdout.split()


def api_images() -> dict[str, str]:
    """``repository:tag`` -> image id of the API's stable tags."""
    rows = docker_lines("images", API_REPOSITORY, "--format", "{{.Repository}}:{{.Tag}}={{.ID}}")
    return dict(row.split("=", 1) for row in rows)


def images() -> dict[str, str]:
    """Image id -> ``repository:tag`` of every image on the engine."""
    rows = docker_lines("images", "--format", "{{.ID}}={{.Repository}}:{{.Tag}}")
    return dict(row.split("=", 1) for row in rows)


def leftovers(run_id: str) -> dict[str, list[str]]:
    """Containers, networks, volumes and images labelled with ``run_id`` (all should be gone)."""
    label = f"label=harness.run={run_id}"
    return {"containers": docker_lines("ps", "-a", "--filter", label, "--format", "{{.Names}}"),
            "networks": docker_lines("network", "ls", "--filter", label, "--format", "{{.Name}}"),
            "volumes": docker_lines("volume", "ls", "--filter", label, "--format", "{{.Name}}"),
            "images": docker_lines("images", "--filter", label, "--format", "{{.ID}}")}


def per_run_images(image_ids: set[str]) -> list[str]:
    """Of these new images, those of this project without a stable tag (the engine is shared: others build too)."""
    refs, found = images(), []
    for image_id in sorted(image_ids):
        inspected = subprocess.run(["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", image_id],
                                   capture_output=True, text=True)
        if inspected.returncode != 0:  # removed meanwhile (by its owner): not a leftover
            continue
        labels = json.loads(inspected.stdout) or {}
        ours = (labels.get("harness.image", "").startswith("example-project-")
                or labels.get("com.docker.compose.project", "").endswith(("-shop", "-shop-plain")))
        if ours and not refs.get(image_id, "").startswith(STABLE_REPOSITORIES):
            found.append(f"{image_id} {refs.get(image_id)} {labels}")
    return found


def bring_up_seconds(output: str, env: str) -> float:
    """The bring-up time the harness printed for ``env`` (``[env 12.3s] ready: N services``)."""
    match = re.search(rf"\[{re.escape(env)}\s+(\d+(?:\.\d+)?)s\] ready", output)
    assert match, f"no bring-up line for {env!r} in the output:\n{output[-3000:]}"
    return float(match.group(1))


def test_the_wheel_carries_everything_a_team_needs(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [name for name in PACKAGE_DATA if name not in names] == []
    assert not any("__pycache__" in name or name.startswith(("tests/", "steps/", "services/")) for name in names)


def test_the_wheel_installs_with_its_dependencies_into_a_venv_of_its_own(venv: Path) -> None:
    """The venv imports the installed wheel (not this checkout's source: -I keeps the current folder and PYTHONPATH
    off sys.path) and every dependency the steps need."""
    imports = ("harness, behave, aiohttp, httpx, jinja2, yaml, docker, psycopg, redis, harness.stepdefs.http_steps, "
               "harness.stepdefs.fault_steps, harness.stepdefs.load_steps")
    done = _run([str(venv / "python"), "-I", "-c", f"import {imports}; print(harness.__file__)"])
    assert Path(done.stdout.strip()).is_relative_to(venv.parent), done.stdout
    assert "usage: harness" in _run([str(venv / "harness"), "--help"]).stdout


@pytest.mark.docker
def test_the_example_project_passes_from_a_wheel_built_once_and_leaves_nothing(
        venv: Path, project: Path, own_api_tags: list[str], record_property: Callable[[str, object], None]) -> None:
    stable = api_images()  # the stable tag (if another test or run built it) is not this copy's
    before = images()

    first, first_id, first_took = behave(venv, project, "features")
    first_out = first.stdout + first.stderr
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
    assert f"{SCENARIOS} scenarios passed, 0 failed" in first.stdout
    # Both environments (template and plain compose file) share the tag; the first one up builds it.
    built_by = re.search(rf"\[(shop|shop-plain)\] build api: built in ([\d.]+) s \(({re.escape(API_REPOSITORY)}:\w+)\)",
                         first_out)
    assert built_by, first_out[:4000]
    own_tag = built_by.group(3)
    own_api_tags.append(own_tag)
    assert own_tag not in stable, f"the copy's API tag {own_tag} existed before its first run"
    assert len(re.findall(r"build api: built in", first_out)) == 1, first_out[:4000]  # not once per environment
    built = api_images().get(own_tag)
    assert built, api_images()

    second, second_id, second_took = behave(venv, project, "features/shop.requests.feature")
    assert second.returncode == 0, second.stdout[-6000:] + second.stderr[-3000:]
    assert "4 scenarios passed, 0 failed" in second.stdout
    second_out = second.stdout + second.stderr
    assert "build api: up to date" in second_out and "build api: built" not in second_out
    assert "Step 1/" not in second_out  # no docker build ran at all
    assert api_images().get(own_tag) == built  # same tag, same image id

    timings = {"API build": float(built_by.group(2)),
               "first bring-up (API built)": bring_up_seconds(first_out, built_by.group(1)),
               "second bring-up (nothing built)": bring_up_seconds(second_out, "shop"),
               "first run": round(first_took, 1), "second run": round(second_took, 1)}
    record_property("example_project_seconds", json.dumps(timings))
    print(f"example project, seconds: {timings}")

    for run_id in (first_id, second_id):
        assert leftovers(run_id) == {"containers": [], "networks": [], "volumes": [], "images": []}
    assert per_run_images(set(images()) - set(before)) == []


# the deliberately failing run: behave's result, the run id, the first scenario of each feature by file name
FailingRun = tuple[subprocess.CompletedProcess[str], str, dict[str, Any]]


@pytest.fixture(scope="module")
def failing_run(venv: Path, project: Path) -> FailingRun:
    """One behave run of deliberately_failing/ (both features on one environment): the result, the run id, and
    the first scenario of each feature by its file name."""
    done, run_id, _ = behave(venv, project, "deliberately_failing")
    features = json.loads((project / f"{run_id}.json").read_text())
    return done, run_id, {Path(f["location"].split(":")[0]).name: f["elements"][0] for f in features}


@pytest.mark.docker
def test_a_deliberately_failing_check_fails_with_its_message(
        failing_run: FailingRun) -> None:
    done, run_id, scenarios = failing_run
    assert done.returncode == 1, done.stdout[-4000:] + done.stderr[-4000:]
    scenario = scenarios["broken.feature"]
    assert scenario["status"] == "failed"
    step = scenario["steps"][1]
    assert step["result"]["status"] == "failed"
    message = "".join(step["result"]["error_message"])
    assert "the response JSON at 'status': expected \"degraded\", got \"ok\"" in message
    assert "GET http://127.0.0.1:" in message and "/health answered 200" in message
    assert leftovers(run_id) == {"containers": [], "networks": [], "volumes": [], "images": []}


@pytest.mark.docker
def test_harness_init_from_the_wheel_scaffolds_a_project_that_passes(venv: Path, tmp_path: Path) -> None:
    _run([str(venv / "harness"), "init", str(tmp_path / "new-team")])
    done, run_id, _ = behave(venv, tmp_path / "new-team")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "1 scenario passed, 0 failed" in done.stdout
    assert leftovers(run_id) == {"containers": [], "networks": [], "volumes": [], "images": []}


@pytest.mark.docker
def test_a_service_that_never_comes_back_fails_clearly_naming_it_the_attempts_and_the_last_error(
        failing_run: FailingRun) -> None:
    done, run_id, scenarios = failing_run
    assert done.returncode == 1, done.stdout[-4000:] + done.stderr[-4000:]
    step = scenarios["never_back.feature"]["steps"][1]
    assert step["result"]["status"] == "failed"  # a check that failed, not a harness error
    message = "".join(step["result"]["error_message"])
    assert re.search(r"service 'ws' did not come back within 5 s \('within N seconds:', \d+ attempts\); "
                     r"last error: NoAddress: service 'ws' publishes no port 8080 \(it is not running now\)", message)
    assert 5 <= step["result"]["duration"] < 15  # the block's deadline, not a client's
    assert leftovers(run_id) == {"containers": [], "networks": [], "volumes": [], "images": []}
