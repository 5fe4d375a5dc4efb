"""The sweep's heatmap (sweep.html) in headless Chromium: no console errors, one row per target, colours by
outcome, a cell opens its failing scenarios; a screenshot is saved to reports/sweep-heatmap.png."""

from __future__ import annotations

import asyncio
from pathlib import Path

from harness.faults.kinds import HOST, FaultSpec
from harness.runfolder import RunFolder
from harness.sweep import report
from harness.sweep.driver import SweepResult
from harness.sweep.expect import Finding
from harness.sweep.outcome import CellResult, ScenarioResult
from tests.analysis.browser import Browser
from tests.analysis.suites import REPO

TEXTS = ".map(t => t.textContent)"
SCREENSHOT = REPO / "reports" / "sweep-heatmap.png"
OK = ScenarioResult("features/shop.requests.feature:9", "every service is up", "passed")
BROKEN = ScenarioResult("features/shop.requests.feature:16", "an item is written to PostgreSQL", "failed",
                        "the response status is 201", "expected status 201, got 503: database unreachable")


def _page(folder: Path) -> Path:
    cells = [CellResult(FaultSpec("kill", "db"), (OK, BROKEN), True, 5.0, 12.0, folder="cells/001-kill-db"),
             CellResult(FaultSpec("pause", "db"), (OK, BROKEN), False, None, 130.0),
             CellResult(FaultSpec("cpu", "api", "", {"cpus": 0.05}), (OK,), True, 2.1, 8.0),
             CellResult(FaultSpec("kill", "cache")),
             CellResult(FaultSpec("latency", "nginx", "api", {"ms": 500.0}), (OK,), True, 2.7, 9.0),
             CellResult(FaultSpec("partition", HOST, "nginx"), (OK, BROKEN), True, 3.0, 9.0),
             CellResult(FaultSpec("reset", "api", "db"), (BROKEN,), ran=False)]
    result = SweepResult("shop", "r1", [OK.location, BROKEN.location], [], cells, None, OK.location, wall_s=170.0)
    data = report.to_json(result, [Finding("kill db", "tolerated", "detected")], {"kill db": "tolerated"})
    return report.write(RunFolder(folder), data)[2]


async def _drive(page: Path) -> dict[str, object]:
    async with Browser() as browser:
        await browser.load(page.as_uri())
        found: dict[str, object] = {
            "rows": await browser.evaluate(f"[...document.querySelectorAll('#heatmap tbody th')]{TEXTS}"),
            "heads": await browser.evaluate(f"[...document.querySelectorAll('#heatmap thead th')]{TEXTS}"),
            "colours": await browser.evaluate(
                "Object.fromEntries([...document.querySelectorAll('td.cell')].map(td => [td.dataset.outcome, "
                "getComputedStyle(td).backgroundColor]))"),
            "closed": await browser.evaluate("document.querySelector('td.finding details').open"),
        }
        found["opened"] = await browser.evaluate(
            "(() => { const d = document.querySelector('td.finding details'); d.querySelector('summary').click();"
            " const li = d.querySelector('ol li'); return d.open && li !== null && li.offsetHeight > 0 ? li.textContent"
            " : 'closed' })()")
        found["score"] = await browser.evaluate("document.querySelector('#score').textContent")
        await browser.screenshot(SCREENSHOT)
        found["errors"] = list(browser.errors)
        return found


def test_the_heatmap_shows_targets_by_kinds_and_a_cell_opens_its_failing_scenarios(tmp_path: Path) -> None:
    found = asyncio.run(_drive(_page(tmp_path)))
    assert found["errors"] == []
    assert found["rows"] == ["api", "cache", "db", "api → db", "nginx → api", "test-machine → nginx"]
    assert found["heads"] == ["target", "kill", "pause", "cpu", "partition", "latency", "reset"]
    colours = found["colours"]
    assert isinstance(colours, dict)
    assert colours["tolerated"] == "rgb(60, 157, 78)" and colours["detected"] == "rgb(224, 165, 38)"
    assert colours["no recovery"] == "rgb(200, 55, 45)" and "not exercised" in colours and "not run" in colours
    assert found["closed"] is False
    assert "shop.requests.feature:16" in str(found["opened"]) and "got 503" in str(found["opened"])
    assert "2/5 (40%)" in str(found["score"])
    assert SCREENSHOT.is_file() and SCREENSHOT.stat().st_size > 10_000
