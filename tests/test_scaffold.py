"""`harness init`: the scaffold is written whole, never over existing files, and passes under behave."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.env.lifecycle import new_run_id
from harness.errors import ConfigError
from harness.scaffold import PLACEHOLDER, init_project, scaffold_files
from tests.conftest import harness_containers, harness_networks

EXPECTED = {".gitignore", "behave.ini", "environment.py", "steps/use_harness.py", "environments/stub.yaml",
            "compose/stub.yaml.j2", "features/stub.feature"}


def test_init_writes_every_scaffold_file_with_the_base_image(tmp_path: Path) -> None:
    written = init_project(tmp_path / "new", base_image="team/base:7")
    assert {str(path.relative_to(tmp_path / "new")) for path in written} == EXPECTED
    assert {str(path) for path in scaffold_files()} == EXPECTED
    env = (tmp_path / "new" / "environments" / "stub.yaml").read_text()
    assert "default: team/base:7" in env and PLACEHOLDER not in env
    assert "use_generic_steps()" in (tmp_path / "new" / "steps" / "use_harness.py").read_text()
    assert "from harness.run.behave_hooks import" in (tmp_path / "new" / "environment.py").read_text()


def test_init_refuses_to_overwrite_and_names_every_existing_file(tmp_path: Path) -> None:
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "stub.feature").write_text("mine\n")
    (tmp_path / "behave.ini").write_text("[behave]\n")
    with pytest.raises(ConfigError) as caught:
        init_project(tmp_path)
    message = str(caught.value)
    assert "refusing to overwrite 2 existing file(s)" in message
    assert str(tmp_path / "features" / "stub.feature") in message and str(tmp_path / "behave.ini") in message
    assert "Hint:" in message
    assert (tmp_path / "features" / "stub.feature").read_text() == "mine\n"
    assert not (tmp_path / "environment.py").exists()  # all or nothing


def test_init_refuses_a_file_as_the_project_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ConfigError, match="notes.txt: not a folder"):
        init_project(tmp_path / "notes.txt")


def test_harness_init_command_writes_then_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "p")]) == 0
    assert "wrote " + str(tmp_path / "p" / "features" / "stub.feature") in capsys.readouterr().out
    assert main(["init", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert "harness init: ConfigError" in err and "refusing to overwrite 7 existing file(s)" in err


@pytest.mark.docker
def test_the_scaffold_passes_under_behave_and_leaves_nothing_running(tmp_path: Path) -> None:
    project = tmp_path / "team"
    init_project(project)
    run_id = new_run_id()
    done = subprocess.run([sys.executable, "-m", "behave", "-D", f"run_id={run_id}", "-f", "plain"],
                          cwd=project, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "1 scenario passed, 0 failed" in done.stdout
    assert harness_containers(run_id) == [] and harness_networks(run_id) == []
