"""Bad input exits 2 with a message that names the file, what was expected and where it broke."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from harness.analysis.cli import analyze_main
from harness.analysis.inputs import FORMATS
from harness.errors import AnalysisError, HarnessError


def _fail(path: Path) -> str:
    """Run `harness analyze PATH`; it must raise an exit-2 error: return its message."""
    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(HarnessError) as caught:
        analyze_main([str(path)])
    assert caught.value.exit_code == 2
    assert isinstance(caught.value, AnalysisError)
    message = str(caught.value)
    assert str(path) in message and "Traceback" not in message
    return message


def _write(tmp_path: Path, name: str, raw: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(raw)
    return path


def test_non_utf8_json_names_the_byte_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "r.json", b'[{"keyword": "Feature",\n "name": "caf\xe9"}]')
    message = _fail(path)
    assert "byte 37" in message and "line 2" in message and FORMATS in message


def test_non_utf8_junit_names_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "r.xml", b'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="caf\xe9"/>')
    message = _fail(path)
    assert "line 2" in message and "JUnit XML" in message


def test_a_json_object_is_not_a_result_file(tmp_path: Path) -> None:
    message = _fail(_write(tmp_path, "package.json", b'{\n  "name": "x",\n  "version": "1.0.0"\n}\n'))
    assert f"this is not one of: {FORMATS}" in message
    assert message.count("\n") <= 2  # one complaint, not one per line


def test_a_one_line_json_object_with_other_keys_is_not_a_result_file(tmp_path: Path) -> None:
    message = _fail(_write(tmp_path, "x.json", b'{"name": "x", "version": "1.0.0"}\n'))
    assert "this is not one of" in message and "'name'" in message


def test_a_json_array_of_something_else(tmp_path: Path) -> None:
    assert "this is not one of" in _fail(_write(tmp_path, "x.json", b'[1, 2, 3]'))
    assert "this is not one of" in _fail(_write(tmp_path, "y.json", b'[{"a": 1}]'))


def test_xml_that_is_not_junit(tmp_path: Path) -> None:
    message = _fail(_write(tmp_path, "pom.xml", b"<project><modelVersion>4</modelVersion></project>"))
    assert "<project>" in message and "this is not one of" in message


def test_truncated_json_says_where(tmp_path: Path) -> None:
    message = _fail(_write(tmp_path, "t.json", b'[{"keyword": "Feature", "name": "x", "location": "a:1",\n'))
    assert "truncated JSON" in message and "line" in message


def test_truncated_xml_says_where(tmp_path: Path) -> None:
    message = _fail(_write(tmp_path, "t.xml", b'<testsuite name="s">\n<testcase name="a">\n'))
    assert "unreadable XML at line" in message


def test_a_broken_ndjson_line_names_its_number(tmp_path: Path) -> None:
    message = _fail(_write(tmp_path, "m.ndjson", b'{"meta": {"protocolVersion": "1"}}\n{"pickle": \n'))
    assert "m.ndjson:2" in message and "Cucumber Messages" in message


def test_empty_and_blank_files(tmp_path: Path) -> None:
    assert "empty file" in _fail(_write(tmp_path, "e.json", b""))
    assert "empty file" in _fail(_write(tmp_path, "b.xml", b"\n  \n"))


def test_binary_junk(tmp_path: Path) -> None:
    assert "this is not one of" in _fail(_write(tmp_path, "x.bin", b"\x89PNG\r\n\x1a\n\x00\x00"))


def test_valid_files_holding_no_test_are_nothing_ran_naming_the_file(tmp_path: Path) -> None:
    for name, raw in (("e.xml", b'<testsuites><testsuite name="s" tests="0"/></testsuites>'),
                      ("e.json", b"[]"),
                      ("e.ndjson", b'{"meta": {"protocolVersion": "1"}}\n{"testRunFinished": {"success": true}}\n')):
        assert "nothing ran" in _fail(_write(tmp_path, name, raw))


def test_all_skipped_junit_is_nothing_ran_without_behave_hints(tmp_path: Path) -> None:
    message = _fail(_write(tmp_path, "s.xml", b'<testsuite name="s"><testcase name="a"><skipped/></testcase>'
                                              b"</testsuite>"))
    assert "nothing ran" in message and "behave" not in message


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    message = _fail(tmp_path / "nope.xml")
    assert "no such file" in message


@pytest.mark.parametrize("raw", [b'[{"uri": "f.feature", "elements": "oops"}]',
                                 b'[{"uri": "f.feature", "elements": [{"steps": [1, 2]}]}]',
                                 b'[{"location": "f.feature:1", "status": "passed", "elements": [3]}]',
                                 b'{"pickle": "not an object"}\n{"testCase": []}\n'])
def test_odd_shapes_are_errors_not_tracebacks(tmp_path: Path, raw: bytes) -> None:
    message = _fail(_write(tmp_path, "odd.json", raw))
    assert "nothing ran" in message or "not shaped like" in message or "not one of" in message


RECORD_LINES = [
    '{"kind": "run", "event": "start", "format": "harness-record/1", "run_id": "r1"}',
    '{"kind": "feature", "name": "F", "location": "features/f.feature:1", "status": "passed", "tags": []}',
    '{"kind": "scenario", "name": "one", "location": "features/f.feature:2", "status": "passed", "tags": []}',
    '{"kind": "step", "keyword": "Then", "name": "x", "location": "features/f.feature:3", "status": "passed"}',
    '{"kind": "scenario", "name": "two", "location": "features/f.feature:4", "status": "passed", "tags": []}',
]


def test_a_record_cut_mid_line_is_read_up_to_the_cut_and_exits_1(tmp_path: Path) -> None:
    text = "\n".join(RECORD_LINES) + "\n" + RECORD_LINES[3][:40]  # the writer was killed mid-line
    path = _write(tmp_path, "record.ndjson", text.encode())
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = analyze_main([str(path)])
    assert code == 1, out.getvalue()  # what was read passed, but the run did not finish
    assert "2 scenarios passed" in out.getvalue()
    assert "the record stops in the middle of line 6" in out.getvalue() and "read up to line 5" in out.getvalue()


def test_a_record_cut_in_its_first_line_is_unreadable(tmp_path: Path) -> None:
    message = _fail(_write(tmp_path, "record.ndjson", RECORD_LINES[0][:30].encode()))
    assert "record.ndjson" in message  # nothing readable: exit 2


def test_an_unfinished_run_is_never_go_even_when_everything_read_passed(tmp_path: Path) -> None:
    """Issue 28: every line read passed, but the record has no end line: exit 1 and NO-GO, saying why."""
    done = _write(tmp_path, "done.ndjson", "\n".join([*RECORD_LINES, '{"kind": "run", "event": "end", '
                                                       '"finished": "2026-12-06T20:00:00+00:00"}']).encode() + b"\n")
    cut = _write(tmp_path, "cut.ndjson", ("\n".join(RECORD_LINES) + "\n").encode())
    outputs = []
    for path, code in ((done, 0), (cut, 1)):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert analyze_main([str(path)]) == code, out.getvalue()
        outputs.append(out.getvalue())
    assert "verdict: GO" in outputs[0], outputs[0]
    assert "verdict: NO-GO" in outputs[1], outputs[1]
    assert "no-go: the run finished (every result is in): the record has no end line" in outputs[1], outputs[1]
