"""`harness steps --hollow` flags checks that cannot fail, and this repository's steps have none."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.catalog import main, static_hollow

REPO = Path(__file__).resolve().parent.parent

CANNOT_FAIL = '''
from behave import then
from harness import expect

@then("a constant")
def constant(context):
    expect.that(True, "always")

@then("self equal")
def self_equal(context):
    value = context.value
    expect.equal(value, value, "itself")

@then("self compare")
def self_compare(context):
    expect.that(context.a.b == context.a.b, "itself")

@then("two constants")
def two_constants(context):
    expect.at_most(1, 2, "numbers")
'''

CAN_FAIL = '''
from behave import then
from harness import expect

@then("real")
def real(context):
    expect.that(context.response.status_code == 200, "status")
    expect.equal(context.got, context.wanted, "value")
    expect.at_most(context.p99, 250, "p99")
    expect.drove("configured the target")
'''


def test_checks_that_cannot_fail_are_flagged_with_their_line(tmp_path: Path) -> None:
    (tmp_path / "bad_steps.py").write_text(CANNOT_FAIL)
    found = static_hollow(tmp_path)
    reasons = {int(h.location.rsplit(":", 1)[1]): h.name for h in found}
    assert sorted(reasons) == [7, 12, 16, 20], found
    assert "constant condition (True)" in reasons[7]
    assert "compares value with itself" in reasons[12]
    assert "compares context.a.b with itself" in reasons[16]
    assert "two constants" in reasons[20]


def test_checks_that_can_fail_are_not_flagged(tmp_path: Path) -> None:
    (tmp_path / "good_steps.py").write_text(CAN_FAIL)
    assert static_hollow(tmp_path) == []


def test_this_repository_has_no_hollow_step_and_no_check_that_cannot_fail(
        capsys: pytest.CaptureFixture[str]) -> None:
    # steps/ loads the generic library, so the scan covers harness/stepdefs too.
    code = main(["--hollow", "--dir", str(REPO / "steps")])
    out = capsys.readouterr().out
    assert code == 0, f"hollow steps or checks that cannot fail:\n{out}"


def test_a_project_that_loads_the_generic_library_has_it_scanned_too(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    library = tmp_path / "library"
    library.mkdir()
    (library / "planted_steps.py").write_text(CANNOT_FAIL)
    monkeypatch.setattr("harness.steplib.steps_dir", lambda: library)
    project = tmp_path / "steps"
    project.mkdir()
    (project / "use_harness.py").write_text("from harness.steplib import use_generic_steps\nuse_generic_steps()\n")
    found = static_hollow(project)
    assert {h.location.rsplit(":", 1)[0] for h in found} == {str(library / "planted_steps.py")}
    (project / "use_harness.py").write_text("# loads nothing\n")
    assert static_hollow(project) == []
