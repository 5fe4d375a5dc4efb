"""rerun.txt works from where it lies and from the project root; `harness run --rerun [RUN]` re-runs failures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from behave.runner_util import FeatureListParser

from harness.runfolder import RunFolder, latest_link
from harness.runfolder.rerun import MARKER

FEATURE = """Feature: numbers
  Scenario: one is one
    Given the number 1

  Scenario: two is not one
    Given the number 2
"""
STEPS = """from behave import given

@given("the number {n:d}")
def step_number(context, n):
    assert n == 1, f"{n} is not 1"
"""


def _listed(listfile: str) -> list[str]:
    """The files behave 1.3 itself finds in a list file (``behave @listfile``)."""
    return [str(location.filename) for location in FeatureListParser.parse_file(listfile)]


def _run_folder(root: Path) -> RunFolder:
    run = RunFolder(root / ".harness" / "runs" / "20261206-120000-abcdef")
    run.path.mkdir(parents=True)
    (root / "features").mkdir()
    (root / "features" / "x.feature").write_text(FEATURE)
    latest_link(run.path.parent).symlink_to(run.path.name)
    return run


def test_rerun_paths_are_written_relative_to_the_run_folder(tmp_path: Path) -> None:
    run = _run_folder(tmp_path)
    run.write_rerun(["features/x.feature:5"], tmp_path)
    assert run.rerun.read_text().splitlines()[1:] == [MARKER, "../../../features/x.feature:5"]
    assert run.read_rerun(tmp_path) == ["features/x.feature:5"]
    assert run.read_rerun(tmp_path / "features") == ["x.feature:5"]


@pytest.mark.parametrize("where", ["root", "run folder", "elsewhere"])
@pytest.mark.parametrize("through", ["run id", "latest link", "absolute"])
def test_behave_finds_the_rerun_files_scenarios_from_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              where: str, through: str) -> None:
    run = _run_folder(tmp_path / "project")
    root = run.path.parents[2]
    run.write_rerun(["features/x.feature:5"], root)
    folder = run.path if through != "latest link" else latest_link(run.path.parent)
    cwd = {"root": root, "run folder": folder, "elsewhere": tmp_path}[where]
    monkeypatch.chdir(cwd)
    listfile = str(folder / run.rerun.name) if through == "absolute" else os.path.relpath(folder / run.rerun.name)
    found = _listed(listfile)
    assert [Path(f).resolve() for f in found] == [(root / "features" / "x.feature").resolve()]


def test_behaves_own_rerun_file_is_read_relative_to_the_project_root(tmp_path: Path) -> None:
    """Worker folders hold behave's rerun formatter's file (no marker): paths relative to where behave ran."""
    run = _run_folder(tmp_path)
    run.rerun.write_text("# -- RERUN: 1 failing scenarios during last test run.\nfeatures/x.feature:5\n")
    assert run.read_rerun(tmp_path) == ["features/x.feature:5"]


def _harness(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=project, capture_output=True,
                          text=True, timeout=120)


def _behave(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "behave", "--no-color", *args], cwd=project,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project of one feature whose second scenario fails; no environment, no Docker."""
    (tmp_path / "features" / "steps").mkdir(parents=True)
    (tmp_path / "features" / "x.feature").write_text(FEATURE)
    (tmp_path / "features" / "steps" / "numbers.py").write_text(STEPS)
    return tmp_path


def test_a_runs_failures_rerun_with_behave_at_file_and_harness_run_rerun(project: Path) -> None:
    first = _harness(project, "run")
    assert first.returncode == 1, first.stdout + first.stderr
    runs = project / ".harness" / "runs"
    first_id = os.readlink(latest_link(runs))

    plain = _behave(project, f"@{runs}/latest/rerun.txt")
    assert plain.returncode == 1 and "FileNotFoundError" not in plain.stderr, plain.stdout + plain.stderr
    assert "0 scenarios passed, 1 failed, 1 skipped" in plain.stdout

    again = _harness(project, "run", "--rerun")
    assert again.returncode == 1, again.stdout + again.stderr
    assert "0 scenarios passed, 1 failed, 1 skipped" in again.stdout
    assert os.readlink(latest_link(runs)) != first_id

    by_id = _harness(project, "run", "--rerun", first_id)
    assert by_id.returncode == 1 and "0 scenarios passed, 1 failed, 1 skipped" in by_id.stdout


def test_rerun_of_a_run_without_failures_runs_nothing_and_passes(project: Path) -> None:
    (project / "features" / "x.feature").write_text(FEATURE.replace("number 2", "number 1"))
    assert _harness(project, "run").returncode == 0
    done = _harness(project, "run", "--rerun")
    assert done.returncode == 0 and "nothing to re-run" in done.stdout


def test_rerun_of_an_unknown_run_is_exit_2_naming_the_option(project: Path) -> None:
    done = _harness(project, "run", "--rerun", "no-such-run")
    assert done.returncode == 2 and "--rerun" in done.stderr and "Hint:" in done.stderr
