"""Reports: Markdown sections, self-contained HTML, JSON counts, exports, redaction, lean start-up."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.analysis.inputs import load
from harness.cli import main
from tests.analysis.suites import MIXED, REPO, BehaveRun, run_behave, write_suite

SECTIONS = ("## Executive Summary", "## Results by Category", "## Blockers Identified",
            "## Test Pass Rate Analysis", "### Projected State", "## Coverage by Component",
            "## Undefined Steps", "## Hollow Steps", "## Recommendations for TEAM-108",
            "## How to Rerun the Failures")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[BehaveRun, Path]:
    root = tmp_path_factory.mktemp("report")
    write_suite(root, MIXED)
    run = run_behave(root)
    run_behave(root, run_id="r2")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert main(["report", "--team", "TEAM-107", "--next-team", "TEAM-108", "--out", "reports",
                     "--steps-dir", "features/steps", "--baseline", "r2"]) == 0
    finally:
        os.chdir(cwd)
    return run, root / "reports"


def test_markdown_has_the_handoff_sections(report: tuple[BehaveRun, Path]) -> None:
    text = (report[1] / "TEAM-107-handoff.md").read_text()
    for section in SECTIONS:
        assert section in text, section
    assert "@when('nobody defined this')" in text
    assert "behave @" in text and "rerun.txt" in text
    assert "features/a.feature:13" in text  # example failure as file:line


def test_html_is_self_contained(report: tuple[BehaveRun, Path]) -> None:
    html = (report[1] / "TEAM-107-handoff.html").read_text()
    assert html.count("<svg") >= 3  # features, blockers, trend (history from .harness/runs)
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html


def test_json_has_counts_for_features_scenarios_and_steps(report: tuple[BehaveRun, Path]) -> None:
    data = json.loads((report[1] / "TEAM-107-handoff.json").read_text())
    keys = {"passed", "failed", "error", "hook_error", "skipped", "untested", "undefined", "pending", "total"}
    feature = data["features"][0]
    scenario = feature["scenarios"][0]
    assert keys <= set(feature["counts"]) and keys <= set(scenario["counts"])
    assert keys <= set(scenario["steps"][0]["counts"])
    assert data["summary"]["scenarios"]["total"] == sum(f["counts"]["total"] for f in data["features"])
    assert data["blockers"][0]["id"] == "environment"
    assert data["diff"] is not None


def test_junit_export_reports_hook_errors_as_errors(report: tuple[BehaveRun, Path]) -> None:
    root = ET.parse(report[1] / "TEAM-107-junit.xml").getroot()
    beta = next(s for s in root.iter("testsuite") if s.get("name") == "Beta hook fails")
    assert beta.get("errors") == "2" and beta.get("skipped") == "0"
    assert all(c.find("error") is not None for c in beta.iter("testcase"))


def test_cucumber_export_reads_back(report: tuple[BehaveRun, Path]) -> None:
    path = report[1] / "TEAM-107-cucumber.json"
    data = json.loads(path.read_text())
    assert data[0]["uri"].endswith("a.feature") and data[0]["tags"][0]["name"].startswith("@")
    again = load([str(path)])
    assert sum(1 for _ in again.scenarios()) == sum(len(f["elements"]) for f in data)


def test_secrets_are_redacted_everywhere(report: tuple[BehaveRun, Path]) -> None:
    run, out = report
    record = (run.run_dir / "record.ndjson").read_text()
    assert "abc.def.ghi" not in record and "Bearer ***" in record
    for path in out.iterdir():
        assert "abc.def.ghi" not in path.read_text(), path


def test_secret_userdata_values_are_redacted(tmp_path: Path) -> None:
    write_suite(tmp_path, MIXED, secret="hunter2-secret")
    run = run_behave(tmp_path, "-D", "api_token=hunter2-secret")
    assert "hunter2-secret" not in (run.run_dir / "record.ndjson").read_text()


def test_analyze_start_up_is_lean() -> None:
    code = ("import sys\nfrom harness.analysis import cli, inputs, analyze, terminal\n"
            "bad = [m for m in ('docker', 'aiohttp', 'httpx', 'behave', 'jinja2', 'yaml') if m in sys.modules]\n"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")),
                    reason="chromium not installed")
def test_html_opens_in_headless_chromium_without_console_errors(report: tuple[BehaveRun, Path]) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or ""
    page = (report[1] / "TEAM-107-handoff.html").resolve()
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                           "--v=0", "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=60)
    assert "<svg" in done.stdout
    # chromium logs every console message (errors included) as ":CONSOLE:"; the page has no scripts
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
