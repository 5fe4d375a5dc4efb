"""The package layers (pyproject's import-linter contracts) hold, catch a planted circle, and lazy imports say why."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--no-cache", str(root / "pyproject.toml")], cwd=root, capture_output=True,
                          text=True, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}, timeout=120)


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "house"
    shutil.copytree(ROOT / "harness", copy / "harness", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_the_layers_hold_on_the_tree() -> None:
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_a_planted_circle_breaks_the_contract(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    config = copy / "harness" / "env" / "config.py"
    # env -> run while run -> env: the circle the session once hid behind an import inside a function
    config.write_text(config.read_text() + "\n\ndef _planted() -> None:\n    from harness.run import session  # noqa\n")
    done = _lint(copy)
    assert done.returncode != 0, done.stdout
    assert "harness.env.config -> harness.run.session" in done.stdout


def test_a_shim_imported_from_inside_breaks_the_contract(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    http = copy / "harness" / "clients" / "http.py"
    http.write_text(http.read_text() + "\nfrom harness import tokens as _tokens  # noqa\n")
    done = _lint(copy)
    assert done.returncode != 0 and "BROKEN" in done.stdout, done.stdout


def test_every_import_inside_a_function_says_why() -> None:
    unexplained = []
    for path in sorted((ROOT / "harness").rglob("*.py")):
        if {"stepdefs", "scaffold"} & set(path.parts):
            continue
        lines = path.read_text().splitlines()
        for fn in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    # the reason stands on the line, or above the group of imports it belongs to
                    above = [lines[i] for i in range(node.lineno - 1, max(node.lineno - 4, 0) - 1, -1)]
                    if not any("# lazy:" in line for line in above):
                        unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert unexplained == [], "add a `# lazy: <reason>` line above these imports, or import at the top"
