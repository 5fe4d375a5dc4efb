"""The HTML handoff's charts keep their labels inside their boxes (headless Chromium measures them)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from harness.analysis import svg
from tests.analysis.browser import Browser
from tests.analysis.test_html_browser import _fixture_report

LONG = "features/chaos.partition-queen-hive-when-the-network-heals-slowly.feature"
OVERFLOWS = """(() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const out = [];
  for (const chart of document.querySelectorAll('svg')) {
    const box = chart.getBoundingClientRect();
    for (const text of chart.querySelectorAll('text')) {
      const r = text.getBoundingClientRect();
      if (r.width === 0) continue;
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 ||
          r.bottom > box.bottom + 0.5)
        out.push(`${chart.querySelector('title').textContent} | ${text.textContent} | text ${Math.round(r.left)}..` +
                 `${Math.round(r.right)} in ${Math.round(box.left)}..${Math.round(box.right)}`);
    }
  }
  return out;
})()"""


def hard_charts() -> str:
    """Every chart kind with the labels that were cut: long feature names, a reference value, long titles."""
    rows = [(LONG, 0.5, "50.0% of 4"), ("features/x.feature", 1.0, "100.0% of 12"),
            ("WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW", 0.2, "20.0% of 5")]
    load = [("wide-open-loop-against-the-queen-at-200-rps steady state", 5151.0, "5151 ms (ref 5000) ✗ bound")]
    title = "p95 over runs: wide-open-loop-against-the-queen-at-200-rps steady state under partition"
    return "".join(f"<figure>{chart}</figure>" for chart in [
        svg.bars("Scenario pass rate by feature", rows),
        svg.bars("Load runs: p95 latency (ms)", load, maximum=5151.0, fill="#57a"),
        svg.series(title, [4000.0, 4200.0, 5151.0], flagged=True),
        svg.trend("Pass rate over runs (solid: scenarios, dashed: steps) for the nightly integration and chaos "
                  "suites of the reference stack", [(f"20261206-1200{n:02d}-abcdef", 0.9, 0.95) for n in range(9)]),
        svg.fault_timeline(0.0, 10.0, [(9.5, None, "partition queen | hive-1,hive-2 (both directions, 30 s)")],
                           [(float(t), 10, 1) for t in range(10)], 9.9)])


CUT = """(() => {
  const out = [];
  const own = t => [...t.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('');
  for (const chart of document.querySelectorAll('svg')) {
    const title = chart.querySelector(':scope > title').textContent;
    const head = chart.querySelector('text[font-weight="bold"]');
    const spans = head ? [...head.querySelectorAll('tspan')] : [];
    const shown = spans.length ? spans.map(own).join(' ') : head ? own(head) : title;
    if (shown !== title) out.push(`title shown as: ${shown}`);
    for (const text of chart.querySelectorAll('text')) {
      const tip = text.querySelector('title');
      if (own(text).endsWith('slowly.feature') && own(text) !== NAME &&
          !(own(text).startsWith('…') && tip && tip.textContent === NAME)) out.push(`name shown as: ${own(text)}`);
    }
  }
  return out;
})()"""


async def _cut(page: Path) -> list[str]:
    async with Browser() as browser:
        await browser.load(page.as_uri())
        found: Any = await browser.evaluate(f"const NAME = {json.dumps(LONG)}; {CUT}")
        return list(found)


async def _overflows(page: Path) -> tuple[list[str], list[str]]:
    async with Browser() as browser:
        await browser.load(page.as_uri())
        found: Any = await browser.evaluate(OVERFLOWS)
        return list(found), list(browser.errors)


def test_no_label_overflows_its_chart_in_the_hard_cases(tmp_path: Path) -> None:
    page = tmp_path / "charts.html"
    page.write_text(f"<!doctype html><html><head><meta charset='utf-8'></head><body>{hard_charts()}</body></html>")
    overflows, errors = asyncio.run(_overflows(page))
    assert errors == []
    assert overflows == []
    assert asyncio.run(_cut(page)) == [], "titles wrap; a long name shows its end after '…', in full as a tooltip"


def test_no_label_overflows_its_chart_in_the_handoff(tmp_path: Path) -> None:
    overflows, errors = asyncio.run(_overflows(_fixture_report(tmp_path)))
    assert errors == [] and overflows == []


def test_a_long_name_keeps_its_end_and_the_full_name_as_a_tooltip() -> None:
    chart = svg.bars("t", [(LONG, 1.0, "100%")])
    shown = svg.fit_start(LONG, svg.LABEL_W - 10, 12)
    assert shown.startswith(svg.ELLIPSIS) and LONG.endswith(shown[1:]) and shown.endswith("slowly.feature")
    assert f"{shown}<title>{LONG}</title>" in chart


def test_titles_wrap_instead_of_being_cut() -> None:
    lines = svg.wrap("p95 over runs: a-very-long-load-name the scenario under a partition", 250, 12, bold=True)
    assert len(lines) > 1 and all(svg.text_width(line, 12, True) <= 250 for line in lines)
    assert " ".join(lines) == "p95 over runs: a-very-long-load-name the scenario under a partition"
