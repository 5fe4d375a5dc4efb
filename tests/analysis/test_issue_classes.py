"""Each class of misreading from issue 11, as a small file that pins the right reading and exit code."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from harness.analysis.cli import analyze_main
from harness.analysis.inputs import load
from harness.analysis.metrics import compute, nonzero, parse_summary
from harness.analysis.model import ERROR, FAILED, HOOK_ERROR, PASSED, SKIPPED, UNDEFINED
from harness.errors import HarnessError

CORPUS = Path(__file__).resolve().parent / "fixtures" / "third_party"


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _code(*paths: Path) -> int:
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return analyze_main([str(p) for p in paths])
    except HarnessError as exc:
        return exc.exit_code


def _statuses(*paths: Path) -> list[str]:
    return [s.status for s in load([str(p) for p in paths]).scenarios()]


# --- JUnit -----------------------------------------------------------------------------------------

NESTED = """<testsuites tests="5"><testsuite name="all" tests="5"><testsuite name="inner" tests="5">
<testsuite name="a" tests="2"><testcase name="t1"/><testcase name="t2"/></testsuite>
<testsuite name="b" tests="2"><testcase name="t1"/><testcase name="t2"/></testsuite>
<testcase name="t5"/></testsuite></testsuite></testsuites>"""


def test_nested_suites_count_each_testcase_once(tmp_path: Path) -> None:
    assert _statuses(_write(tmp_path, "n.xml", NESTED)) == [PASSED] * 5


def test_an_error_on_a_testsuite_is_a_hook_error_and_exits_1(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.xml", '<testsuite name="s" tests="1" errors="1"><testcase name="ok"/>'
                                     '<error message="setUpClass failed">Traceback</error></testsuite>')
    run = load([str(path)])
    assert run.features[0].status == HOOK_ERROR and run.features[0].hook_error is not None
    assert "setUpClass failed" in run.features[0].hook_error.message
    assert _code(path) == 1


def test_a_failed_suite_without_testcases_is_not_nothing_ran(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.xml", '<testsuites><testsuite name="pkg" tests="0">'
                                     '<failure message="build failed"/></testsuite></testsuites>')
    assert _code(path) == 1


@pytest.mark.parametrize(("attrs", "child", "status"), [
    ('status="run"', '<failure message="boom"/>', FAILED),
    ('status="passed"', '<error message="boom"/>', ERROR),
    ('status="disabled"', "", SKIPPED),
    ('status="notrun"', "", SKIPPED),
    ('status="errored"', "", ERROR),
    ('status="run"', "", PASSED),
    ('result="failed"', "", FAILED),
])
def test_child_elements_decide_and_a_status_attribute_only_fills_in(tmp_path: Path, attrs: str, child: str,
                                                                   status: str) -> None:
    path = _write(tmp_path, "t.xml", f'<testsuite name="s"><testcase name="x" {attrs}>{child}</testcase>'
                                     '<testcase name="y"/></testsuite>')
    assert _statuses(path)[0] == status


def test_thousands_separators_in_numbers_do_not_crash(tmp_path: Path) -> None:
    path = _write(tmp_path, "t.xml", '<testsuite name="s" time="2,503.1"><testcase name="x" time="1,234.5"/>'
                                     "</testsuite>")
    run = load([str(path)])
    assert run.features[0].duration == pytest.approx(2503.1)
    assert next(run.scenarios()).duration == pytest.approx(1234.5)


@pytest.mark.parametrize(("encoding", "bom"), [("utf-8", b"\xef\xbb\xbf"), ("utf-16", b""),
                                               ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_junit_with_a_bom_or_in_utf16_reads(tmp_path: Path, encoding: str, bom: bytes) -> None:
    text = (f'<?xml version="1.0" encoding="{encoding.split("-l")[0].split("-b")[0]}"?>'
            '<testsuite name="s"><testcase name="héllo"><failure message="ü"/></testcase></testsuite>')
    path = _write(tmp_path, "t.xml", bom + text.encode(encoding))
    assert _statuses(path) == [FAILED]


def test_junit_in_latin1_honours_its_declaration(tmp_path: Path) -> None:
    text = '<?xml version="1.0" encoding="ISO-8859-1"?><testsuite name="s"><testcase name="caf\xe9"/></testsuite>'
    path = _write(tmp_path, "t.xml", text.encode("latin-1"))
    assert next(load([str(path)]).scenarios()).name == "café"


def test_behave_json_with_a_bom_and_utf16_reads(tmp_path: Path) -> None:
    text = (CORPUS / "behave" / "1.3.3" / "plain.json").read_text()
    for name, raw in (("bom.json", b"\xef\xbb\xbf" + text.encode()), ("u16.json", text.encode("utf-16"))):
        assert len(_statuses(_write(tmp_path, name, raw))) == 13


# --- several files ---------------------------------------------------------------------------------

def test_same_names_in_different_files_are_different_tests(tmp_path: Path) -> None:
    one = _write(tmp_path, "TESTS-a.xml", '<testsuite name="a"><testcase classname="a" name="same"/>'
                                          '<testcase classname="a" name="same"/></testsuite>')
    two = _write(tmp_path, "TESTS-b.xml", '<testsuite name="b"><testcase classname="b" name="same">'
                                          '<failure/></testcase></testsuite>')
    assert sorted(_statuses(one, two)) == [FAILED, PASSED, PASSED]
    assert sorted(_statuses(one) + _statuses(two)) == sorted(_statuses(one, two))


def test_a_rerun_file_with_the_same_test_is_a_retry(tmp_path: Path) -> None:
    first = _write(tmp_path, "a.xml", '<testsuite name="s"><testcase classname="c" name="t" file="t.py" '
                                      'line="3"><failure/></testcase></testsuite>')
    rerun = _write(tmp_path, "b.xml", '<testsuite name="s"><testcase classname="c" name="t" file="t.py" '
                                      'line="3"/></testsuite>')
    run = load([str(first), str(rerun)])
    scenario = next(run.scenarios())
    assert [s.status for s in run.scenarios()] == [PASSED] and scenario.attempts == (FAILED, PASSED)


# --- Cucumber JSON ---------------------------------------------------------------------------------

def test_cucumber_ruby_before_hook_on_the_background_is_a_hook_error() -> None:
    path = CORPUS / "cucumber" / "cucumber-ruby-7.1.0" / "failing-before-hook-with-background.json"
    scenario = next(load([str(path)]).scenarios())
    assert scenario.status == HOOK_ERROR and scenario.error is not None
    assert "Failing before hook" in scenario.error.message


def test_cucumber_js_hook_pseudo_steps_are_hooks_not_steps() -> None:
    path = CORPUS / "cucumber" / "cucumber-js-7.3.2" / "failing-before-hook.json"
    scenario = next(load([str(path)]).scenarios())
    assert scenario.status == HOOK_ERROR
    assert [s.text for s in scenario.steps] == ["Given this step passes"]


def _cucumber(steps: list[dict[str, Any]]) -> str:
    return json.dumps([{"uri": "f.feature", "id": "f", "name": "F", "line": 1, "elements": [
        {"id": "f;s", "type": "scenario", "keyword": "Scenario", "name": "S", "line": 2, "steps": steps}]}])


def test_a_cucumber_step_without_result_is_undefined(tmp_path: Path) -> None:
    steps = [{"keyword": "Given ", "name": "a", "line": 3, "result": {"status": "passed"}},
             {"keyword": "When ", "name": "b", "line": 4},
             {"keyword": "Then ", "name": "c", "line": 5, "result": {"status": "undefined"}}]
    run = load([str(_write(tmp_path, "c.json", _cucumber(steps)))])
    assert [s.status for s in run.steps()] == [PASSED, UNDEFINED, UNDEFINED]
    assert _code(tmp_path / "c.json") == 1


# --- behave JSON -----------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["1.2.6", "1.3.3"])
def test_behave_step_counts_equal_behave_summary(version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = CORPUS / "behave" / version
    monkeypatch.chdir(folder)
    expected = parse_summary((folder / "plain.out.txt").read_text())["step"]
    found = nonzero(compute(load(["plain.json"])).overall.steps)
    assert found == {k: v for k, v in expected.items() if v}


@pytest.mark.parametrize("version", ["1.2.6", "1.3.3"])
def test_behave_after_feature_hook_error_exits_1(version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS / "behave" / version)
    assert _code(Path("after_feature.json")) == 1


@pytest.mark.parametrize(("version", "case"), [("1.2.6", "before_feature"), ("1.2.6", "before_tag"),
                                               ("1.3.3", "before_feature"), ("1.3.3", "before_tag")])
def test_behave_before_feature_or_tag_error_is_a_hook_error_not_nothing_ran(
        version: str, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS / "behave" / version)
    run = load([f"{case}.json"])
    masked = [s for s in run.scenarios() if s.masked_by is not None]
    untested = parse_summary(Path(f"{case}.out.txt").read_text())["scenario"]["untested"]
    assert len(masked) == untested >= 2 and _code(Path(f"{case}.json")) == 1


# --- the exit-code rule ----------------------------------------------------------------------------

@pytest.mark.parametrize(("cases", "code"), [
    ('<testcase name="a"/><testcase name="b"><skipped/></testcase>', 0),       # passed, skips allowed
    ('<testcase name="a"/><testcase name="b"><failure/></testcase>', 1),       # a failure
    ('<testcase name="a"/><testcase name="b"><error/></testcase>', 1),         # an error
    ('<testcase name="a"/><error message="tearDownClass"/>', 1),               # a suite-level hook
    ('<testcase name="a"><skipped/></testcase>', 2),                           # nothing ran
])
def test_exit_code_rule(tmp_path: Path, cases: str, code: int) -> None:
    assert _code(_write(tmp_path, "r.xml", f'<testsuite name="s">{cases}</testsuite>')) == code


def test_the_harness_command_exits_2_on_bad_input_without_a_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = _write(tmp_path, "bad.json", b'{"name": "not results"}')
    done = subprocess.run([sys.executable, "-m", "harness.cli", "analyze", str(path)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr and str(path) in done.stderr


def test_surefire_reruns_are_attempts(tmp_path: Path) -> None:
    path = _write(tmp_path, "TEST-x.xml", '<testsuite name="x"><testcase classname="X" name="flaky">'
                                          '<flakyFailure message="1st"/><system-out>o</system-out></testcase>'
                                          '<testcase classname="X" name="broken"><failure message="3rd"/>'
                                          '<rerunFailure message="1st"/><rerunFailure message="2nd"/></testcase>'
                                          "</testsuite>")
    flaky, broken = load([str(path)]).scenarios()
    assert (flaky.status, flaky.attempts) == (PASSED, (FAILED, PASSED))
    assert (broken.status, broken.attempts) == (FAILED, (FAILED, FAILED, FAILED))
