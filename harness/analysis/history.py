"""Compare a run with a baseline and with earlier runs: new, fixed, still failing, flaky."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.analysis.blockers import Verdict
from harness.analysis.model import PASSED, PROBLEMS, Run, Scenario
from harness.errors import AnalysisError
from harness.runfolder import RunFolder


@dataclass(frozen=True, slots=True)
class Change:
    """One scenario whose outcome moved between the baseline and this run."""

    key: str
    location: str
    before: str
    after: str
    blocker_before: str = ""
    blocker_after: str = ""


@dataclass(frozen=True, slots=True)
class Diff:
    """This run against a baseline."""

    baseline: str
    new_failures: tuple[Change, ...]
    fixed: tuple[Change, ...]
    still_failing: tuple[Change, ...]
    blocker_changed: tuple[Change, ...]


@dataclass(frozen=True, slots=True)
class Point:
    """One run in the trend."""

    run: str
    commit: str
    scenario_rate: float
    step_rate: float


@dataclass(frozen=True, slots=True)
class Flaky:
    """A scenario whose status flipped on the same commit or between retries."""

    key: str
    statuses: tuple[str, ...]
    why: str


def failing(scenario: Scenario) -> bool:
    """Did not pass although it was meant to run (masked scenarios included)."""
    return scenario.status in PROBLEMS or scenario.masked_by is not None


def diff(run: Run, verdicts: Sequence[Verdict], baseline: Run, base_verdicts: Sequence[Verdict],
         name: str) -> Diff:
    """Classify every scenario's change against the baseline (scenarios matched by key)."""
    before = {s.key: s for s in baseline.scenarios()}
    blocker_now = {v.scenario.key: v.rule.id if v.rule else "" for v in verdicts}
    blocker_then = {v.scenario.key: v.rule.id if v.rule else "" for v in base_verdicts}
    buckets: dict[str, list[Change]] = defaultdict(list)
    for scenario in run.scenarios():
        old = before.get(scenario.key)
        change = Change(scenario.key, scenario.location, old.status if old else "absent", scenario.status,
                        blocker_then.get(scenario.key, ""), blocker_now.get(scenario.key, ""))
        buckets[_bucket(scenario, old, change)].append(change)
    return Diff(name, tuple(buckets["new"]), tuple(buckets["fixed"]), tuple(buckets["still"]),
                tuple(buckets["changed"]))


def _bucket(now: Scenario, old: Scenario | None, change: Change) -> str:
    if failing(now):
        if old is None or not failing(old):
            return "new"
        return "changed" if change.blocker_before != change.blocker_after else "still"
    if old is not None and failing(old) and now.status == PASSED:
        return "fixed"
    return ""


def flaky(runs: Sequence[Run]) -> list[Flaky]:
    """Scenarios whose pass/fail flipped between retries, or across runs of the same commit."""
    found: dict[str, Flaky] = {}
    for run in runs:
        for scenario in run.scenarios():
            if len({a == PASSED for a in scenario.attempts}) > 1:
                found[scenario.key] = Flaky(scenario.key, scenario.attempts, "status flipped between retries")
    by_commit: dict[tuple[str, str], list[str]] = defaultdict(list)
    for run in runs:
        if run.info.commit:
            for scenario in run.scenarios():
                by_commit[(run.info.commit, scenario.key)].append(scenario.status)
    for (commit, key), statuses in by_commit.items():
        if key not in found and len({s == PASSED for s in statuses}) > 1:
            found[key] = Flaky(key, tuple(statuses), f"status flipped on the same commit {commit[:12]}")
    return sorted(found.values(), key=lambda f: f.key)


def history_runs(folder: Path, limit: int = 30) -> list[Path]:
    """Run folders (or result files) in a history folder, oldest first."""
    if not folder.is_dir():
        raise AnalysisError(f"{folder}: not a history folder", hint="pass .harness/runs or a folder of runs")
    entries = [p for p in folder.iterdir()
               if not p.name.startswith(".") and not p.is_symlink() and _holds_results(p)]
    return sorted(entries, key=lambda p: (p.stat().st_mtime, p.name))[-limit:]


def _holds_results(path: Path) -> bool:
    """A result file, or a run folder with test results (not one made only by `harness up`)."""
    if path.is_file():
        return True
    run = RunFolder(path)
    return any(p.exists() for p in (run.record, run.behave_json, run.junit_dir, run.behave_log))
