"""Small behave suites written into tmp dirs and run for real (behave via subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

STEPS = '''
from behave import given, when, then
from harness.expect import LEDGER

@given("a base")
def _(c):
    LEDGER.actions += 1

@when("it works")
def _(c):
    print("hello out")
    LEDGER.actions += 1

@then("ok")
def _(c):
    LEDGER.verifications += 1

@then("nothing checked")
def _(c):
    pass

@when("it fails")
def _(c):
    assert 1 == 2, "expected 1 got 2; sent Authorization: Bearer abc.def.ghi with {secret}"

@when("value {n:d}")
def _(c, n):
    LEDGER.verifications += 1
    assert n == 1, f"value {n} is not 1"

@when("it errors")
def _(c):
    raise ConnectionRefusedError("[Errno 111] Connection refused")

@when("it skips")
def _(c):
    c.scenario.skip("not today")

@when("pending step")
def _(c):
    raise NotImplementedError("later")

@when("the server says {code:d}")
def _(c, code):
    assert False, f"HTTP status {code} from /api"
'''

ENVIRONMENT = '''
from harness.run.record import record_hook_error

def after_step(context, step):
    from harness.expect import LEDGER
    step.harness_verifications, step.harness_actions = LEDGER.take()

def before_all(context):
    if context.config.userdata.get("fail_before_all"):
        exc = RuntimeError("docker daemon not reachable")
        record_hook_error("before_all", exc)
        raise exc

def before_feature(context, feature):
    if "hookfail" in feature.tags:
        raise RuntimeError("compose up failed: service queen exited with code 1")

def before_scenario(context, scenario):
    if "skipme" in scenario.tags:
        scenario.skip("marked skip")
'''

MIXED = {
    "a.feature": '''
        @component.auth
        Feature: Alpha
          Background:
            Given a base

          @p0
          Scenario: passes
            When it works
            Then ok

          @p1
          Scenario: fails
            When it fails
            Then ok
            And undefined thing here

          @p0
          Scenario Outline: outline <n>
            When value <n>
            Examples: nums
              | n |
              | 1 |
              | 2 |

          Rule: R1
            Scenario: in rule errors
              When it errors
              Then ok

            @skipme
            Scenario: skipped one
              When it skips

          Scenario: undefined
            When nobody defined this
            Then ok

          @p2
          Scenario: pending
            When pending step

          Scenario: hollow pass
            Then nothing checked
    ''',
    "b.feature": '''
        @hookfail @component.hive
        Feature: Beta hook fails
          Scenario: b1
            Given a base
          Scenario: b2
            Given a base
            Then ok
    ''',
    "c.feature": '''
        @component.hive
        Feature: Gamma
          Rule: all good
            Background:
              Given a base
            Scenario: g1
              When it works
              Then ok
            Scenario: g2
              When the server says 501
    ''',
}

PASSING = {
    "p.feature": '''
        Feature: Passing
          @p0 @wip
          Scenario: one
            Given a base
            Then ok
          Scenario: two
            Given a base
            Then ok
    ''',
}


@dataclass(frozen=True)
class BehaveRun:
    """A finished behave run: its folder, exit code and stdout."""

    root: Path
    run_dir: Path
    code: int
    stdout: str


def write_suite(root: Path, features: dict[str, str], steps: str = STEPS, secret: str = "s3cr3t-v4lue") -> None:
    """Write features/, features/steps/ and features/environment.py under ``root``."""
    (root / "features" / "steps").mkdir(parents=True, exist_ok=True)
    for name, text in features.items():
        (root / "features" / name).write_text(textwrap.dedent(text).lstrip())
    (root / "features" / "steps" / "steps.py").write_text(steps.replace("{secret}", secret))
    (root / "features" / "environment.py").write_text(ENVIRONMENT)


def run_behave(root: Path, *args: str, run_id: str = "r1") -> BehaveRun:
    """Run behave with the harness outputs (the same args `harness run` uses)."""
    run_dir = root / ".harness" / "runs" / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "behave",
           "-f", "json", "-o", str(run_dir / "behave.json"),
           "-f", "harness.run.record:RecordFormatter", "-o", str(run_dir / "record.ndjson"),
           "-f", "rerun", "-o", str(run_dir / "rerun.txt"),
           "--junit", "--junit-directory", str(run_dir / "junit"), "-f", "plain", *args, "features"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "HARNESS_RUN_ID": run_id, "HARNESS_COMMIT": "c0ffee"}
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=120)
    return BehaveRun(root, run_dir, done.returncode, done.stdout + done.stderr)
