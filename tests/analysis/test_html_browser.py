"""The HTML handoff in headless Chromium: no console errors, the drill-down opens, filters hide, size and load time."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from harness.analysis.analyze import Analysis, Folders, analyze
from harness.analysis.cli import write_report
from harness.analysis.evidence import Evidence, FaultEvent, LoadRun, LoadSecond, read_evidence
from harness.analysis.gonogo import load_gate_rules
from harness.analysis.inputs import load
from harness.analysis.model import ErrorInfo, Feature, Run, Scenario, Step
from harness.analysis.rules import load_rules
from tests.analysis.browser import Browser
from tests.analysis.suites import REPO

FIXTURE = Path(__file__).parent / "fixtures" / "runs" / "partition-regressed"
SCREENSHOTS = REPO / "reports"
MAX_BYTES_1000 = 4_000_000
MAX_LOAD_SECONDS_1000 = 5.0


def _fixture_report(out: Path) -> Path:
    run = load([str(FIXTURE)])
    result = analyze(run, load_rules(REPO / "blockers.yaml"), folders=Folders(read_evidence(FIXTURE)),
                     gate=load_gate_rules(REPO / "gonogo.yaml"))
    return write_report(result, "TEAM-107", "TEAM-108", out, out / "none", str(FIXTURE))[1]


async def _drive(page: Path) -> dict[str, object]:
    async with Browser() as browser:
        await browser.load(page.as_uri())
        found: dict[str, object] = {
            "first": await browser.evaluate("document.body.firstElementChild.tagName + ' ' + "
                                            "document.querySelector('#verdict').textContent"),
            "closed": await browser.evaluate("document.querySelector('.sc.s-failed').open"),
        }
        found["opened"] = await browser.evaluate(
            "(() => { const d = document.querySelector('.sc.s-failed'); d.querySelector('summary').click();"
            " if (!d.querySelector('table td')) return 'no container table';"
            " return d.open && d.querySelector('.ctx').offsetHeight > 0 && d.querySelector('ol.st li.s-failed pre')"
            ".offsetHeight > 0 && d.querySelector('pre.log').offsetHeight > 0 && d.querySelector('svg') !== null })()")
        found["context"] = await browser.evaluate("document.querySelector('.sc.s-failed .ctx').textContent")
        await browser.screenshot(SCREENSHOTS / "handoff-drilldown.png")
        found["filtered"] = await browser.evaluate(
            "(() => { document.querySelector('label[for=\"fs-passed\"]').click();"
            " return [getComputedStyle(document.querySelector('.sc.s-failed')).display,"
            " getComputedStyle(document.querySelector('.sc.s-passed')).display] })()")
        await browser.screenshot(SCREENSHOTS / "handoff-filtered.png")
        found["errors"] = list(browser.errors)
        return found


def test_drill_down_opens_without_console_errors_and_a_screenshot_is_saved(tmp_path: Path) -> None:
    page = _fixture_report(tmp_path)
    found = asyncio.run(_drive(page))
    assert found["errors"] == []
    assert str(found["first"]).startswith("H1 Verdict: NO-GO")
    assert found["closed"] is False and found["opened"] is True
    assert "into partition queen | hive-1,hive-2" in str(found["context"])
    assert found["filtered"] == ["none", "block"]
    assert (SCREENSHOTS / "handoff-drilldown.png").stat().st_size > 10_000


def big_run(scenarios: int = 1000, steps: int = 8) -> tuple[Run, Evidence]:
    """A synthetic run: 50 features, every tenth scenario failing under a fault with background load."""
    features, faults, loads = [], [], []
    per = scenarios // 50
    for f in range(50):
        items = []
        for n in range(per):
            start = 1_000.0 + (f * per + n) * 10
            failed = n % 10 == 3
            location = f"features/f{f:02d}.feature:{n * 12 + 5}"
            rows = tuple(Step("Then" if k else "Given", f"step {k} of scenario {n} checks something quite long",
                              f"features/f{f:02d}.feature:{n * 12 + 6 + k}",
                              "failed" if failed and k == steps - 2 else "skipped" if failed and k == steps - 1
                              else "passed", 0.01, ErrorInfo("AssertionError", "expected 200, got 503\nbody")
                              if failed and k == steps - 2 else None, verifications=1, actions=1,
                              started=start + k * 0.5)
                         for k in range(steps))
            tags = ("integration", f"p{n % 3}", ("queen", "hive", "worker")[n % 3])
            items.append(Scenario(f"scenario {n} of feature {f}", location, "failed" if failed else "passed",
                                  tags, rows, feature=f"features/f{f:02d}.feature", feature_name=f"feature {f}",
                                  duration=4.0, started=start, captured="some output\n" * 5 if failed else ""))
            if failed:
                label = f"{location}: scenario {n} of feature {f}"
                faults += [FaultEvent(label, 0.0, "inject", "partition queen | hive-1", "x", "e"),
                           FaultEvent(label, 3.5, "revert", "partition queen | hive-1", "x", "e")]
                loads.append(LoadRun(f"{f:02d}{n:03d}-open", "e", {"mode": "open", "elapsed_s": 4},
                                     tuple(LoadSecond(s, 10, 10 - s, 5.0, 9.0) for s in range(4)), start))
        features.append(Feature(f"feature {f}", f"features/f{f:02d}.feature:1",
                                "failed" if any(s.status == "failed" for s in items) else "passed",
                                ("integration",), tuple(items)))
    return Run(tuple(features)), Evidence(tuple(faults), tuple(loads))


def _big_report(out: Path) -> tuple[Path, Analysis]:
    run, evidence = big_run()
    result = analyze(run, folders=Folders(evidence))
    return write_report(result, "BIG", "", out, out / "none")[1], result


async def _load_time(page: Path) -> tuple[float, float, list[str], bool]:
    async with Browser() as browser:
        started = time.monotonic()
        await browser.load(page.as_uri())
        wall = time.monotonic() - started
        nav = await browser.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        opened = await browser.evaluate(
            "(() => { const d = document.querySelectorAll('.sc.s-failed')[50]; d.querySelector('summary').click();"
            " return d.open })()")
        return wall, float(nav) / 1000, list(browser.errors), bool(opened)


def test_a_1000_scenario_run_stays_small_and_fast(tmp_path: Path) -> None:
    page, result = _big_report(tmp_path)
    size = page.stat().st_size
    wall, load_event, errors, opened = asyncio.run(_load_time(page))
    print(f"1000-scenario handoff: {size / 1e6:.2f} MB, load event at {load_event:.2f} s (wall {wall:.2f} s)")
    assert sum(1 for _ in result.run.scenarios()) == 1000 and len(result.notes) == 100
    assert errors == [] and opened
    assert size < MAX_BYTES_1000
    assert load_event < MAX_LOAD_SECONDS_1000
