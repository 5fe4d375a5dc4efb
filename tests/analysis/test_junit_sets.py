"""The analyzer on real JUnit sets: behave writes one file per feature, and some tools count tests they never list."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.analysis.inputs import load
from harness.analysis.model import FAILED, PASSED
from harness.cli import main
from harness.errors import AnalysisError

FEATURES = {
    "numbers.feature": "Feature: numbers\n  Scenario: one\n    Given the number 1\n\n"
                       "  Scenario: two\n    Given the number 2\n",
    "ones.feature": "Feature: ones\n  Scenario: one again\n    Given the number 1\n",
    "draft.feature": "Feature: draft\n  Nothing written yet.\n",  # behave: <testsuite tests="0"/>
}
STEPS = 'from behave import given\n\n@given("the number {n:d}")\ndef number(context, n):\n    assert n == 1\n'
SUMMARY_SUITE = ('<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="tap-summary" tests="3" failures="1" '
                 'errors="0" skipped="0" time="0.4"></testsuite>\n')


def behave_junit(tmp_path: Path, features: dict[str, str]) -> list[Path]:
    """Run real behave over ``features`` with --junit: one file per feature."""
    (tmp_path / "features" / "steps").mkdir(parents=True)
    for name, text in features.items():
        (tmp_path / "features" / name).write_text(text)
    (tmp_path / "features" / "steps" / "numbers.py").write_text(STEPS)
    subprocess.run([sys.executable, "-m", "behave", "--junit", "--junit-directory", "junit", "-f", "null"],
                   cwd=tmp_path, capture_output=True, timeout=120)
    return sorted((tmp_path / "junit").glob("*.xml"))


def test_an_empty_feature_file_among_others_is_noted_not_nothing_ran(tmp_path: Path) -> None:
    files = behave_junit(tmp_path, FEATURES)
    assert [f.name for f in files] == ["TESTS-draft.xml", "TESTS-numbers.xml", "TESTS-ones.xml"]
    assert 'tests="0"' in files[0].read_text()
    run = load([str(f) for f in files])
    assert sorted(s.status for s in run.scenarios()) == [FAILED, PASSED, PASSED]
    assert [n for n in run.info.notes if "TESTS-draft.xml" in n and "empty" in n]
    assert len(run.info.sources) == 3


def test_the_input_list_says_which_file_was_empty_and_failures_still_exit_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = behave_junit(tmp_path, FEATURES)
    assert main(["analyze", *map(str, files)]) == 1
    out = capsys.readouterr().out
    assert "TESTS-draft.xml: empty" in out


def test_only_empty_files_is_nothing_ran(tmp_path: Path) -> None:
    files = behave_junit(tmp_path, {"draft.feature": FEATURES["draft.feature"],
                                    "later.feature": "Feature: later\n"})
    assert len(files) == 2
    with pytest.raises(AnalysisError, match="nothing ran: none of the 2 input files holds a test"):
        load([str(f) for f in files])
    assert main(["analyze", *map(str, files)]) == 2


def test_a_summary_suite_counting_a_failure_it_does_not_list_is_a_problem_of_that_suite(tmp_path: Path) -> None:
    files = behave_junit(tmp_path, {"ones.feature": FEATURES["ones.feature"]})
    summary = tmp_path / "junit" / "TAP-summary.xml"
    summary.write_text(SUMMARY_SUITE)
    run = load([*map(str, files), str(summary)])
    assert [s.status for s in run.scenarios()] == [PASSED]  # counted as listed: no made-up failed test
    suite = next(f for f in run.features if f.name == "tap-summary")
    assert suite.scenarios == () and suite.hook_error is not None
    assert "count 1 failure(s) and error(s) but it lists 0" in suite.hook_error.message
    assert main(["analyze", *map(str, files)]) == 0
    assert main(["analyze", *map(str, files), str(summary)]) == 1


def test_a_suite_listing_fewer_failures_than_it_counts_keeps_its_listed_tests(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.xml"
    mixed.write_text('<testsuite name="mixed" tests="3" failures="2">'
                     '<testcase classname="m" name="a"/><testcase classname="m" name="b">'
                     '<failure message="boom"/></testcase></testsuite>')
    run = load([str(mixed)])
    assert sorted(s.status for s in run.scenarios()) == [FAILED, PASSED]
    assert run.features[0].hook_error is not None and "1 not listed" in run.features[0].hook_error.message
    honest = tmp_path / "honest.xml"
    honest.write_text(mixed.read_text().replace('failures="2"', 'failures="1"'))
    assert load([str(honest)]).features[0].hook_error is None
