"""docs/steps.md is the generated step vocabulary: it must match what `harness steps --markdown` writes now."""

from __future__ import annotations

import difflib
import json
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


# Loads the generic steps in a fresh interpreter (vocabulary() refills behave's global registry) and
# prints, as JSON, the parameter types the phrases use with their entries, and each family's example problems.
_INSPECT = r"""
import json, sys
from pathlib import Path
from behave.parser import parse_feature, parse_steps
from behave.step_registry import registry
from harness import catalog, steplib

steps = catalog.vocabulary(steplib.steps_dir())
types = catalog.parameter_types()
used = sorted({t for s in steps for t in s.types})
entries = {t: (types[t].meaning, types[t].grammar, types[t].example) if t in types else None for t in used}
problems = {}
for family in catalog.families(steps):
    found = problems.setdefault(family.module, [] if family.example else ["no EXAMPLE"])
    if not family.example:
        continue
    feature = parse_feature("Feature: example\n" + "\n".join("  " + line for line in family.example.splitlines()))
    pending = [s for scenario in feature.scenarios for s in scenario.steps]
    while pending:
        step = pending.pop(0)
        if registry.find_match(step) is None:
            found.append(f"{step.keyword} {step.name}")
        elif step.text and step.name.rstrip().endswith(":") and "seconds" in step.name:
            pending += parse_steps(step.text)  # the steps inside a waiting block
print(json.dumps({"entries": entries, "problems": problems}))
"""


def _inspect() -> dict[str, dict[str, object]]:
    done = subprocess.run([sys.executable, "-c", _INSPECT], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result: dict[str, dict[str, object]] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_every_parameter_type_a_step_uses_has_a_meaning_a_grammar_and_an_example() -> None:
    entries = _inspect()["entries"]
    assert {"Services", "Peer", "Connection", "RequestOptions", "StreamOptions", "WsAuth", "Status", "Percentile",
            "Kinds", "Number", "Megabytes"} <= set(entries)
    missing = [name for name, entry in entries.items() if entry is None or not all(entry)]  # type: ignore[call-overload]
    assert missing == [], f"parameter types without meaning, Grammar: and Example: in their docstring: {missing}"


def test_every_step_family_has_a_worked_example_whose_steps_all_exist() -> None:
    problems = _inspect()["problems"]
    assert len(problems) >= 12
    assert {family: found for family, found in problems.items() if found} == {}
