"""Hollow steps: planted placeholders are found statically, real steps are not; dynamic from the record."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.analysis import blockers
from harness.analysis.analyze import analyze
from harness.analysis.gonogo import GateRules, load_gate_rules
from harness.analysis.inputs import load
from harness.analysis.model import PASSED, Feature, Run, Scenario, Step
from harness.catalog import main, static_hollow
from tests.analysis.suites import MIXED, run_behave, write_suite

PLANTED = '''
import logging
from behave import given, when, then, step
from harness import expect

logger = logging.getLogger(__name__)

@given("the integration environment is ready")
def hollow_pass(context):
    pass

@when("the queen dispatches inference")
def hollow_log(context):
    """Placeholder until TEAM-107 wires it."""
    logger.info("would dispatch inference")
    print("TODO")

@then("the worker is registered")
def hollow_ellipsis(context):
    ...

@step("the narration is emitted")
def hollow_logging_module(context):
    logging.getLogger("x").warning("not implemented")
    return

@then("the status is {code:d}")
def real_assert(context, code):
    assert context.response.status_code == code

@when("I call {path}")
def real_call(context, path):
    context.response = context.harness.env.get(path)

@then("it fails on purpose")
def real_raise(context):
    raise NotImplementedError("pending")

@given("I remember {name}")
def real_assignment(context, name):
    context.name = name

@then("the check goes through the harness")
def real_harness(context):
    expect.that(context.ok, "fine")

def helper_not_a_step():
    pass
'''


def test_planted_hollow_steps_are_found_and_real_ones_are_not(tmp_path: Path) -> None:
    (tmp_path / "planted_steps.py").write_text(PLANTED)
    found = static_hollow(tmp_path)
    names = {h.name for h in found}
    assert names == {"given the integration environment is ready", "when the queen dispatches inference",
                     "then the worker is registered", "step the narration is emitted"}
    lines = PLANTED.splitlines()
    for hollow in found:
        path, line = hollow.location.rsplit(":", 1)
        assert path.endswith("planted_steps.py") and lines[int(line) - 1].startswith("@")


def test_cli_hollow_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a_steps.py").write_text(PLANTED)
    assert main(["--hollow", "--dir", str(tmp_path)]) == 1
    assert "a_steps.py:8: hollow step: given the integration environment is ready" in capsys.readouterr().out
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "ok_steps.py").write_text("from behave import then\n@then('x')\ndef _(c):\n    assert c.x\n")
    assert main(["--hollow", "--dir", str(clean)]) == 0


def test_vocabulary_and_markdown_through_behave_registry(tmp_path: Path) -> None:
    steps = tmp_path / "steps"
    steps.mkdir()
    (steps / "http_steps.py").write_text(
        "from behave import when, then\n@when('I GET {path}')\ndef get(c, path):\n"
        "    '''Send a GET request to a service.'''\n    c.r = path\n"
        "@then('the status is {code:d}')\ndef status(c, code):\n    assert c.r\n")
    out = tmp_path / "docs" / "steps.md"
    assert main(["--dir", str(steps), "--markdown", str(out)]) == 0
    text = out.read_text()
    assert "`I GET {path}`" in text and "Send a GET request to a service." in text
    assert "http_steps.py:2" in text


def test_dynamic_hollow_from_the_run_record(tmp_path: Path) -> None:
    write_suite(tmp_path, MIXED)
    run = run_behave(tmp_path)
    result = analyze(load([str(run.run_dir / "record.ndjson")]))
    texts = {h.text for h in result.hollow}
    assert "Then nothing checked" in texts
    assert "Then ok" not in texts  # verified once per run


def _counted_run() -> Run:
    """Three passed scenarios with counts: one hollow step, one verifying nothing at all, one sound."""
    def scenario(name: str, *checks: int) -> Scenario:
        steps = tuple(Step("Then", f"check {i}", f"f.feature:{i + 3}", PASSED, verifications=n, actions=0)
                      for i, n in enumerate(checks))
        return Scenario(name, "f.feature:2", PASSED, ("p0",), steps, feature="f.feature")
    scenarios = (scenario("one hollow step", 1, 0), scenario("verified nothing", 0, 0), scenario("sound", 1, 2))
    return Run((Feature("F", "f.feature:1", PASSED, (), scenarios),))


def test_the_hollow_judgment_is_made_once_per_scenario(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blockers, the hollow list and go/no-go (overall and per component) read one judgment per scenario."""
    judged: list[str] = []
    real = blockers.hollow_of

    def counting(scenario: Scenario) -> blockers.Hollow:
        judged.append(scenario.name)
        return real(scenario)
    monkeypatch.setattr(blockers, "hollow_of", counting)
    result = analyze(_counted_run(), gate=GateRules(load_gate_rules().rules, components=("p0",)))
    assert sorted(judged) == ["one hollow step", "sound", "verified nothing"]
    assert {v.scenario.name for v in result.verdicts if v.failure.hollow} == {"verified nothing"}
    assert [(h.text, h.count) for h in result.hollow] == [("Then check 1", 2), ("Then check 0", 1)]
    assert result.gonogo is not None and result.gonogo.verdict == "NO-GO"
    (reason,) = [r for r in result.gonogo.reasons if r.rule.check == "no_hollow"]
    assert not reason.held and "verified nothing (verified nothing)" in reason.detail
    assert [c.scope for c in result.gonogo.components] == ["p0"]
