"""docs/steps.md is the generated step vocabulary: it must match what `harness steps --markdown` writes now."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "steps.md"


def test_docs_steps_md_is_up_to_date(tmp_path: Path) -> None:
    fresh = tmp_path / "steps.md"
    # A subprocess, because generating the vocabulary clears and refills behave's global step registry.
    done = subprocess.run([sys.executable, "-m", "harness.cli", "steps", "--markdown", str(fresh)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"`harness steps --markdown` failed:\n{done.stdout}{done.stderr}"
    assert DOC.is_file(), "docs/steps.md is missing; write it with: .venv/bin/harness steps --markdown docs/steps.md"
    diff = list(difflib.unified_diff(DOC.read_text().splitlines(), fresh.read_text().splitlines(),
                                     "docs/steps.md", "generated now", lineterm="", n=0))
    assert not diff, ("docs/steps.md is stale; regenerate it with: .venv/bin/harness steps --markdown docs/steps.md\n"
                      + "\n".join(diff[:40]))
