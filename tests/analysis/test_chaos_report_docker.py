"""Docker: a chaos feature on the regressed stack, then `harness report`: verdict first, the failure names its fault."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.analysis.suites import REPO

pytestmark = pytest.mark.docker

FEATURE = "features/chaos.partition-queen-hive.feature"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}


def _left_by(run_id: str) -> list[str]:
    out = subprocess.run(["docker", "ps", "-a", "--filter", "label=harness.run", "--format",
                          '{{.Label "harness.run"}} {{.Names}}'], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line.split(" ", 1)[0].startswith(run_id)]


def test_the_handoff_of_a_chaos_run_names_the_partition_the_failure_happened_in(tmp_path: Path) -> None:
    runs = tmp_path / "runs"  # the run folder goes here, not into the checkout's .harness/runs
    done = subprocess.run([sys.executable, "-m", "harness.cli", "run", "-D", "env=regressed", FEATURE], cwd=REPO,
                          env={**_env(), "HARNESS_RUNS_DIR": str(runs)}, capture_output=True, text=True, timeout=600)
    first = done.stdout.splitlines()[0] if done.stdout else ""
    assert first.startswith("harness run "), done.stdout[-2000:] + done.stderr[-2000:]
    run_id = first.split()[2].rstrip(":")
    assert done.returncode == 1, done.stdout[-3000:]  # /v1/hives answers 501 on the regressed stack
    run_dir = runs / run_id
    assert not (REPO / ".harness" / "runs" / run_id).exists()
    report = subprocess.run([sys.executable, "-m", "harness.cli", "report", "--team", "CHAOS", "--out",
                             str(tmp_path), str(run_dir)], cwd=REPO, env=_env(), capture_output=True, text=True,
                            timeout=120)
    assert report.returncode == 0, report.stderr
    markdown = (tmp_path / "CHAOS-handoff.md").read_text()
    assert markdown.splitlines()[0].startswith("**Verdict: NO-GO**")
    context = markdown.split("## Failures in Context", 1)[1].split("\n## ", 1)[0]
    assert "jobs accepted during the partition" in context
    assert "s into partition queen | hive-1,hive-2" in context
    data = json.loads((tmp_path / "CHAOS-handoff.json").read_text())
    assert data["verdict"] == "NO-GO"
    load_rows = [row for row in data["performance"] if row["scenario"].startswith("steady load through a partition")]
    assert load_rows and load_rows[0]["bounds"][0]["metric"] == "success_pct"
    assert _left_by(run_id) == []
