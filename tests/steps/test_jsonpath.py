"""Dotted JSON paths, literals and strict JSON comparison."""

from __future__ import annotations

import pytest

from harness.clients import jsonpath
from harness.errors import HarnessError, VerificationFailed
from harness.expect import LEDGER

DOC = {"error": {"code": "bad"}, "items": [{"id": 1}, {"id": 2}], "workers": [{"state": "a"}] * 3,
       "a.b": {"c": True}, "n": None}


@pytest.mark.parametrize(("path", "value"), [
    ("error.code", "bad"), ("items.0.id", 1), ("items[1].id", 2), ("workers[2].state", "a"),
    ("items[-1].id", 2), ('["a.b"].c', True), ("['a.b'].c", True), ("n", None), ("", DOC), ("$", DOC),
    ("$.error.code", "bad"),
])
def test_paths_find_values(path: str, value: object) -> None:
    assert jsonpath.get(DOC, path) == value


@pytest.mark.parametrize(("path", "reason"), [
    ("error.message", "'error' has no key 'message' (keys: code)"),
    ("items.5.id", "'items' has 2 items, no index 5"),
    ("items.first", "'items' is an array, so 'first' must be an index"),
    ("error.code.x", "'error.code' is string \"bad\", not an object or array"),
    ("nope", "the document has no key 'nope'"),
])
def test_a_missing_path_names_the_path_the_reason_and_the_document(path: str, reason: str) -> None:
    with pytest.raises(VerificationFailed) as caught:
        jsonpath.get(DOC, path, what="the response JSON")
    message = str(caught.value)
    assert f"no {path!r} in the response JSON: {reason}" in message
    assert '"error":{"code":"bad"}' in message and "Hint:" in message


def test_a_bad_path_is_an_authoring_error() -> None:
    with pytest.raises(HarnessError, match="bad JSON path 'items\\[x'"):
        jsonpath.parse("items[x")


def test_at_counts_a_verification_pass_or_fail() -> None:
    LEDGER.take()
    assert jsonpath.at(DOC, "error.code") == "bad"
    with pytest.raises(VerificationFailed, match="no 'error.nope'"):
        jsonpath.at(DOC, "error.nope")
    assert LEDGER.take() == (2, 0)


def test_literals_and_strict_equality() -> None:
    assert jsonpath.literal('"abc"') == "abc" and jsonpath.literal("[1, 2]") == [1, 2]
    with pytest.raises(HarnessError, match="quote strings"):
        jsonpath.literal("abc")
    assert jsonpath.same(1, 1.0) and jsonpath.same({"a": [1, True]}, {"a": [1, True]})
    assert not jsonpath.same(True, 1) and not jsonpath.same(1, True) and not jsonpath.same(0, False)
    assert not jsonpath.same({"a": 1}, {"a": 1, "b": 2}) and not jsonpath.same("1", 1)


def test_contains_by_type() -> None:
    assert jsonpath.contains("hello world", "lo w") and not jsonpath.contains("hello", 1)
    assert jsonpath.contains([1, 2], 2) and not jsonpath.contains([1, 2], True)
    assert jsonpath.contains([{"id": 1, "x": 2}], {"id": 1})
    assert jsonpath.contains({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": 2}})
    assert not jsonpath.contains({"a": "hello"}, {"a": "ell"})
