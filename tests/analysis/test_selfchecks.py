"""Self-checks fail loudly: empty or truncated JSON, `[]` from before_all, nothing selected, aborts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.analysis.inputs import load
from harness.cli import main
from harness.errors import AnalysisError
from tests.analysis.suites import MIXED, run_behave, write_suite


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "behave.json").write_text("")
    with pytest.raises(AnalysisError, match="empty file"):
        load([str(tmp_path / "behave.json")])


def test_truncated_json(tmp_path: Path) -> None:
    text = json.dumps([{"keyword": "Feature", "name": "x", "location": "x.feature:1", "elements": []}])
    (tmp_path / "behave.json").write_text(text[: len(text) // 2])
    with pytest.raises(AnalysisError, match="truncated"):
        load([str(tmp_path / "behave.json")])


def test_before_all_error_gives_empty_array_and_fails_loudly(tmp_path: Path) -> None:
    write_suite(tmp_path, MIXED)
    run = run_behave(tmp_path, "-D", "fail_before_all=1")
    assert json.loads((run.run_dir / "behave.json").read_text()) == []
    with pytest.raises(AnalysisError, match="empty array"):
        load([str(run.run_dir / "behave.json")])
    with pytest.raises(AnalysisError, match="docker daemon not reachable"):
        load([str(run.run_dir / "record.ndjson")])
    assert main(["analyze", str(run.run_dir / "behave.json")]) == 2


def test_tag_expression_that_selected_nothing(tmp_path: Path) -> None:
    write_suite(tmp_path, MIXED)
    run = run_behave(tmp_path, "--tags", "@nosuchtag")
    for name in ("behave.json", "record.ndjson"):
        with pytest.raises(AnalysisError, match="nothing ran"):
            load([str(run.run_dir / name)])


def test_ambiguous_step_aborts_before_any_output(tmp_path: Path) -> None:
    write_suite(tmp_path, MIXED)
    steps = tmp_path / "features" / "steps" / "dup.py"
    steps.write_text("from behave import given\n@given('a base')\ndef _(c):\n    pass\n")
    run = run_behave(tmp_path)
    assert "AmbiguousStep" in run.stdout and not (run.run_dir / "behave.json").exists()
    (run.run_dir / "behave.log").write_text(run.stdout)  # what `harness run` should tee
    with pytest.raises(AnalysisError, match="AmbiguousStep"):
        load([str(run.run_dir)])


def test_missing_input(tmp_path: Path) -> None:
    with pytest.raises(AnalysisError, match="no such file"):
        load([str(tmp_path / "nope.json")])
