"""Every third-party result file in fixtures/third_party reads as its source project says it should.

The truth of each file (MANIFEST.yaml) comes from the producing project's own tests or the tool's
printed summary (see collect.py and behave/generate.py), never from this analyzer.
"""

from __future__ import annotations

import contextlib
import io
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.analysis.cli import analyze_main
from harness.analysis.inputs import load
from harness.analysis.model import NOT_RUN, PASSED, Run
from harness.errors import HarnessError

HERE = Path(__file__).resolve().parent / "fixtures" / "third_party"
# libyaml's loader: the pure-Python one took 1 s of every pytest worker's collection
MANIFEST: list[dict[str, Any]] = yaml.load((HERE / "MANIFEST.yaml").read_text(), Loader=yaml.CSafeLoader)["files"]


def _buckets(run: Run) -> dict[str, int]:
    found = Counter("passed" if s.status == PASSED else "skipped" if s.status in NOT_RUN else "failed"
                    for s in run.scenarios())
    return {"tests": sum(found.values()), "passed": found["passed"], "failed": found["failed"],
            "skipped": found["skipped"]}


def _exit(path: Path) -> tuple[int, str]:
    """What `harness analyze FILE` exits with, and its error message."""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            return analyze_main([str(path)]), ""
    except HarnessError as exc:
        return exc.exit_code, str(exc)


def test_the_corpus_is_broad_enough() -> None:
    formats = Counter(e["format"] for e in MANIFEST)
    junit_producers = {e["producer"].split(" (")[0] for e in MANIFEST if e["format"] == "junit"} - {
        "hand-written"}
    cucumber_tools = {e["producer"].split("/")[0] for e in MANIFEST if e["format"] == "cucumber"}
    behave_versions = {e["producer"] for e in MANIFEST if e["producer"].startswith("behave")}
    assert len(MANIFEST) >= 60
    assert len(junit_producers) >= 6, junit_producers
    assert cucumber_tools >= {"cucumber-js", "cucumber-jvm", "cucumber-ruby"}
    assert formats["cucumber-messages"] >= 10 and formats["behave-json"] >= 10
    assert behave_versions == {"behave 1.2.6", "behave 1.3.3"}
    assert all(e["truth"] and (e["origin"].get("commit") or e["producer"].startswith("behave"))
               for e in MANIFEST)


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_counts_and_exit_code_match_the_source_truth(entry: dict[str, Any],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE / entry.get("chdir", "."))
    path = HERE / entry["file"]
    expect = entry["expect"]
    code, message = _exit(path)
    assert code == expect["exit"], message
    if code == 2:
        assert str(path) in message and expect.get("error", "") in message
        assert "Traceback" not in message
        return
    counts = _buckets(load([str(path)]))
    assert counts == {k: expect[k] for k in ("tests", "passed", "failed", "skipped")}


def test_counts_do_not_depend_on_how_many_files_are_given(monkeypatch: pytest.MonkeyPatch) -> None:
    folder = HERE / "behave" / "1.3.3" / "plain.junit"
    monkeypatch.chdir(folder.parent)
    files = sorted(str(p) for p in folder.glob("*.xml"))
    together = _buckets(load(files))
    apart = [_buckets(load([f])) for f in files]
    assert together == {k: sum(a[k] for a in apart) for k in together}
    assert together == _buckets(load([str(folder.parent / "plain.json")]))


def test_the_same_results_given_twice_are_retries_not_new_tests() -> None:
    path = str(HERE / "junit" / "mikepenz" / "nested__junit.xml")
    once, twice = load([path]), load([path, path])
    assert _buckets(twice) == _buckets(once)
    assert all(len(s.attempts) == 2 for s in twice.scenarios())
