"""Every step phrase a hint or error message of harness/ quotes is a step the harness registers.

A message that names a step which does not exist sends a new user hunting for an hour. The phrases
are found in the string literals of harness/ (docstrings aside): ``Given``/``When``/``Then`` after
the start of the string, a quote, a backtick, a bracket or a colon. A phrase may end in ``...``
(the rest elided) and may hold placeholders (``"SERVICE"``, ``N``, an f-string's value); it must
match a step of `harness steps` (harness.catalog over the generic library), each ``{field}`` of a
step pattern matching any words.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import steplib
from harness.catalog import StepDef, vocabulary

HARNESS = Path(__file__).resolve().parent.parent / "harness"
_PHRASE = re.compile(r"(?:^|(?<=[\s'`(\"]))(Given|When|Then) (.+?)(?=$|`|'(?=[\s),;.]|$)|\)|;| \()")
_FIELD = re.compile(r"\{[^{}]*\}")
_VALUE = "«VALUE»"  # an f-string's replacement field: any words


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _text(node: ast.AST) -> str | None:
    """A string literal's text; an f-string's with every replacement field as a placeholder."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else _VALUE for v in node.values)
    return None


def strings(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every string literal in a module but its docstrings (parts of f-strings skipped)."""
    tree = ast.parse(path.read_text())
    skip = _docstrings(tree)
    inner = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    for node in ast.walk(tree):
        text = _text(node)
        if text is not None and id(node) not in skip and id(node) not in inner:
            yield node.lineno, text


def quoted_phrases(text: str) -> list[tuple[str, str]]:
    """(keyword, phrase) of every step a message quotes."""
    return [(m.group(1).lower(), m.group(2).strip()) for m in _PHRASE.finditer(text)]


def _pattern(step: str) -> str:
    """A step pattern as a regex: literal words, each {field} any words."""
    parts = _FIELD.split(step)
    return ".+?".join(re.escape(p) for p in parts)


def _prefixes(step: str) -> Iterator[str]:
    """The step pattern cut after each of its words (for a phrase that ends in '...')."""
    depth, cut = 0, []
    for i, ch in enumerate(step):
        depth += (ch == "{") - (ch == "}")
        if ch == " " and depth == 0:
            cut.append(i)
    yield from (step[:i] for i in cut)
    yield step


def matches(phrase: str, step: str) -> bool:
    """Whether a quoted phrase (placeholders allowed, maybe ending in '...') is a use of ``step``."""
    phrase = phrase.replace(_VALUE, "X")
    if phrase.endswith("..."):
        head = phrase[:-3].rstrip(" .")
        return any(re.fullmatch(_pattern(p), head) for p in _prefixes(step))
    return re.fullmatch(_pattern(step), phrase) is not None


def registered(steps: list[StepDef], keyword: str, phrase: str) -> bool:
    """A step of this keyword (or a @step) that the phrase uses."""
    return any(s.keyword in (keyword, "step") and matches(phrase, s.phrase) for s in steps)


@pytest.fixture(scope="module")
def steps() -> list[StepDef]:
    return vocabulary(steplib.steps_dir())


def all_quoted() -> list[tuple[str, str, str]]:
    """(file:line, keyword, phrase) of every step quoted in harness/."""
    return [(f"{path.relative_to(HARNESS.parent)}:{line}", keyword, phrase)
            for path in sorted(HARNESS.rglob("*.py")) for line, text in strings(path)
            for keyword, phrase in quoted_phrases(text)]


def test_messages_quote_steps_at_all() -> None:
    """The scan finds the hints it is meant to check (a scan that finds nothing checks nothing)."""
    found = {phrase for _, _, phrase in all_quoted()}
    assert 'I send a GET request to "/path" on "SERVICE"' in found
    assert len(found) >= 10


def test_every_step_a_message_quotes_is_registered(steps: list[StepDef]) -> None:
    unknown = [f"{where}: {keyword.title()} {phrase}" for where, keyword, phrase in all_quoted()
               if not registered(steps, keyword, phrase)]
    assert unknown == [], "messages quote steps that do not exist:\n" + "\n".join(unknown)


@pytest.mark.parametrize(("text", "found"), [
    ("hint: subscribe first: When \"x\" subscribes to the Redis channel \"C\" on \"S\"",
     [("when", '"x" subscribes to the Redis channel "C" on "S"')]),
    ("wait for it ('Then the background load finished') before", [("then", "the background load finished")]),
    ("`Then the service \"S\" is healthy` checks it", [("then", 'the service "S" is healthy')]),
    ("When they start, nothing", [("when", "they start, nothing")]),
    ("the client's link", []),
    ("start with: Given WebSockets to \"S\" go through a fault proxy (before opening them)",
     [("given", 'WebSockets to "S" go through a fault proxy')]),
])
def test_quoted_phrases_are_cut_where_the_message_goes_on(text: str, found: list[tuple[str, str]]) -> None:
    assert quoted_phrases(text) == found


def test_a_phrase_matches_its_step_with_placeholders_and_an_elided_end(steps: list[StepDef]) -> None:
    assert matches('I open a WebSocket "X" to "/path" on "SERVICE"',
                   'I open a WebSocket "{name}" to "{path}" on "{service}"')
    assert matches("the subscribers wait up to N seconds for ...",
                   "the subscribers wait up to {seconds:g} seconds for {what}")
    assert not matches('"x" subscribes to the Redis channel "C" on "S"',
                       'I subscribe "{name}" to the Redis channel "{channel}" on "{service}"')
    assert not registered(steps, "when", '"x" subscribes to the Redis channel "C" on "SERVICE"')
