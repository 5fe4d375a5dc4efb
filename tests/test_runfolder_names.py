"""No module of harness spells a run-folder name: harness.runfolder owns them all.

A name counts where the code uses it — every string literal and f-string — except docstrings
(a string that is a statement by itself); comments are not in the syntax tree. The names come from
harness.runfolder.names itself, so a name added there is checked at once:

- a file name (with a dot: ``record.ndjson``, ``startup.json``) anywhere in a string;
- a folder name (``load``, ``claims``, ``junit``, ``attempt-``) as a path component: the operand of
  ``/`` or a component of a string with slashes (``"*/load/*.json"``);
- a pattern (``w{n}``, ``attempt-{n}``, ``{number:03d}-{mode}.json``) as an f-string of that shape.
"""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator
from pathlib import Path

from harness.runfolder import names

ROOT = Path(__file__).resolve().parent.parent
OWNER = ROOT / "harness" / "runfolder"
_GENERIC = {"{}-{}"}  # GATHERED's shape: too common a shape to mean the run folder


def _values() -> list[str]:
    return [v for k, v in vars(names).items() if k.isupper() and isinstance(v, str)]


def _shape(text: str) -> str:
    """A format pattern with its fields as ``{}``."""
    return "".join(lit + ("{}" if field is not None else "") for lit, field, _, _ in string.Formatter().parse(text))


FILES = [v for v in _values() if "." in v and "{" not in v]
FOLDERS = {v for v in _values() if "." not in v and "{" not in v}
SHAPES = {_shape(v) for v in _values() if "{" in v} - _GENERIC
_FILE = re.compile("|".join(rf"(?<![\w.-]){re.escape(f)}(?![\w-])" for f in FILES))


def _docstrings(tree: ast.AST) -> set[int]:
    return {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}


def _folder(component: str) -> bool:
    return component in FOLDERS or (component.startswith(names.ATTEMPT_PREFIX) and len(component) > 8)


def _findings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            if _FILE.search(node.value):
                yield node.lineno, node.value
            elif "/" in node.value and any(_folder(c) for c in node.value.split("/")):
                yield node.lineno, node.value
            elif node.value.startswith(names.ATTEMPT_PREFIX):
                yield node.lineno, node.value
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            for side in (node.left, node.right):
                if isinstance(side, ast.Constant) and isinstance(side.value, str) and side.value in FOLDERS:
                    yield node.lineno, side.value
        elif isinstance(node, ast.JoinedStr):
            shape = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            if shape in SHAPES:
                yield node.lineno, shape


def literal_names(package: Path, owner: Path | None = None) -> list[str]:
    """``file:line: literal`` for every run-folder name spelled in ``package`` outside ``owner``."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if owner is not None and owner in path.parents or path == owner:
            continue
        for line, text in _findings(ast.parse(path.read_text(), str(path))):
            found.append(f"{path.relative_to(package.parent)}:{line}: {text!r}")
    return sorted(set(found))


def test_no_module_outside_the_runfolder_package_spells_a_run_folder_name() -> None:
    found = literal_names(ROOT / "harness", OWNER)
    assert found == [], "use harness.runfolder (RunFolder, EnvFolder, names) instead:\n" + "\n".join(found)


def test_the_check_sees_each_kind_of_spelling(tmp_path: Path) -> None:
    package = tmp_path / "harness"
    package.mkdir()
    (package / "spells.py").write_text(
        '"""Writes record.ndjson (a docstring: allowed)."""\n'
        "from pathlib import Path\n"
        "# timeline.ndjson in a comment: allowed\n"
        "def f(run: Path, n: int) -> list[object]:\n"
        '    """Reads workers.json (allowed)."""\n'
        '    return [run / "startup.json", run / "load", run.glob("*/failures/*.log"), f"w{n}",\n'
        '            f"attempt-{n + 1}", f"see {run}/rerun.txt", run / "tiny" / "compose.yaml"]\n')
    found = literal_names(package)
    assert sorted(f.split(": ", 1)[1] for f in found) == sorted(
        ["'*/failures/*.log'", "'attempt-'", "'attempt-{}'", "'compose.yaml'", "'load'", "'startup.json'",
         "'/rerun.txt'", "'w{}'"]), found
    assert all(":1:" not in f and ":3:" not in f and ":5:" not in f for f in found)
